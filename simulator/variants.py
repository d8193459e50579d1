"""Policy variants of a scenario: named overrides (``variants:``) and grids (``sweep:``).

A variant is a set of dot-path overrides of the base scenario, validated like the base. With
``hold`` a variant's values hold against timeline events that set the same fields.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from simulator.scenarios import RESERVED_MESSAGE, reserved, with_overrides
from simulator.schema import Scenario
from simulator.timeline import FIXED, SETTABLE
from simulator.yamlsrc import InputError, Problem

BASE = "base"


@dataclass(frozen=True)
class Variant:
    """A named set of dot-path overrides of the base scenario."""

    name: str
    sets: Mapping[str, Any] = field(default_factory=dict)
    section: str = ""
    """Where the overrides are written in the scenario: ``sweep``, or (the default)
    ``variants.NAME``; problems found in them name it, for :func:`load_located` to place."""

    @property
    def source(self) -> str:
        """The section of the scenario that defines this variant."""
        return self.section or f"variants.{self.name}"


def _fail(section: str, message: str) -> InputError:
    return InputError([Problem(section, 0, 0, "", message)])


def variants_of(scenario: Scenario, names: Sequence[str] | None = None) -> list[Variant]:
    """The variants to compare, reference first.

    The scenario itself is the implicit first variant ``base``, unless the first entry of
    its ``variants:`` has no overrides (``{}``): that entry then names the scenario itself.
    ``names`` picks a subset in the order given; its first name is the reference.
    """
    listed = [Variant(k, dict(v)) for k, v in scenario.variants.items()]
    if not listed:
        raise _fail("variants", "the scenario defines no variants to compare")
    if listed[0].sets:
        if BASE in scenario.variants:
            raise _fail(f"variants.{BASE}", f"{BASE!r} names the unmodified scenario; list "
                        "it first with no overrides ({}) or rename it")
        listed.insert(0, Variant(BASE))
    if names is None:
        return listed
    known = {v.name: v for v in listed}
    problems = [Problem("--variants", 0, 0, n, f"unknown variant; known: {', '.join(known)}")
                for n in names if n not in known]
    problems += [Problem("--variants", 0, 0, n, "listed twice")
                 for n in dict.fromkeys(n for n in names if list(names).count(n) > 1)]
    if not names:
        problems.append(Problem("--variants", 0, 0, "", "no variant named"))
    if problems:
        raise InputError(problems)
    return [known[n] for n in names]


def _text(value: Any) -> str:
    """A sweep value as written in a variant name (YAML-like)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def sweep_variants(scenario: Scenario) -> list[Variant]:
    """Every point of the scenario's ``sweep:`` grid, named ``path=value,path=value``.

    The grid runs over the paths in file order, the last path fastest; the first point (every
    path at its first value) is the reference.
    """
    grid = scenario.sweep
    if not grid:
        raise _fail("sweep", "the scenario defines no sweep grid")
    empty = [Problem("sweep", 0, 0, p, "needs at least one value")
             for p, vals in grid.items() if not vals]
    if empty:
        raise InputError(empty)
    out = []
    for point in itertools.product(*grid.values()):
        sets = dict(zip(grid, point, strict=True))
        out.append(Variant(",".join(f"{p}={_text(v)}" for p, v in sets.items()), sets,
                           "sweep"))
    return out


def _overlap(a: str, b: str) -> bool:
    """Whether two dot paths can address the same field (``*`` matches any key)."""
    pa, pb = a.split("."), b.split(".")
    return all(x == y or "*" in (x, y) for x, y in zip(pa, pb, strict=False))


def _settable(path: str) -> bool:
    """Whether a timeline event could change the field at ``path``."""
    parts = path.split(".")
    return parts[0] in SETTABLE and parts[-1] not in FIXED.get(parts[0], ())


def held_events(scenario: Scenario, sets: Mapping[str, Any]) -> list[tuple[int, list[str]]]:
    """Timeline events that set a field the variant sets: (event index, variant paths)."""
    mine = [p for p in sets if _settable(p)]
    out = []
    for i, ev in enumerate(scenario.timeline):
        hit = [p for p in mine if any(_overlap(p, q) for q in ev.set)]
        if hit:
            out.append((i, hit))
    return out


def _hold(sc: Scenario, sets: Mapping[str, Any], source: str) -> Scenario:
    """``sc`` with the variant's values re-set by every event that would change them, so
    that a variant holds for the whole horizon (a variant's policy is not undone by, e.g.,
    a dated change of the base's sourcing).
    """
    held = held_events(sc, sets)
    if not held:
        return sc
    events = [ev.model_dump(mode="python") for ev in sc.timeline]
    for i, hit in held:
        own = {k: v for k, v in events[i]["set"].items() if k not in hit}
        events[i]["set"] = {**own, **{p: sets[p] for p in hit}}  # the variant's last: it wins
    return with_overrides(sc, {"timeline": events}, source)


def _scenarios(base: Scenario, variants: Sequence[Variant], hold: bool = True
               ) -> list[tuple[Scenario, list[str]]]:
    """Each variant's scenario and the events it holds against ("date label: path").

    Every variant is validated up front; all problems are reported together, each once
    (the points of a sweep share theirs), named by the variant's section.
    """
    problems: list[Problem] = []
    out: list[tuple[Scenario, list[str]]] = []
    for v in variants:
        problems += [Problem(v.source, 0, 0, p, RESERVED_MESSAGE) for p in v.sets
                     if reserved(p)]
        try:
            sc = with_overrides(base, v.sets, v.source) if v.sets else base
            notes = [f"{sc.timeline[i].date} {sc.timeline[i].label}: {', '.join(hit)}"
                     for i, hit in held_events(sc, v.sets)] if hold else []
            out.append((_hold(sc, v.sets, v.source) if hold else sc, notes))
        except InputError as err:
            problems += [_at(p, v) for p in err.problems]
    if problems:
        raise InputError(list(dict.fromkeys(problems)))
    return out


def _at(problem: Problem, v: Variant) -> Problem:
    """A problem of a sweep point's scenario, naming the point."""
    if not v.section:
        return problem
    where = f"{problem.path}: " if problem.path else ""
    return replace(problem, path="", message=f"point {v.name}: {where}{problem.message}")


def check(scenario: Scenario) -> None:
    """What ``magsim compare`` and ``magsim sweep`` check before they run, for the
    scenario's ``variants:`` and ``sweep:`` (if it has them): raises :class:`InputError`.
    """
    problems: list[Problem] = []
    for defined, chosen in ((scenario.variants, variants_of), (scenario.sweep, sweep_variants)):
        try:
            if defined:
                _scenarios(scenario, chosen(scenario))
        except InputError as err:
            problems += err.problems
    if problems:
        raise InputError(problems)
