"""Dot paths into nested scenario data: ``gate.regions.US.approval_prob.civil``.

A ``*`` segment matches every key of a mapping (or every item of a list), so
``gate.regions.*.regime.civil`` addresses all regions at once. Setting a path that does not
exist is an error, never a silent no-op: timeline events, ``--set`` overrides, variants and
sweeps all go through :func:`set_path`.
"""

from __future__ import annotations

import copy
import difflib
from typing import Any


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


def expand(doc: Any, path: str) -> list[list[str]]:
    """All concrete paths (as segment lists) that ``path`` matches in ``doc``."""
    parts = split(path)
    found: list[list[str]] = [[]]
    for i, key in enumerate(parts):
        nxt: list[list[str]] = []
        for prefix in found:
            node = get(doc, prefix)
            if key == "*":
                keys = _children(node)
                if not keys:
                    raise PathError(path, f"'*' matches nothing under {'.'.join(prefix)!r}")
                nxt += [prefix + [k] for k in keys]
            else:
                _step(node, key, parts[:i], path)
                nxt.append(prefix + [key])
        found = nxt
    return found


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
