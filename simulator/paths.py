"""Dot paths into nested scenario data: ``gate.regions.US.approval_prob.civil``.

A ``*`` segment matches every key of a mapping (or every item of a list), so
``gate.regions.*.regime.civil`` addresses all regions at once. Setting a path that does not
exist is an error, never a silent no-op: timeline events, ``--set`` overrides, variants and
sweeps all go through :func:`set_path`.

Some mappings have dot paths as keys (:data:`KEYED`: a timeline event's or a disruption's
``set``, a variant, the sweep). Under one of them the rest of the path names one of its keys
as written, the longest that is a prefix of the rest on a dot boundary, then optionally a
path into that key's value: ``timeline.3.set.gate.review_working_days.mean`` is ``mean`` of
the event's ``gate.review_working_days``. A key the mapping does not have is an error.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Iterator
from typing import Any

# mappings whose keys are dot paths, as concrete paths (``*`` = any one segment)
KEYED = (("timeline", "*", "set"), ("disruptions", "*", "set"), ("variants", "*"), ("sweep",))


class PathError(ValueError):
    """A dot path that does not address an existing field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def split(path: str) -> list[str]:
    """Split a dot path into its segments; empty segments are an error."""
    parts = path.split(".")
    if not path or any(p == "" for p in parts):
        raise PathError(path or "<empty>", "not a dot path (got an empty segment)")
    return parts


def _children(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [str(k) for k in node]
    if isinstance(node, list):
        return [str(i) for i in range(len(node))]
    return []


def _kind(node: Any) -> str:
    if node is None:
        return "null"
    if isinstance(node, bool):
        return "true/false"
    if isinstance(node, int | float):
        return f"a number, {node!r}"
    if isinstance(node, dict):
        return "an empty mapping"
    return f"text, {node!r}"[:60] if isinstance(node, str) else type(node).__name__


def _step(node: Any, key: str, done: list[str], path: str) -> Any:
    if isinstance(node, dict) and key in node:
        return node[key]
    if isinstance(node, list) and key.isdigit() and int(key) < len(node):
        return node[int(key)]
    where = ".".join(done) or "the scenario"
    if isinstance(node, list):
        raise PathError(path, f"no item {key!r} in {where} (it is a list of {len(node)})")
    options = _children(node)
    if not options:
        hint = (f"; to add keys, set the mapping itself: {where}={{{key}: ...}}"
                if isinstance(node, dict) and done else "")
        raise PathError(path, f"{where} has no fields (it is {_kind(node)}){hint}")
    hint = difflib.get_close_matches(key, options, n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    raise PathError(path, f"no field {key!r} in {where}{suggestion}")


def longest_key(keys: Iterable[str], rest: str) -> str | None:
    """The longest of ``keys`` that is ``rest`` or a prefix of it on a dot boundary."""
    found = [k for k in keys if rest == k or rest.startswith(k + ".")]
    return max(found, key=len, default=None)


def _keyed(at: list[str]) -> bool:
    """Whether the mapping at concrete path ``at`` has dot paths as keys (:data:`KEYED`)."""
    return any(len(k) == len(at) and all(a in ("*", b) for a, b in zip(k, at, strict=True))
               for k in KEYED)


def _dotted_key(node: dict[str, Any], rest: list[str], at: list[str], path: str) -> str:
    key = longest_key(map(str, node), ".".join(rest))
    if key is None:
        listed = f"its keys: {', '.join(map(str, node))}" if node else "it has none"
        raise PathError(path, f"no key {'.'.join(rest)!r} in {'.'.join(at)}; {listed}")
    return key


def _matches(node: Any, rest: list[str], at: list[str], shown: list[str], path: str
             ) -> Iterator[list[str]]:
    """Concrete paths (segment lists) that ``rest`` matches in ``node``, which is at
    ``at`` in the document and at ``shown`` (with its wildcards) in ``path``.
    """
    if not rest:
        yield at
        return
    if rest[0] == "*":
        keys = _children(node)
        if not keys:
            raise PathError(path, f"'*' matches nothing under {'.'.join(at)!r}")
        for k in keys:
            yield from _matches(_step(node, k, shown, path), rest[1:], [*at, k],
                                [*shown, "*"], path)
        return
    key = _dotted_key(node, rest, at, path) if isinstance(node, dict) and _keyed(at) else rest[0]
    child = _step(node, key, shown, path)
    yield from _matches(child, rest[key.count(".") + 1:], [*at, key], [*shown, key], path)


def expand(doc: Any, path: str) -> list[list[str]]:
    """All concrete paths (as segment lists) that ``path`` matches in ``doc``; a key of a
    :data:`KEYED` mapping is one segment.
    """
    return list(_matches(doc, split(path), [], [], path))


def get(doc: Any, parts: list[str]) -> Any:
    """The value at a concrete segment list (no wildcards)."""
    node = doc
    for i, key in enumerate(parts):
        node = _step(node, key, parts[:i], ".".join(parts))
    return node


def set_in(doc: Any, path: str, value: Any) -> None:
    """Set every match of ``path`` in ``doc`` itself to (a deep copy of) ``value``."""
    for parts in expand(doc, path):
        parent = get(doc, parts[:-1])
        key: Any = int(parts[-1]) if isinstance(parent, list) else parts[-1]
        parent[key] = copy.deepcopy(value)


def set_path(doc: Any, path: str, value: Any) -> Any:
    """Return a deep copy of ``doc`` with every match of ``path`` set to ``value``."""
    out = copy.deepcopy(doc)
    set_in(out, path, value)
    return out


def apply(doc: Any, overrides: dict[str, Any]) -> Any:
    """Return a deep copy of ``doc`` with several ``path -> value`` overrides applied in
    order (one copy for all of them).
    """
    out = copy.deepcopy(doc)
    for path, value in overrides.items():
        set_in(out, path, value)
    return out


def deep_merge(base: Any, over: Any) -> Any:
    """Merge ``over`` into ``base``: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = deep_merge(base[key], value) if key in base else value
        return out
    return over
