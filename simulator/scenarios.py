"""Load scenarios: YAML, ``extends:`` with deep merge, overrides, validation, hashing.

Every problem is reported as ``file:line:col: path.to.field: what is wrong (got X)``; all
problems found in one pass are reported together in an :class:`InputError`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from simulator import paths
from simulator.schema import Scenario
from simulator.timeline import TimelineError, states
from simulator.yamlsrc import InputError, Marks, Problem, Where, read

SET_SOURCE = "--set"


def _locate(marks: Marks, loc: Iterable[str], default_file: str) -> Where:
    """Location of the deepest known prefix of ``loc``."""
    key = tuple(loc)
    while key and key not in marks:
        key = key[:-1]
    return marks.get(key, (default_file, 0, 0))


def _got(value: Any) -> str:
    text = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return f" (got {text[:60]})"


def _fields_at(loc: tuple[str, ...]) -> list[str]:
    """Field names the schema allows at ``loc`` (for did-you-mean hints)."""
    model: Any = Scenario
    for part in loc:
        origin = typing.get_origin(model)
        if origin is dict:
            model = typing.get_args(model)[1]
        elif origin is list:
            model = typing.get_args(model)[0]
        elif isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(part)
            if field is None:
                return []
            model = field.annotation
        if typing.get_origin(model) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(model) if a is not type(None)]
            model = args[0] if args else model
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _message(err: Mapping[str, Any]) -> str:
    kind, msg = err["type"], str(err["msg"])
    loc = tuple(str(x) for x in err["loc"])
    if kind == "extra_forbidden":
        hint = difflib.get_close_matches(loc[-1], _fields_at(loc[:-1]), n=1)
        return "unknown field" + (f"; did you mean {hint[0]!r}?" if hint else "")
    if kind == "missing":
        return "required field is missing"
    msg = msg.removeprefix("Value error, ")
    msg = msg[:1].lower() + msg[1:]
    if kind in ("model_type", "dict_type", "list_type") or "input" not in err:
        return msg
    return msg + _got(err["input"])


def _problems(err: ValidationError, marks: Marks, file: str) -> list[Problem]:
    out: list[Problem] = []
    for e in err.errors():
        loc = tuple(str(x) for x in e["loc"])
        msg = _message(e)
        if not loc and e["type"] == "value_error":  # cross-references: "path: text; ..."
            for line in msg.split("; "):
                path, _, text = line.partition(": ")
                out.append(Problem(*_locate(marks, path.split("."), file), path, text))
            continue
        out.append(Problem(*_locate(marks, loc, file), ".".join(loc), msg))
    return out


def _resolve(path: Path, stack: tuple[Path, ...]) -> tuple[dict[str, Any], Marks]:
    """Read ``path`` and everything it extends, merged (child wins)."""
    real = path.resolve()
    if real in stack:
        chain = " -> ".join(p.name for p in (*stack, real))
        raise InputError([Problem(str(path), 0, 0, "extends", f"extends cycle: {chain}")])
    doc, marks = read(path)
    parent = doc.pop("extends", None)
    if parent is None:
        return doc, marks
    where = marks[("extends",)]
    if not isinstance(parent, str):
        raise InputError([Problem(*where, "extends", f"must be a file path{_got(parent)}")])
    base_path = path.parent / parent
    if not base_path.is_file():
        raise InputError([Problem(*where, "extends", f"no such file {parent!r}")])
    base, base_marks = _resolve(base_path, (*stack, real))
    return paths.deep_merge(base, doc), {**base_marks, **marks}


def parse_sets(items: Iterable[str]) -> dict[str, Any]:
    """Parse ``PATH=VALUE`` strings; the value is read as a YAML scalar or flow collection."""
    out: dict[str, Any] = {}
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise InputError([Problem(SET_SOURCE, 0, 0, "", f"expected PATH=VALUE (got {item!r})")])
        try:
            out[path.strip()] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            raise InputError([Problem(SET_SOURCE, 0, 0, path, f"unreadable value {text!r}")]
                             ) from None
    return out


def _validate(doc: dict[str, Any], marks: Marks, file: str) -> Scenario:
    try:
        return Scenario.model_validate(doc)
    except ValidationError as err:
        raise InputError(_problems(err, marks, file)) from None


def _override(doc: dict[str, Any], sets: Mapping[str, Any], marks: Marks, file: str,
              source: str = SET_SOURCE) -> dict[str, Any]:
    problems: list[Problem] = []
    for path, value in sets.items():
        try:
            doc = paths.set_path(doc, path, value)
        except paths.PathError as err:
            problems.append(Problem(source, 0, 0, path, err.message))
    if problems:
        raise InputError(problems)
    for path in sets:
        marks[tuple(paths.split(path))] = (source, 0, 0)
    return doc


def check_timeline(scenario: Scenario, marks: Marks | None = None, file: str = "<scenario>"
                   ) -> None:
    """Apply every timeline event in turn and validate each resulting state.

    Raises :class:`InputError` naming the event's ``set`` entry when a path does not exist
    or a value is invalid.
    """
    try:
        states(scenario)
    except TimelineError as err:
        if err.index < 0:  # a disruption: path is "<name>.set.<dot path>"
            name, _, rest = err.path.partition(".set.")
            loc: tuple[str, ...] = ("disruptions", name, "set", rest)
        else:
            loc = ("timeline", str(err.index), "set", err.path)
        where = _locate(marks or {}, loc, file)
        raise InputError([Problem(*where, ".".join(loc), err.message)]) from None


def load_scenario(source: str | Path | Mapping[str, Any],
                  sets: Mapping[str, Any] | Iterable[str] | None = None) -> Scenario:
    """Load, merge, override and validate a scenario.

    Args:
        source: a YAML file path, or a plain mapping (e.g. written inline in a notebook);
            a mapping may use ``extends`` with a path relative to the working directory.
        sets: overrides, as ``{"path": value}`` or ``["path=value", ...]``.
    """
    if isinstance(source, Mapping):
        doc, marks, file = dict(source), {}, "<dict>"
        if "extends" in doc:
            base, marks = _resolve(Path(str(doc.pop("extends"))), ())
            doc = paths.deep_merge(base, doc)
    else:
        file = str(source)
        doc, marks = _resolve(Path(source), ())
    if sets:
        parsed = sets if isinstance(sets, Mapping) else parse_sets(sets)
        full = _validate(doc, marks, file).model_dump(mode="python")
        doc = _override(full, parsed, marks, file)
    scenario = _validate(doc, marks, file)
    check_timeline(scenario, marks, file)
    return scenario


def with_overrides(scenario: Scenario, sets: Mapping[str, Any], source: str) -> Scenario:
    """A new scenario with dot-path overrides applied (variants, sweeps), validated."""
    doc = _override(scenario.model_dump(mode="python"), sets, {}, source, source)
    out = _validate(doc, {}, source)
    check_timeline(out, {}, source)
    return out


def scenario_hash(scenario: Scenario) -> str:
    """Short content hash (12 hex digits) of the resolved scenario."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
