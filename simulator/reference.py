"""Reference documentation generated from the code: the scenario schema and the command line.

:func:`scenario_reference` renders every field of :class:`~simulator.schema.Scenario` (dot
path, type, unit, default, constraints, description) and :func:`cli_reference` every verb and
argument of :func:`simulator.cli.build_parser`. The few hand-written paragraphs live here too,
so regenerating keeps them. ``docs/make_docs.py`` writes the two pages; ``tests/test_docs.py``
fails when the committed pages differ from these functions' output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from simulator.schema import Scenario
from simulator.timeline import FIXED, SETTABLE

REGENERATE = "python docs/make_docs.py"
TYPE_NAMES: dict[Any, str] = {float: "number", int: "integer", str: "text", bool: "boolean",
                              dt.date: "date", Any: "any"}
KEY_NAMES = {"regions": "region", "transit_days": "region", "general_licences": "licence",
             "suppliers": "supplier", "buyers": "buyer", "stockpiles": "stockpile",
             "disruptions": "disruption", "variants": "variant", "sourcing": "source",
             "shortage_usd_per_unit": "sector", "shortage_usd_per_t": "sector",
             "set": "dot path", "sweep": "dot path"}
"""Placeholder for the keys of each mapping field (``buyers.<buyer>.region``)."""
UNITS = ("t", "t/day", "t/year", "kg/unit", "USD", "USD/kg", "USD/t", "USD/unit", "days",
         "working days", "calendar days", "1/year", "fraction/year")
SUFFIX_UNITS = (("_t_per_day", "t/day"), ("_t_per_year", "t/year"),
                ("_working_days", "working days"), ("_days", "days"),
                ("_usd_per_kg", "USD/kg"), ("_usd_per_t", "USD/t"), ("_usd_per_unit", "USD/unit"),
                ("units_per_year", "units/year"), ("_per_year", "1/year"), ("_t", "t"))
"""Units read from a field name when neither ``json_schema_extra`` nor the description says."""


@dataclass(frozen=True)
class Row:
    """One field of the scenario schema, as shown in the reference table."""

    path: str
    type: str
    unit: str
    default: str
    constraints: str
    description: str


# ----------------------------------------------------------------------- schema walking


def _strip(ann: Any) -> Any:
    """``Annotated[X, ...]`` -> ``X``."""
    return typing.get_args(ann)[0] if typing.get_origin(ann) is typing.Annotated else ann


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _members(ann: Any) -> list[Any]:
    """The non-null members of a union (or ``[ann]``)."""
    ann = _strip(ann)
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return [_strip(a) for a in typing.get_args(ann) if a is not type(None)]
    return [ann]


def _type(ann: Any, name: str = "") -> str:
    """Readable type of an annotation; ``name`` names the keys of a mapping."""
    ann = _strip(ann)
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is Literal:
        return "enum"
    if origin in (typing.Union, types.UnionType):
        text = " or ".join(_type(a, name) for a in _members(ann))
        return text + " or null" if type(None) in args else text
    if origin is list:
        item = _type(args[0])
        return "list of sections" if item == "section" else f"list of {item}"
    if origin is dict:
        return f"mapping {KEY_NAMES.get(name, 'key')} → {_type(args[1])}"
    if _is_model(ann):
        return "section"
    return TYPE_NAMES.get(ann, getattr(ann, "__name__", str(ann)))


def _nested(ann: Any, path: str, name: str) -> list[tuple[type[BaseModel], str]]:
    """Models under a field, each with the path prefix of its fields."""
    out: list[tuple[type[BaseModel], str]] = []
    models = [m for m in _members(ann) if _is_model(m)]
    for m in models:
        out.append((m, f"{path}{_variant(m, models)}."))
    for m in _members(ann):
        origin, args = typing.get_origin(m), typing.get_args(m)
        if origin is dict and _is_model(_strip(args[1])):
            out.append((_strip(args[1]), f"{path}.<{KEY_NAMES.get(name, 'key')}>."))
        elif origin is list and _is_model(_strip(args[0])):
            out.append((_strip(args[0]), f"{path}.<i>."))
    return out


def _variant(model: type[BaseModel], models: list[type[BaseModel]]) -> str:
    """``[kind=x]`` for one member of a union of several models (``""`` if alone)."""
    if len(models) < 2:
        return ""
    for key, info in model.model_fields.items():
        ann = _strip(info.annotation)
        if typing.get_origin(ann) is Literal and len(typing.get_args(ann)) == 1:
            return f"[{key}={typing.get_args(ann)[0]}]"
    return f"[{model.__name__}]"


def field_rows(model: type[BaseModel] = Scenario, prefix: str = "", unit: str = ""
               ) -> list[Row]:
    """Every field of ``model`` and of the models inside it, depth first.

    Args:
        model: the pydantic model to document.
        prefix: dot path of ``model`` in the scenario, with a trailing dot.
        unit: unit of the enclosing field, for fields "in the unit of the field that holds it".
    """
    rows: list[Row] = []
    for name, info in model.model_fields.items():
        path = prefix + name
        own = _unit(name, info, unit)
        rows.append(Row(path, _type(info.annotation, name), own, _default(info),
                        _constraints(info), _describe(info)))
        for sub, sub_prefix in _nested(info.annotation, path, name):
            rows += field_rows(sub, sub_prefix, own)
    return rows


# ----------------------------------------------------------------------- cells


def _unit(name: str, info: FieldInfo, inherited: str) -> str:
    """Unit from ``json_schema_extra["unit"]``, a "(unit)" in the description, or the name."""
    extra = info.json_schema_extra
    if isinstance(extra, dict) and "unit" in extra:
        return str(extra["unit"])
    for inner in re.findall(r"\(([^()]*)\)", info.description or ""):
        if inner in UNITS:
            return inner
        if inner == "0-1":
            return "fraction"
        if "field's unit" in inner:
            return inherited
    for suffix, unit in SUFFIX_UNITS:
        if name.endswith(suffix) or name == suffix.lstrip("_"):
            return unit
    bounds = _bounds(info)
    return "fraction" if bounds.get("ge") == 0 and bounds.get("le") == 1 else ""


def _bounds(info: FieldInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for meta in info.metadata:
        for key in ("gt", "ge", "lt", "le", "min_length", "max_length", "pattern"):
            if getattr(meta, key, None) is not None:
                out[key] = getattr(meta, key)
    return out


def _num(x: float) -> str:
    return f"{x:g}"


def _range(b: dict[str, Any]) -> str:
    lo = ("[", b["ge"]) if "ge" in b else ("(", b["gt"]) if "gt" in b else None
    hi = (b["le"], "]") if "le" in b else (b["lt"], ")") if "lt" in b else None
    if lo and hi:
        return f"{lo[0]}{_num(lo[1])}, {_num(hi[0])}{hi[1]}"
    if lo:
        return f"{'≥' if lo[0] == '[' else '>'} {_num(lo[1])}"
    return f"{'≤' if hi[1] == ']' else '<'} {_num(hi[0])}" if hi else ""


def _enums(ann: Any, prefix: str = "one of") -> list[str]:
    """Allowed values of Literal types inside ``ann`` (list items, mapping keys, values)."""
    ann = _strip(ann)
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is Literal:
        return [f"{prefix} " + ", ".join(f"`{a}`" for a in args)]
    if origin is list:
        return _enums(args[0], "each one of")
    if origin is dict:
        return _enums(args[0], "keys one of") + _enums(args[1], "values one of")
    if origin in (typing.Union, types.UnionType):
        return [e for a in _members(ann) for e in _enums(a, prefix)]
    return []


def _constraints(info: FieldInfo) -> str:
    b = _bounds(info)
    parts = [_range(b)] if _range(b) else []
    if "min_length" in b or "max_length" in b:
        what = "characters" if _strip(info.annotation) is str else "entries"
        lo, hi = b.get("min_length"), b.get("max_length")
        if what == "entries" and (lo or hi) == 1:
            what = "entry"
        parts.append(f"{lo}–{hi} {what}" if lo and hi else f"at least {lo} {what}" if lo
                     else f"at most {hi} {what}")
    if "pattern" in b:
        parts.append(f"matches `{b['pattern']}`")
    return "; ".join(parts + _enums(info.annotation))


def _show(v: Any) -> str:
    """A value as it would be written in YAML flow style."""
    if isinstance(v, BaseModel):
        v = v.model_dump(mode="json")
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_show(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    if isinstance(v, str):
        return v if re.fullmatch(r"[\w.-]+", v) else json.dumps(v)
    return v.isoformat() if isinstance(v, dt.date) else repr(v)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    return f"`{_show(info.get_default(call_default_factory=True))}`"


def _doc(obj: Any) -> str:
    """A docstring on one line, reST literals turned into Markdown code."""
    text = " ".join(inspect.cleandoc(obj.__doc__ or "").split())
    return text.replace("``", "`")


def _describe(info: FieldInfo) -> str:
    text = (info.description or "").strip()
    models = [m for m in _members(info.annotation) if _is_model(m)]
    return " ".join([text, *(_doc(m) for m in models)]).strip()


def _cell(text: str) -> str:
    return (text or "—").replace("|", "\\|").replace("\n", " ")


def _table(rows: list[Row]) -> str:
    lines = ["| path | type | unit | default | constraints | description |",
             "|---|---|---|---|---|---|"]
    lines += [f"| `{r.path}` | {_cell(r.type)} | {_cell(r.unit)} | {_cell(r.default)} | "
              f"{_cell(r.constraints)} | {_cell(r.description)} |" for r in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------- scenario page

SCENARIO_INTRO = f"""\
# Scenario file reference

<!-- Generated from simulator/schema.py by simulator/reference.py; do not edit.
     Regenerate with: {REGENERATE} -->

Every field of a scenario file, generated from the pydantic models in `simulator/schema.py`
(`magsim schema` prints them as JSON Schema for editors: it adds `extends` and requires no
field, since a file that extends another holds only its changes). Every section forbids
unknown keys.

- **path** is the dot path used by `--set PATH=VALUE`, timeline events, disruptions, variants
  and sweeps. `<buyer>`, `<region>`, `<supplier>` ... stand for a key you choose; `<i>` is a
  list index (0 first). In those paths `*` matches every key (`gate.regions.*.regime.civil`).
- **type**: `number` accepts integers and decimals, `integer` only whole numbers written
  without a decimal point; quoted numbers and `true`/`false` are refused. `date` is
  `YYYY-MM-DD`; `section` is a mapping whose fields follow in the rows below it.
- **unit**: mass in tonnes (`t`), money in USD, time in calendar days unless the unit says
  `working days` (Monday to Friday less `gate.holidays`); `fraction` is a share in [0, 1].
- **default**: `required` fields must be given whenever their section is written; a section
  with a default may be left out as a whole (e.g. `gate.review_working_days`).
- **constraints**: `> 0`, `≥ 0`, intervals like `[0, 1]`, and allowed values. Rules that
  involve several fields are listed [below](#rules-across-fields).
"""

RULES = """\
## Rules across fields

Checked when a scenario is loaded (`simulator/schema.py`, `simulator/scenarios.py`); each
broken rule is one error line naming the field.

- `horizon.end` is after `horizon.start`.
- `gate.review_working_days.min` ≤ `gate.max_review_working_days`.
- `suppliers.<supplier>.ramp` dates are in increasing order.
- `buyers.<buyer>.demand`: either `t_per_year`, or `units_per_year` with `kg_per_unit`;
  `seasonality` is 12 non-negative factors averaging 1.
- `buyers.<buyer>.policy`: `base_stock` and `sS` need `order_up_to_t`; `sS` needs
  `reorder_point_t` ≤ `order_up_to_t`; `days_of_cover` needs `target_days`.
- `buyers.<buyer>.sourcing`: shares in [0, 1] summing to 1; keys are `china` or suppliers.
- `buyers.<buyer>.on_denial: resource` needs `resource_to` or an ex-China source.
- `costs.shortage_usd_per_unit`, `costs.shortage_usd_per_t`: finite values ≥ 0.
- Names must exist: every buyer's and supplier's `region` and every entry of
  `stockpiles.<stockpile>.release.regions` in `gate.regions`; `resource_to` in `suppliers`;
  every entry of `gate.general_licences.<licence>.buyers` in `buyers`; every entry of
  `china.priority` and of `suppliers.<supplier>.priority` is a sector or an end use.
- `china.transit_days` has exactly one entry per region of `gate.regions`.
- `timeline` events are in date order and within the horizon; each event's `set`, and each
  disruption's, must give a valid scenario when applied (the path must exist).
- Every variant, and every value of every `sweep` path on its own, must give a valid scenario.
"""

EXTENDS = """\
## Loader keys outside the schema

`extends: other.yaml` (top level) names a scenario file, relative to this one, that this
file is deep-merged onto: mappings merge key by key, anything else (lists included) is
replaced. Chains are followed; a cycle is an error. The merged result is what the table above
describes.
"""


def _settable() -> str:
    fixed = "; ".join(f"under `{sec}`: " + ", ".join(f"`{f}`" for f in sorted(fs))
                      for sec, fs in FIXED.items())
    sections = ", ".join(f"`{s}`" for s in SETTABLE)
    return (f"## What timeline events and disruptions may set\n\nThe `set` of a timeline "
            f"event or a disruption may change fields under {sections}, from the start of "
            f"the event's day (or while the disruption is in force). Fields that define an "
            f"entity cannot change during a run: {fixed}.\n")


def scenario_reference() -> str:
    """The scenario file reference (Markdown), generated from :class:`Scenario`."""
    rows = field_rows()
    fields = Scenario.model_fields
    sections = [r.path for r in rows if "." not in r.path
                and any(x.path.startswith(r.path + ".") for x in rows)]
    top = [Row(r.path, r.type, r.unit, r.default, r.constraints,
               (fields[r.path].description or "")
               + (f" See [`{r.path}`](#{r.path})." if r.path in sections else ""))
           for r in rows if "." not in r.path]
    parts = [SCENARIO_INTRO, "## Top level\n", _table(top) + "\n"]
    for s in sections:
        info = fields[s]
        docs = " ".join(_doc(m) for m, _ in _nested(info.annotation, s, s))
        body = [r for r in rows if r.path.startswith(s + ".")]
        parts += [f"## `{s}`\n", (docs or info.description or "") + "\n",
                  _table(body) + "\n"]
    parts += [RULES, _settable(), EXTENDS]
    return "\n".join(parts)


# ----------------------------------------------------------------------- command line

CLI_INTRO = f"""\
# Command line: `magsim`

<!-- Generated by simulator/reference.py: the reference part from simulator.cli.build_parser(),
     the rest is hand-written there. Do not edit; regenerate with: {REGENERATE} -->

`magsim` (also `python -m simulator`) runs scenarios, compares policy variants and checks
scenario files. Every verb takes `-h`/`--help`. Replications and seed default to the
scenario's `replications` and `seed`; the flags override them for one run. Scenario fields
are described in [scenario-reference.md](scenario-reference.md), the model in
[model.md](model.md).

## Exit status

- **0**: success.
- **1**: internal error (a bug): one line `internal error: <type>: <message>` on stderr.
  Also, silently, when the reader of stdout closes it early (`magsim validate ... | head -1`).
- **2**: bad input: the scenario file (its `variants:` and `sweep:` included), `--set`,
  flags, paths the system refuses (missing, a symlink loop, a name too long) or a Dask
  scheduler that does not answer. One line per problem on stderr,
  `file:line:col: path.to.field: what is wrong (got X)` for scenario files; nothing is
  simulated or written.
- **130**: interrupted with Ctrl-C: finished replications stay in `DIR.partial/` and the
  command that resumes the run is printed.

Without `--debug` no traceback is printed; with it, errors in flags, paths and internal
errors are raised with their traceback (scenario errors stay one line each).

## Examples

```bash
magsim validate scenarios/*.yaml                      # "ok" per file; exit 0, or 2 if any is bad
magsim run scenarios/replay_2025.yaml                 # 20 replications -> runs/replay_2025-<hash>/
magsim run scenarios/replay_2025.yaml --replications 200 --seed 7 -o runs/replay-200
magsim run scenarios/replay_2025.yaml --set china.export_capacity_t_per_day=180 \\
    --set 'buyers.us_auto.substitution={{trigger_cover_days: 20, max_share: 0.1, lead_days: 180}}'
magsim run scenarios/replay_2025.yaml -o runs/big --replications 2000 --backend dask \\
    --scheduler tcp://10.0.0.5:8786
magsim compare scenarios/policies/library.yaml --replications 10   # see compare.md
magsim sweep SCENARIO.yaml -o runs/my-sweep
magsim plot runs/replay-200                           # redraw figures/ and report.md
magsim schema > scenario.schema.json                  # for editor completion
```

## `--set PATH=VALUE`

- `PATH` is a dot path of [scenario-reference.md](scenario-reference.md) with real keys
  (`buyers.us_auto.policy.target_days`); `*` matches every key of a mapping
  (`gate.regions.*.approval_prob.civil`). Repeat `--set` for several fields; they apply in
  order. `validate` accepts `--set` too.
- `VALUE` is read as YAML: `180`, `0.5`, `lognormal`, `[US, EU]`, `{{mean: 15, cv: 0.5}}`.
- Overrides apply to the merged scenario (after `extends`, with defaults filled in) and the
  result is validated as a whole. A path must exist: a field inside an optional section that
  is absent (`buyers.us_auto.substitution.max_share` when the buyer has no `substitution`)
  is an error; set the whole section instead, as in the example above.
- `--set` changes the **starting** value. Timeline events that set the same field still set
  it on their dates: in `replay_2025.yaml`, `--set gate.reviewers=50` changes nothing after
  4 April 2025, because the timeline sets `gate.reviewers` then. (Variants of `magsim
  compare` are held against the timeline instead; see [compare.md](compare.md).)

## Interrupting and resuming: `--resume`

A run is built in `DIR.partial/` and renamed to `DIR` when complete; each finished chunk of
replications is saved there as it completes. After Ctrl-C (exit 130), a crash or a killed
machine, run the same command again with `--resume` (and the same `-o DIR`; the Ctrl-C
message prints the command): finished chunks are reused and the result is identical to an
uninterrupted run, whatever `--workers` or `--backend`. If `DIR.partial/` holds a different
run (another scenario, seed, replication count or `--daily-replications`), `--resume` stops
with exit 2. Without
`--resume` an old `DIR.partial/` is discarded. Give `-o DIR` explicitly for long runs you may
need to resume.

## Running on Dask: `--backend dask [--scheduler ADDR]`

`--backend dask` runs chunks of replications as Dask tasks: on a LocalCluster of `--workers`
single-threaded processes, or, with `--scheduler tcp://host:8786`, on an existing cluster
whose workers have the same magsim installed. A chunk whose worker dies is retried (up to 3
times). Outputs are identical to the local backend for the same seed, and the run directory
is written on the machine that runs `magsim`. `--scheduler` without `--backend dask` is an
error (exit 2), and so is a scheduler that does not answer: magsim tries to connect for 10 s
(and waits as long again for its handshake) before it writes anything.

`compare` and `sweep` take the flags of `run` but refuse `--daily-replications` (exit 2): a
comparison keeps no daily rows.
"""


def _sub_action(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
                None)


def _metavar(a: argparse.Action) -> str:
    if a.choices is not None and a.metavar is None and a.nargs != 0:
        return "|".join(str(c) for c in a.choices)
    return str(a.metavar or a.dest.upper())


def _synopsis(a: argparse.Action) -> str:
    if isinstance(a, argparse._SubParsersAction):
        return "VERB ..."
    if not a.option_strings:
        return _metavar(a) + (" ..." if a.nargs in ("+", "*") else "")
    text = a.option_strings[0] if a.nargs == 0 else f"{a.option_strings[0]} {_metavar(a)}"
    repeat = " ..." if isinstance(a, argparse._AppendAction) else ""
    return f"[{text}{repeat}]"


def _arg_default(a: argparse.Action) -> str:
    if isinstance(a, argparse._VersionAction):
        return "—"
    if a.nargs == 0:
        return "off"
    if a.default in (None, [], argparse.SUPPRESS) or not a.option_strings:
        return "—"
    return f"`{a.default}`"


def _arg_help(a: argparse.Action) -> str:
    text = (a.help or "") % {**vars(a), "prog": ""} if "%(" in (a.help or "") else a.help or ""
    if isinstance(a, argparse._AppendAction):
        text += " (repeatable)" if "repeatable" not in text else ""
    return text


def _wrap(prog: str, items: list[str], width: int = 88) -> str:
    """A usage line wrapped like argparse's: continuation lines indented under the verb."""
    lines, line = [], prog
    for item in items:
        if len(line) + 1 + len(item) > width and line.strip() != prog:
            lines.append(line)
            line = " " * len(prog)
        line += " " + item
    return "\n".join([*lines, line])


def _verb_section(prog: str, parser: argparse.ArgumentParser, summary: str) -> str:
    actions = [a for a in parser._actions
               if not isinstance(a, argparse._HelpAction) and a.help != argparse.SUPPRESS]
    usage = _wrap(prog, [_synopsis(a) for a in actions])
    lines = [f"### `{prog}`\n", f"{parser.description or summary}\n", f"```\n{usage}\n```\n"]
    rows = ["| argument | default | description |", "|---|---|---|"]
    for a in actions:
        name = _metavar(a) if not a.option_strings else ", ".join(a.option_strings) + (
            "" if a.nargs == 0 else f" {_metavar(a)}")
        if isinstance(a, argparse._SubParsersAction):
            name, text = "VERB", "one of " + ", ".join(f"`{v}`" for v in a.choices)
        else:
            text = _arg_help(a)
        rows.append(f"| `{_cell(name)}` | {_cell(_arg_default(a))} | {_cell(text)} |")
    return "\n".join(lines + rows) + "\n"


def cli_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """The command-line page (Markdown): hand-written intro, then every verb of ``parser``
    (default: :func:`simulator.cli.build_parser`) with its arguments, defaults and help.
    """
    if parser is None:
        from simulator.cli import build_parser

        parser = build_parser()
    sub = _sub_action(parser)
    verbs = dict(sub.choices) if sub else {}
    helps = {c.dest: c.help or "" for c in sub._choices_actions} if sub else {}
    parts = [CLI_INTRO, "## Reference\n",
             "Generated from `simulator.cli.build_parser()`: every verb, argument, default "
             "and help text.\n", _verb_section("magsim", parser, "")]
    parts += [_verb_section(f"magsim {v}", p, helps.get(v, "")) for v, p in verbs.items()]
    return "\n".join(parts)
