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
FIXED = {"buyers": {"region", "sector", "kg_per_unit", "initial_stock_t", "unit_name",
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


def _fixed_field(parts: list[str], value: Any) -> str | None:
    """The field of :data:`FIXED` that setting ``parts`` to ``value`` would change, if any.

    Fixed fields sit right below an entity (``buyers.<name>.<field>``) or, for the gray
    channel, below the section; a dict value set above that depth is searched too.
    """
    fixed = FIXED.get(parts[0], set())
    depth = 1 if parts[0] == "gray_channel" else 2
    if len(parts) > depth:
        return parts[depth] if parts[depth] in fixed else None
    if not isinstance(value, dict):
        return None
    return next((f for k, v in value.items() if (f := _fixed_field([*parts, k], v))), None)


def _apply(doc: dict[str, Any], index: int, sets: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` with event ``index``'s ``sets`` applied (``doc`` is not changed:
    the scenarios validated from it may share its lists and dicts).
    """
    doc = copy.deepcopy(doc)
    for path, value in sets.items():
        parts = paths.split(path)
        if parts[0] not in SETTABLE:
            raise TimelineError(index, path, f"events may set only {', '.join(SETTABLE)}")
        fixed = _fixed_field(parts, value)
        if fixed:
            raise TimelineError(index, path, f"{fixed} cannot change during a run")
        try:
            paths.set_in(doc, path, value)
        except paths.PathError as err:
            raise TimelineError(index, path, err.message) from None
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
