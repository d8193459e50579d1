"""Load scenarios: YAML, ``extends:`` with deep merge, overrides, validation, hashing.

Every problem is reported as ``file:line:col: path.to.field: what is wrong (got X)``; all
problems found in one pass are reported together in an :class:`InputError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simulator import paths
from simulator.extends import merged_marks, resolve
from simulator.observed import BUILTIN, observed_path, read_observations
from simulator.schema import Scenario
from simulator.schema_errors import SET_SOURCE, from_validation, in_order, locate, message
from simulator.timeline import TimelineError, culprit, states
from simulator.yamlsrc import InputError, Marks, Problem, file_problem


def _observed_problems(ref: Any, marks: Marks, file: str) -> list[Problem]:
    """What is wrong with the ``observed_exports`` file ``ref`` (missing, or lines of a bad
    CSV): found at load time, not after a run.
    """
    if not isinstance(ref, str):
        return []  # none, or not text: validation says so
    problem = file_problem(observed_path(ref))
    if problem is not None:
        where = locate(marks, ("observed_exports",), file)
        return [Problem(*where, "observed_exports", f"{problem} {ref!r}")]
    try:
        read_observations(ref)
    except InputError as err:
        return err.problems
    return []


def parse_sets(items: Iterable[str]) -> dict[str, Any]:
    """Parse ``PATH=VALUE`` strings; the value is read as a YAML scalar or flow collection."""
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for item in items:
        path, sep, text = item.partition("=")
        path = path.strip()
        if not sep or not path:
            problems.append(Problem(SET_SOURCE, 0, 0, "", f"expected PATH=VALUE (got {item!r})"))
            continue
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except (yaml.YAMLError, ValueError):
            problems.append(Problem(SET_SOURCE, 0, 0, path, f"unreadable value (got {text!r})"))
            continue
        # a path set again moves to the end: applying the mapping in order then equals
        # applying every PATH=VALUE in the order given
        out.pop(path, None)
        out[path] = value
    if problems:
        raise InputError(problems)
    return out


def _validate(doc: dict[str, Any], marks: Marks, file: str) -> Scenario:
    try:
        return Scenario.model_validate(doc)
    except ValidationError as err:
        raise InputError(from_validation(err, marks, file)) from None


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
        try:
            for parts in paths.expand(doc, path):
                marks[tuple(parts)] = (source, 0, 0)
        except paths.PathError:
            pass  # replaced by a later override: nothing of it is left to point at
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
        where = locate(marks or {}, loc, file)
        raise InputError([Problem(*where, ".".join(loc), err.message)]) from None


RESERVED = ("name", "seed", "replications", "variants", "sweep", "shock")
"""Top-level sections a variant or sweep may not set: a comparison fixes them for all."""
RESERVED_MESSAGE = "cannot differ between variants (the comparison fixes it)"


def reserved(path: str) -> bool:
    """Whether a variant's or sweep's override of ``path`` sets a :data:`RESERVED` section."""
    return path.split(".")[0] in RESERVED


def _override_problems(base: dict[str, Any], sets: Mapping[str, Any],
                       at: Callable[[str], tuple[str, ...]], marks: Marks, file: str
                       ) -> list[Problem]:
    """What is wrong with ``base`` after ``sets`` (a variant, or one sweep value).

    ``at(path)`` is where the override of ``path`` is written in the scenario file. The
    timeline under the override is checked when the variant is used (:func:`with_overrides`).
    """
    if not sets:
        return []

    def problem(path: str, message: str) -> Problem:
        return Problem(*locate(marks, at(path), file), ".".join(at(path)), message)

    fixed = [problem(p, RESERVED_MESSAGE) for p in sets if reserved(p)]
    sets = {p: v for p, v in sets.items() if not reserved(p)}
    return fixed + _validity_problems(base, sets, problem)


def _validity_problems(base: dict[str, Any], sets: Mapping[str, Any],
                       problem: Callable[[str, str], Problem]) -> list[Problem]:
    """Schema problems of ``base`` after ``sets``, each named by the override to blame."""
    if not sets:
        return []
    try:
        Scenario.model_validate(paths.apply(base, dict(sets)))
    except paths.PathError as err:
        return [problem(err.path, err.message)]
    except ValidationError as err:
        out = []
        for e in err.errors():
            field = ".".join(str(x) for x in e["loc"])
            path = culprit(field, dict(sets)) or next(iter(sets))
            out.append(problem(path, message(e) if path == field else f"{field}: {message(e)}"))
        return out
    return []


def check_overrides(scenario: Scenario, marks: Marks | None = None, file: str = "<scenario>"
                    ) -> None:
    """Check that every variant, and every sweep value on its own, gives a valid scenario.

    Raises :class:`InputError` listing each bad variant path or value.
    """
    marks = marks or {}
    base = scenario.model_dump(mode="python")
    problems: list[Problem] = []
    for name, sets in scenario.variants.items():
        problems += _override_problems(base, sets, lambda p, n=name: ("variants", n, p),
                                       marks, file)
    for path, values in scenario.sweep.items():
        if reserved(path):
            problems.append(Problem(*locate(marks, ("sweep", path), file), f"sweep.{path}",
                                    RESERVED_MESSAGE))
            continue
        try:
            paths.expand(base, path)
        except paths.PathError as err:
            problems.append(Problem(*locate(marks, ("sweep", path), file), f"sweep.{path}",
                                    err.message))
            continue
        for i, value in enumerate(values):
            problems += _override_problems(base, {path: value},
                                           lambda p, i=i: ("sweep", p, str(i)), marks, file)
    if problems:
        raise InputError(in_order(problems))


def load_scenario(source: str | Path | Mapping[str, Any],
                  sets: Mapping[str, Any] | Iterable[str] | None = None) -> Scenario:
    """Load, merge, override and validate a scenario.

    Args:
        source: a YAML file path, or a plain mapping (e.g. written inline in a notebook);
            a mapping may use ``extends`` with a path relative to the working directory.
        sets: overrides, as ``{"path": value}`` or ``["path=value", ...]``.
    """
    return load_located(source, sets)[0]


Placer = Callable[[InputError], InputError]


def load_located(source: str | Path | Mapping[str, Any],
                 sets: Mapping[str, Any] | Iterable[str] | None = None
                 ) -> tuple[Scenario, Placer]:
    """:func:`load_scenario`, and a function that puts the problems found later in the
    scenario's variants or sweep (:mod:`simulator.variants`) at their lines in its file.
    """
    scenario, marks, file = _load(source, sets)
    return scenario, lambda err: InputError(in_order([_place(p, marks, file)
                                                       for p in err.problems]))


def _place(problem: Problem, marks: Marks, file: str) -> Problem:
    """A problem whose ``file`` is a section of the scenario, ``variants.NAME`` or
    ``sweep`` (its path relative to that), at the line of the file that defines it.
    """
    section = tuple(problem.file.split(".", 1))
    if problem.line or section[0] not in ("variants", "sweep"):
        return problem
    key = (*section, problem.path) if problem.path else section
    where = locate(marks, key, file) if key[:1] in marks else (file, 0, 0)  # no section
    if key in marks:  # a field the file sets: named as check_overrides names it
        return Problem(*where, ".".join(key), problem.message)
    text = f"{problem.path}: {problem.message}" if problem.path else problem.message
    return Problem(*where, problem.file, text)


def _load(source: str | Path | Mapping[str, Any],
          sets: Mapping[str, Any] | Iterable[str] | None) -> tuple[Scenario, Marks, str]:
    if isinstance(source, Mapping):
        doc, marks, file = dict(source), {}, "<dict>"
        if "extends" in doc:
            base, base_marks = resolve(Path(str(doc.pop("extends"))), ())
            doc, marks = paths.deep_merge(base, doc), merged_marks(base, base_marks, doc, {})
    else:
        file = str(source)
        doc, marks = resolve(Path(source), ())
    if sets:
        parsed = sets if isinstance(sets, Mapping) else parse_sets(sets)
        full = _validate(doc, marks, file).model_dump(mode="python")
        doc = _override(full, parsed, marks, file)
    return _checked(doc, marks, file), marks, file


def _checked(doc: dict[str, Any], marks: Marks, file: str) -> Scenario:
    """``doc`` validated, and its observed data, timeline, variants and sweep checked.

    All problems are reported at once: if the schema rejects only parts of the timeline,
    disruptions, variants, sweep or ``shock``, the checks of the timeline and the variants
    run on the rest (:func:`_partial`).
    """
    observed = _observed_problems(doc.get("observed_exports"), marks, file)
    try:
        scenario = Scenario.model_validate(doc)
    except ValidationError as err:
        problems = from_validation(err, marks, file)
        rest, overrides = _partial(doc, err)
        if rest is not None:
            problems += _later_problems(rest, marks, file, overrides)
        raise InputError(in_order(list(dict.fromkeys(problems))) + observed) from None
    problems = _later_problems(scenario, marks, file)
    if problems or observed:
        raise InputError(problems + observed)
    return scenario


def _later_problems(scenario: Scenario, marks: Marks, file: str, overrides: bool = True
                    ) -> list[Problem]:
    """Problems of the timeline's states and (if ``overrides``) of the variants and sweep."""
    problems: list[Problem] = []
    for check in (check_timeline, check_overrides) if overrides else (check_timeline,):
        try:
            check(scenario, marks, file)
        except InputError as err:
            problems += err.problems
    return in_order(problems)


PARTIAL = ("timeline", "disruptions", "variants", "sweep", "shock")


def _partial(doc: dict[str, Any], err: ValidationError) -> tuple[Scenario | None, bool]:
    """The scenario without what the schema rejected, if that is all in :data:`PARTIAL`
    (else None), and whether its variants can be checked (no disruption was left out).

    A rejected timeline event keeps its place, its bad fields made neutral (see
    :func:`_neutral`); a rejected disruption, variant or sweep entry is left out.
    """
    locs = [tuple(str(x) for x in e["loc"]) for e in err.errors()]
    if not all(loc and loc[0] in PARTIAL for loc in locs):
        return None, False
    doc, events = dict(doc), dict[int, set[str]]()
    for loc in locs:
        if loc[0] == "timeline" and len(loc) > 1:
            events.setdefault(int(loc[1]), set()).add(loc[2] if len(loc) > 2 else "")
        elif len(loc) > 1:
            doc[loc[0]] = {k: v for k, v in doc[loc[0]].items() if k != loc[1]}
        else:
            doc.pop(loc[0], None)
    if events:
        doc["timeline"] = _neutral(doc["timeline"], events, doc["horizon"]["start"])
    try:
        return Scenario.model_validate(doc), not any(loc[0] == "disruptions" for loc in locs)
    except ValidationError:  # e.g. events out of date order: reported once the rest is fixed
        return None, False


def _neutral(events: list[Any], bad: dict[int, set[str]], start: Any) -> list[Any]:
    """Timeline ``events`` with the fields ``bad`` names (by event; "" = the event itself)
    replaced: an empty label or source, an empty ``set``, the date of the event before.
    """
    out: list[Any] = []
    for i, event in enumerate(events):
        if i in bad:
            kept = event if isinstance(event, dict) and "" not in bad[i] else {}
            event = {"label": "", "source": "", "set": {},
                     **{k: v for k, v in kept.items() if k not in bad[i]}}
            event.setdefault("date", out[-1]["date"] if out else start)
        out.append(event)
    return out


def with_overrides(scenario: Scenario, sets: Mapping[str, Any], source: str) -> Scenario:
    """A new scenario with dot-path overrides applied (variants, sweeps), validated."""
    doc = _override(scenario.model_dump(mode="python"), sets, {}, source, source)
    out = _validate(doc, {}, source)
    check_timeline(out, {}, source)
    return out


def scenario_hash(scenario: Scenario) -> str:
    """Short content hash (12 hex digits) of the resolved scenario.

    An ``observed_exports`` file enters by its content, not its path (stored absolute), so
    that a scenario and its CSV copied elsewhere hash the same, and an edited CSV does not.
    """
    doc = scenario.model_dump(mode="json")
    ref = doc.get("observed_exports")
    if ref and not ref.startswith(BUILTIN):
        # checked at load; a file gone since is reported where it is read
        with contextlib.suppress(OSError):
            doc["observed_exports"] = "sha256:" + hashlib.sha256(
                observed_path(ref).read_bytes()).hexdigest()
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
