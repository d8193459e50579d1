"""Pydantic validation errors as located one-line problems.

Each problem reads ``file:line:col: path.to.field: what is wrong (got X)``; the line and
column come from the YAML marks of the files the scenario was read from (:mod:`yamlsrc`).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from simulator.schema import Scenario
from simulator.yamlsrc import Marks, Problem, Where, show

SET_SOURCE = "--set"


def locate(marks: Marks, loc: Iterable[str], default_file: str) -> Where:
    """Location of the deepest known prefix of ``loc``.

    A problem inside a mapping that a ``--set`` override changed (``horizon: end must be
    after start`` after ``--set horizon.end=...``) is blamed on the override.
    """
    key = tuple(loc)
    while key and key not in marks:
        key = key[:-1]
    if key not in marks:
        return (default_file, 0, 0)
    n = len(key)
    overridden = [w for k, w in marks.items() if n and k[:n] == key and w[0] == SET_SOURCE]
    return overridden[0] if overridden else marks[key]


def got(value: Any) -> str:
    """`` (got VALUE)``, to end a message with the value that was rejected."""
    return f" (got {show(value)})"


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


def message(err: Mapping[str, Any]) -> str:
    """One pydantic error as a short lower-case message (did-you-mean for unknown fields)."""
    kind, msg = err["type"], str(err["msg"])
    loc = tuple(str(x) for x in err["loc"])
    if kind == "extra_forbidden":
        hint = difflib.get_close_matches(loc[-1], _fields_at(loc[:-1]), n=1)
        return "unknown field" + (f"; did you mean {hint[0]!r}?" if hint else "")
    if kind == "missing":
        return "required field is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "expected a mapping" + got(err.get("input"))
    if kind == "list_type":
        return "expected a list" + got(err.get("input"))
    msg = msg.removeprefix("Value error, ")
    msg = msg[:1].lower() + msg[1:]
    value = err.get("input")
    if "input" not in err or "(got " in msg or isinstance(value, dict | list):
        return msg
    return msg + got(value)


def from_validation(err: ValidationError, marks: Marks, file: str) -> list[Problem]:
    """The problems of ``err``, each at its line in the files ``marks`` records, in order
    (cross-field rules, reported as ``path: text; ...``, are split one per path).
    """
    out: list[Problem] = []
    for e in err.errors():
        loc = tuple(str(x) for x in e["loc"])
        msg = message(e)
        if not loc and e["type"] == "value_error":  # cross-references: "path: text; ..."
            for line in msg.split("; "):
                path, _, text = line.partition(": ")
                out.append(Problem(*locate(marks, path.split("."), file), path, text))
            continue
        out.append(Problem(*locate(marks, loc, file), ".".join(loc), msg))
    return in_order(out)


def in_order(problems: list[Problem]) -> list[Problem]:
    """Problems sorted by file and position, so they read top to bottom."""
    return sorted(problems, key=lambda p: (p.file, p.line, p.col))
