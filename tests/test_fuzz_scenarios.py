"""Property tests: a mutated valid scenario either validates or fails cleanly.

Mutations of TINY (drop, retype, negate, rename a field at a random dot path) and of its YAML
text (delete, insert or duplicate characters and lines) go through ``magsim validate``
in-process. Each result must be exit status 0, or exit status 2 with one located line per
problem (``file:line:col: ...``) and no traceback.
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TINY
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cli import main


def dot_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (as key/index tuples) to a value inside ``node``."""
    out: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else []
    for key, child in items:
        out.append((*prefix, key))
        out += dot_paths(child, (*prefix, key))
    return out


PATHS = dot_paths(TINY)
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.dates().map(str), st.dates(), st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.sampled_from(["x", "mean", "US", "civil"]), st.integers(-3, 3),
                    max_size=2),
)


def negate(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return -value if value else -1
    return -1


def typo(key: str, how: int) -> str:
    if how == 0:
        return key[:-1]
    if how == 1:
        return key + "s"
    return key.upper() if key != key.upper() else key.lower() + "_"


Mutation = tuple[str, tuple[Any, ...], Any]
MUTATIONS = st.tuples(st.sampled_from(["drop", "retype", "negate", "rename"]),
                      st.sampled_from(PATHS), ODD_VALUES | st.integers(0, 2))


def mutate(doc: dict[str, Any], mutations: list[Mutation]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for op, path, arg in mutations:
        parent: Any = doc
        for key in path[:-1]:
            try:
                parent = parent[key]
            except (KeyError, IndexError, TypeError):
                break
        else:
            key = path[-1]
            if isinstance(parent, dict) and key in parent or (
                    isinstance(parent, list) and isinstance(key, int) and key < len(parent)):
                apply(parent, key, op, arg)
    return doc


def apply(parent: Any, key: Any, op: str, arg: Any) -> None:
    if op == "drop":
        del parent[key]
    elif op == "retype":
        parent[key] = arg
    elif op == "negate":
        parent[key] = negate(parent[key])
    elif isinstance(parent, dict):  # rename
        parent[typo(key, arg if isinstance(arg, int) and 0 <= arg <= 2 else 0)] = parent.pop(key)


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "scenario.yaml"


def validate(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["validate", str(path)])
    return status, out.getvalue(), err.getvalue()


def assert_clean(path: Path) -> None:
    status, out, err = validate(path)
    assert "Traceback" not in err and "internal error" not in err, err
    if status == 0:
        assert out.startswith(f"{path}: ok"), out
        return
    assert status == 2, err
    lines = err.strip().splitlines()
    assert lines
    located = re.compile(rf"^{re.escape(str(path))}:\d+:\d+: \S")
    assert all(located.match(line) for line in lines), err


@settings(max_examples=150, deadline=None)
@given(mutations=st.lists(MUTATIONS, min_size=1, max_size=3))
def test_mutated_scenarios_fail_cleanly(mutations, scenario_file):
    doc = mutate(TINY, mutations)
    scenario_file.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    assert_clean(scenario_file)


TINY_TEXT = yaml.safe_dump(TINY, sort_keys=False)
EDITS = st.tuples(st.sampled_from(["delete", "insert", "duplicate_line"]),
                  st.integers(0, len(TINY_TEXT)), st.integers(1, 40),
                  st.sampled_from([":", "-", " ", "\t", "[", "{", "}", "'", '"', "&a", "*a",
                                   "!!", "#", "\n", "<<: ", "? ", "\x00", "é", "1e9", ".nan"]))


def edit(text: str, edits: list[tuple[str, int, int, str]]) -> str:
    for op, at, n, chars in edits:
        at = min(at, len(text))
        if op == "delete":
            text = text[:at] + text[at + n:]
        elif op == "insert":
            text = text[:at] + chars + text[at:]
        else:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            end = len(text) if end < 0 else end + 1
            text = text[:end] + text[start:end] + text[end:]
    return text


@settings(max_examples=100, deadline=None)
@given(edits=st.lists(EDITS, min_size=1, max_size=3))
def test_edited_yaml_text_fails_cleanly(edits, scenario_file):
    scenario_file.write_text(edit(TINY_TEXT, edits), encoding="utf-8")
    assert_clean(scenario_file)
