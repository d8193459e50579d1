"""The policy timeline as data: dated events turned into a sequence of validated states.

Each event sets parameters by dot path. :func:`states` applies the events in date order to the
resolved scenario and validates every intermediate state, so a bad path or value in any event
fails at load time. The model switches to state *k* at the start of its day (DESIGN §2.5);
buyer code never compares dates.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from simulator import paths
from simulator.schema import Scenario
from simulator.yamlsrc import show

SETTABLE = ("gate", "china", "suppliers", "buyers", "stockpiles", "gray_channel")
FIXED = {"buyers": {"region", "sector", "demand.kg_per_unit", "initial_stock_t", "unit_name",
                    "shortage"},
         "stockpiles": {"stock_t"},
         "suppliers": {"premium_usd_per_kg", "allocation", "priority"},
         "gray_channel": {"premium_usd_per_kg"}}
"""Fields that cannot change over time: they define an entity, or the model reads them once
per run (a timeline event that set them would be a silent no-op, so it is an error)."""


class TimelineError(ValueError):
    """A timeline event whose ``set`` does not apply to the scenario."""

    def __init__(self, index: int, path: str, message: str) -> None:
        super().__init__(f"timeline.{index}.set.{path}: {message}")
        self.index, self.path, self.message = index, path, message


@dataclass(frozen=True)
class State:
    """Parameters in force from ``day`` (days since the horizon start) on."""

    day: int
    scenario: Scenario
    labels: tuple[str, ...]


_MISSING = object()


def _fixed_values(node: Any, section: str) -> dict[tuple[str, str], Any]:
    """The :data:`FIXED` fields in ``section``'s document ``node``, by (entity, dotted field)
    (the gray channel is one entity, named "").
    """
    def dig(value: Any, field: str) -> Any:
        for key in field.split("."):
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        return value

    entities = {"": node} if section == "gray_channel" else node
    if not isinstance(entities, dict):
        return {}
    return {(name, f): dig(entity, f) for name, entity in entities.items()
            for f in FIXED[section]}


def _fixed_field(old: dict[tuple[str, str], Any], after: Any, section: str) -> str | None:
    """The :data:`FIXED` field whose value in ``section``'s document ``after`` differs from
    ``old`` (:func:`_fixed_values` before a set), if any, however it was set (its own path, a
    wildcard, a whole entity or section).
    """
    if not isinstance(after, dict):
        return None  # not a mapping: validation says what is wrong
    new = _fixed_values(after, section)
    return next((f for name, f in sorted(old) if old[name, f] != new.get((name, f), _MISSING)),
                None)


def _apply(doc: dict[str, Any], index: int, sets: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` with event ``index``'s ``sets`` applied (``doc`` is not changed:
    the scenarios validated from it may share its lists and dicts).
    """
    doc = copy.deepcopy(doc)
    for path, value in sets.items():
        parts = paths.split(path)
        if parts[0] not in SETTABLE:
            raise TimelineError(index, path, f"events may set only {', '.join(SETTABLE)}")
        section = parts[0]
        # the fixed fields' values before the set (copied: a list may be set in place)
        old = copy.deepcopy(_fixed_values(doc.get(section), section)) if section in FIXED else {}
        try:
            paths.set_in(doc, path, value)
        except paths.PathError as err:
            raise TimelineError(index, path, err.message) from None
        fixed = _fixed_field(old, doc.get(section), section) if old else None
        if fixed:
            raise TimelineError(index, path, f"{fixed} cannot change during a run")
    return doc


def culprit(field: str, sets: dict[str, Any]) -> str | None:
    """The override path in ``sets`` that most likely caused an error at ``field``."""
    for path in sets:
        fixed = path.split("*")[0].rstrip(".")
        if field.startswith(fixed) or fixed.startswith(field):
            return path
    return None


def _validated(doc: dict[str, Any], index: int, sets: dict[str, Any]) -> Scenario:
    try:
        return Scenario.model_validate(doc)
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(x) for x in e["loc"])
        path = culprit(loc, sets) or loc
        msg = str(e["msg"]).removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        value = e.get("input")
        if "(got " not in msg and not isinstance(value, dict | list):
            msg += f" (got {show(value)})"
        raise TimelineError(index, path, msg if loc == path else f"{loc}: {msg}") from None


def disrupted(scenario: Scenario, active: tuple[str, ...]) -> Scenario:
    """``scenario`` with the ``set`` of each named disruption applied, validated."""
    doc = scenario.model_dump(mode="python")
    for name in active:
        sets = scenario.disruptions[name].set
        try:
            doc = _apply(doc, -1, sets)
            scenario = _validated(doc, -1, sets)
        except TimelineError as err:
            raise TimelineError(-1, f"{name}.set.{err.path}", err.message) from None
    return scenario


def states(scenario: Scenario) -> list[State]:
    """The base state plus one state per event date, each validated."""
    out = [State(0, scenario, ())]
    doc = scenario.model_dump(mode="python")
    for i, ev in enumerate(scenario.timeline):
        doc = _apply(doc, i, ev.set)
        day = (ev.date - scenario.horizon.start).days
        snapshot = _validated(doc, i, ev.set)
        if out[-1].day == day:
            out[-1] = State(day, snapshot, (*out[-1].labels, ev.label))
        else:
            out.append(State(day, snapshot, (ev.label,)))
    for state in out:
        disrupted(state.scenario, tuple(scenario.disruptions))
    return out
