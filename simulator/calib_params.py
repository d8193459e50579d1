"""Calibration parameters: which numbers of a scenario are fitted, their bounds and dates.

A parameter is named three ways:

- a dot path into the scenario, ``gate.reviewers`` (``*`` sets every match to one value);
- a timeline event's ``set`` entry by index, ``timeline.3.set.gate.reviewers``: after
  ``set.`` comes the entry's key as written (``gate.regions.*.covered_share.civil``), then
  optionally a path into its value (``timeline.5.set.gate.review_working_days.mean``);
- the same by the event's date, ``2025-05-12:gate.reviewers`` (the last event of that date
  whose ``set`` has the key).

``A+B`` ties several of them to one fitted value (they must start equal). A parameter is an
integer if its schema field is (``reviewers``). Bounds are the schema's limits when it has
both, else ``[start / 4, start x 4]`` within them, or what ``--bounds`` says (within the
schema's). Bad names and bounds raise :class:`InputError` naming the flag and the parameter.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from simulator import paths
from simulator.scenarios import check_timeline
from simulator.schema import Scenario
from simulator.yamlsrc import InputError, Problem


def fail(flag: str, path: str, message: str) -> InputError:
    """An :class:`InputError` about a command-line flag (``--params: NAME: message``)."""
    return InputError([Problem(flag, 0, 0, path, message)])


@dataclass(frozen=True)
class Target:
    """One number in the scenario: a dot path, or a path inside a timeline event's ``set``."""

    path: str  # canonical name: gate.reviewers or timeline.3.set.gate.reviewers
    event: int | None  # timeline index, None for a plain dot path
    key: str  # the dot path (plain) or the event's set key
    sub: tuple[str, ...] = ()  # path inside the set entry's value

    @property
    def field(self) -> list[str]:
        """The scenario field it sets, as segments (``*`` for any key)."""
        return [*self.key.split("."), *self.sub]


@dataclass(frozen=True)
class Param:
    """A fitted parameter: one value written to every target."""

    name: str
    targets: tuple[Target, ...]
    before: float  # starting value
    lo: float
    hi: float
    integer: bool
    since: dt.date  # first day it is in force
    until: dt.date | None = None  # first day a later timeline event sets it anew

    @property
    def log(self) -> bool:
        """Whether the optimiser moves on a log scale (positive bounds, ``hi / lo >= 4``)."""
        return self.lo > 0 and self.hi / self.lo >= 4

    def value(self, u: float) -> float:
        """Parameter value at scaled coordinate ``u`` in [0, 1] (4 significant digits, or
        a whole number for an integer parameter).
        """
        u = min(1.0, max(0.0, float(u)))
        v = self.lo * (self.hi / self.lo) ** u if self.log else self.lo + u * (self.hi - self.lo)
        return float(round(v)) if self.integer else float(f"{v:.4g}")

    def coord(self, v: float) -> float:
        """Scaled coordinate of value ``v``."""
        if self.hi == self.lo:
            return 0.0
        if self.log:
            return math.log(v / self.lo) / math.log(self.hi / self.lo)
        return (v - self.lo) / (self.hi - self.lo)

    def cast(self, v: float) -> int | float:
        """``v`` as the scenario stores it."""
        return int(round(v)) if self.integer else float(v)


# ----------------------------------------------------------------------------- schema
def _schema_field(parts: Sequence[str]) -> tuple[Any, Any]:
    """(pydantic FieldInfo or None, annotation) of a scenario path (``*`` = any key)."""
    model: Any = Scenario
    info = None
    for part in parts:
        origin = typing.get_origin(model)
        if origin in (typing.Union, types.UnionType):
            model = next(a for a in typing.get_args(model) if a is not type(None))
            origin = typing.get_origin(model)
        if origin is dict:
            model, info = typing.get_args(model)[1], None
        elif origin is list:
            model, info = typing.get_args(model)[0], None
        elif isinstance(model, type) and issubclass(model, BaseModel):
            info = model.model_fields.get(part)
            if info is None:
                return None, None
            model = info.annotation
    return info, model


def schema_bounds(parts: Sequence[str]) -> tuple[float, float, bool]:
    """(lowest, highest, integer) that the schema allows at a path; exclusive limits are
    moved in by one for integers and by 1e-9 for reals.
    """
    info, ann = _schema_field(parts)
    integer = ann is int
    lo, hi = -math.inf, math.inf
    step = 1 if integer else 1e-9
    for m in getattr(info, "metadata", []):
        if getattr(m, "ge", None) is not None:
            lo = max(lo, m.ge)
        if getattr(m, "gt", None) is not None:
            lo = max(lo, m.gt + step)
        if getattr(m, "le", None) is not None:
            hi = min(hi, m.le)
        if getattr(m, "lt", None) is not None:
            hi = min(hi, m.lt - step)
    return lo, hi, integer


# ----------------------------------------------------------------------------- names
def _event_target(sc: Scenario, index: int, rest: str, name: str) -> Target:
    sets = sc.timeline[index].set
    key = paths.longest_key(sets, rest)
    if key is None:
        hint = difflib.get_close_matches(rest, list(sets), n=1)
        raise fail("--params", name, f"timeline.{index} ({sc.timeline[index].date}) does not "
                   f"set {rest!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""))
    sub = tuple(rest[len(key) + 1:].split(".")) if rest != key else ()
    return Target(f"timeline.{index}.set.{rest}", index, key, sub)


def _dated_target(sc: Scenario, head: str, rest: str, name: str) -> Target:
    try:
        day = dt.date.fromisoformat(head)
    except ValueError:
        raise fail("--params", name, f"expected DATE:PATH with DATE as YYYY-MM-DD "
                   f"(got {head!r})") from None
    dated = [i for i, e in enumerate(sc.timeline) if e.date == day]
    if not dated:
        raise fail("--params", name, f"no timeline event on {day}")
    found = [i for i in dated if paths.longest_key(sc.timeline[i].set, rest) is not None]
    return _event_target(sc, (found or dated)[-1], rest, name)


def target(sc: Scenario, name: str) -> Target:
    """The number ``name`` addresses in ``sc`` (see the module docstring)."""
    head, sep, rest = name.partition(":")
    if sep:
        return _dated_target(sc, head, rest, name)
    parts = name.split(".")
    if parts[0] == "timeline" and len(parts) > 3 and parts[2] == "set":
        if not parts[1].isdigit() or int(parts[1]) >= len(sc.timeline):
            raise fail("--params", name, f"no item {parts[1]!r} in timeline (it is a list of "
                       f"{len(sc.timeline)})")
        return _event_target(sc, int(parts[1]), ".".join(parts[3:]), name)
    if parts[0] == "timeline":
        raise fail("--params", name, "address a timeline value as timeline.N.set.KEY or "
                   "DATE:KEY")
    try:
        paths.expand(sc.model_dump(mode="python"), name)
    except paths.PathError as err:
        raise fail("--params", name, err.message) from None
    return Target(name, None, name)


def read(doc: dict[str, Any], t: Target) -> list[Any]:
    """Current value(s) of a target in a scenario dump."""
    if t.event is None:
        return [paths.get(doc, p) for p in paths.expand(doc, t.key)]
    value = doc["timeline"][t.event]["set"][t.key]
    return [paths.get(value, list(t.sub))] if t.sub else [value]


def write(doc: dict[str, Any], t: Target, value: Any) -> dict[str, Any]:
    """A copy of the scenario dump ``doc`` with ``t`` set to ``value``."""
    if t.event is None:
        return paths.set_path(doc, t.key, value)
    doc = {**doc, "timeline": list(doc["timeline"])}
    event = dict(doc["timeline"][t.event])
    event["set"] = sets = dict(event["set"])
    sets[t.key] = paths.set_path(sets[t.key], ".".join(t.sub), value) if t.sub else value
    doc["timeline"][t.event] = event
    return doc


def _number(name: str, t: Target, doc: dict[str, Any]) -> float:
    try:
        values = read(doc, t)
    except paths.PathError as err:
        raise fail("--params", name, err.message) from None
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | float)]
    if bad:
        raise fail("--params", name, f"not a number (got {bad[0]!r})")
    if len(set(values)) > 1:
        seen = ", ".join(map(str, sorted(set(values))))
        raise fail("--params", name, f"matches values that differ ({seen}); fit them one "
                   "by one")
    return float(values[0])


# ----------------------------------------------------------------------------- dates
def _replaces(key: Sequence[str], field: Sequence[str]) -> bool:
    """Whether setting ``key`` replaces every match of ``field`` (``key`` is ``field`` or a
    prefix of it, a ``*`` in ``key`` matching any segment).
    """
    return len(key) <= len(field) and all(k in (f, "*") for k, f in zip(key, field,
                                                                          strict=False))


def _until(sc: Scenario, t: Target) -> dt.date | None:
    """First date after ``t`` takes effect when a timeline event sets its field anew."""
    start = -1 if t.event is None else t.event
    since = sc.horizon.start if t.event is None else sc.timeline[t.event].date
    for e in sc.timeline[start + 1:]:
        if e.date >= since and any(_replaces(k.split("."), t.field) for k in e.set):
            return e.date
    return None


# ----------------------------------------------------------------------------- bounds
def _bounds(name: str, before: float, lo: float, hi: float,
            given: tuple[float, float] | None) -> tuple[float, float]:
    if given is not None:
        a, b = map(float, given)
        if not a < b:
            raise fail("--bounds", name, f"expected LO < HI (got {a:g}:{b:g})")
        if a < lo or b > hi:
            raise fail("--bounds", name, f"the schema allows {lo:g} to {hi:g} (got {a:g}:{b:g})")
        lo, hi = a, b
    elif not (math.isfinite(lo) and math.isfinite(hi)):
        if before <= 0:
            raise fail("--bounds", name, f"no default bounds around {before:g}; give "
                       f"--bounds {name}=LO:HI")
        lo, hi = max(lo, before / 4), min(hi, before * 4)
    if not lo <= before <= hi:
        raise fail("--start" if given is None else "--bounds", name,
                   f"starting value {before:g} is outside the bounds {lo:g}:{hi:g}")
    return lo, hi


def _param(sc: Scenario, doc: dict[str, Any], name: str,
           bounds: tuple[float, float] | None, start: float | None) -> Param:
    targets = tuple(target(sc, part.strip()) for part in name.split("+"))
    starts = {_number(name, t, doc) for t in targets}
    if len(starts) > 1:
        raise fail("--params", name, f"tied values differ ({sorted(starts)})")
    before = float(starts.pop() if start is None else start)
    lo, hi, integer = -math.inf, math.inf, False
    for t in targets:
        a, b, i = schema_bounds(t.field)
        lo, hi, integer = max(lo, a), min(hi, b), integer or i
    lo, hi = _bounds(name, before, lo, hi, bounds)
    since = min(sc.horizon.start if t.event is None else sc.timeline[t.event].date
                for t in targets)
    ends = [_until(sc, t) for t in targets]
    until = None if None in ends else max(e for e in ends if e is not None)
    return Param(name, targets, before, lo, hi, integer, since, until)


def resolve_params(sc: Scenario, names: Sequence[str],
                   bounds: Mapping[str, tuple[float, float]] | None = None,
                   start: Mapping[str, float] | None = None) -> list[Param]:
    """The parameters ``names`` of ``sc``, with bounds, starting values and dates in force.

    Raises :class:`InputError` (``--params``, ``--bounds`` or ``--start``) for a path that
    is not a number of ``sc``, bounds outside the schema's, or a start outside the bounds.
    """
    if not names:
        raise fail("--params", "", "give at least one parameter to fit")
    for flag, given in (("--bounds", bounds), ("--start", start)):
        unknown = sorted(set(given or {}) - set(names))
        if unknown:
            raise fail(flag, unknown[0], "not one of --params")
    doubled = sorted({n for n in names if list(names).count(n) > 1})
    if doubled:
        raise fail("--params", doubled[0], "given twice")
    doc = sc.model_dump(mode="python")
    return [_param(sc, doc, name, (bounds or {}).get(name), (start or {}).get(name))
            for name in names]


def apply(sc: Scenario, params: Sequence[Param], values: Sequence[float]) -> Scenario:
    """``sc`` with every parameter set to its value, validated (raises InputError)."""
    doc = sc.model_dump(mode="python")
    for p, v in zip(params, values, strict=True):
        for t in p.targets:
            doc = write(doc, t, p.cast(v))
    try:
        out = Scenario.model_validate(doc)
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(x) for x in e["loc"])
        raise fail("--params", loc, str(e["msg"])) from None
    check_timeline(out, {}, "--params")
    return out
