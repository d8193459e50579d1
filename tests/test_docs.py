"""Generated docs: no drift from the code, every schema field documented once, facts right."""

from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from conftest import CONTROLS, TINY, scenario
from pydantic import BaseModel, Field

from simulator.cli import build_parser
from simulator.reference import REGENERATE, cli_reference, field_rows, scenario_reference
from simulator.schema import Gate, Scenario
from simulator.yamlsrc import InputError

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize(("page", "render"), [("scenario-reference.md", scenario_reference),
                                              ("cli.md", cli_reference)])
def test_committed_page_matches_generator(page, render):
    committed = (DOCS / page).read_text(encoding="utf-8")
    assert committed == render(), (
        f"docs/{page} is out of date with the code; regenerate it with `{REGENERATE}`")


def _schema_paths() -> list[str]:
    """Every field path of the JSON Schema, ``*`` for mapping keys and list items."""
    schema = Scenario.model_json_schema()
    defs = schema["$defs"]
    out: list[str] = []

    def ref(node: dict[str, Any]) -> dict[str, Any]:
        return defs[node["$ref"].rsplit("/", 1)[-1]]

    def walk(node: dict[str, Any], prefix: str) -> None:
        for name, prop in node["properties"].items():
            path = prefix + name
            out.append(path)
            options = prop.get("oneOf") or prop.get("anyOf") or prop.get("allOf") or [prop]
            refs = [o for o in options if "$ref" in o]
            tags = {v: k for k, v in prop.get("discriminator", {}).get("mapping", {}).items()}
            for o in refs:
                tag = (f"[{prop['discriminator']['propertyName']}={tags[o['$ref']]}]"
                       if len(refs) > 1 else "")
                walk(ref(o), f"{path}{tag}.")
            for o in options:
                inner = o.get("additionalProperties") or o.get("items")
                if isinstance(inner, dict) and "$ref" in inner:
                    walk(ref(inner), f"{path}.*.")

    walk(schema, "")
    return out


def _doc_rows(text: str) -> dict[str, list[list[str]]]:
    """Table rows of the reference page by path (``<key>`` placeholders as ``*``)."""
    rows: dict[str, list[list[str]]] = {}
    for line in text.splitlines():
        m = re.match(r"\| `([^`]+)` \|(.*)\|$", line)
        if m:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", m.group(2))]
            rows.setdefault(re.sub(r"<[^>]+>", "*", m.group(1)), []).append(cells)
    return rows


def test_every_schema_field_appears_exactly_once():
    rows = _doc_rows((DOCS / "scenario-reference.md").read_text(encoding="utf-8"))
    paths = _schema_paths()
    assert len(paths) > 80
    assert [p for p in paths if len(rows.get(p, [])) != 1] == []
    assert sorted(set(rows) - set(paths)) == []


def _row(path: str) -> dict[str, str]:
    cells = _doc_rows(scenario_reference())[path][0]
    return dict(zip(["type", "unit", "default", "constraints", "description"], cells,
                    strict=True))


def test_known_fields_have_type_unit_default_and_constraints():
    reviewers = _row("gate.reviewers")
    assert reviewers["type"] == "integer"
    assert reviewers["default"] == f"`{Gate.model_fields['reviewers'].default}`"
    assert reviewers["constraints"] == "> 0"
    assert "reviewers" in reviewers["description"]
    review = _row("gate.review_working_days")
    assert "mean: 20.0" in review["default"] and review["unit"] == "working days"
    assert _row("gate.review_working_days.mean")["unit"] == "working days"
    assert _row("china.transit_days.*.mean")["unit"] == "calendar days"
    cap = _row("china.export_capacity_t_per_day")
    assert (cap["default"], cap["unit"], cap["type"]) == ("required", "t/day", "number")
    assert _row("gate.regions.*.approval_prob.civil")["constraints"] == "[0, 1]"
    assert _row("buyers.*.policy.kind")["constraints"] == (
        "one of `base_stock`, `sS`, `days_of_cover`")
    assert _row("buyers.*.sourcing")["default"] == "`{china: 1.0}`"
    assert _row("buyers.*.substitution")["type"] == "section or null"
    assert _row("timeline.*.date")["default"] == "required"


class _A(BaseModel):
    kind: Literal["a"] = "a"
    x: int = Field(1, gt=0, description="An x (t).")


class _B(BaseModel):
    kind: Literal["b"]
    y: float


class _Toy(BaseModel):
    p: Annotated[_A | _B, Field(discriminator="kind")]
    q: dict[str, _A] | None = None


def test_unions_of_models_are_listed_per_member():
    rows = {r.path: r for r in field_rows(_Toy)}
    assert list(rows) == ["p", "p[kind=a].kind", "p[kind=a].x", "p[kind=b].kind",
                          "p[kind=b].y", "q", "q.<key>.kind", "q.<key>.x"]
    assert (rows["p[kind=a].x"].unit, rows["p[kind=a].x"].constraints) == ("t", "> 0")
    assert rows["q"].type == "mapping key → section or null"


def _event(**changes: Any) -> dict[str, Any]:
    ev = copy.deepcopy(CONTROLS)
    ev.update(changes)
    return ev


SUPPLIER = {"region": "US", "capacity_t_per_year": 100.0}


@pytest.mark.parametrize(("overrides", "timeline", "message"), [
    ({"horizon.end": "2024-12-31"}, None, "end must be after start"),
    ({"gate.review_working_days": {"mean": 20.0, "min": 50.0}}, None,
     "must not exceed max_review_working_days"),
    ({"suppliers": {"s": {**SUPPLIER, "ramp": [{"date": "2025-03-01", "share": 0.5},
                                               {"date": "2025-02-01", "share": 1.0}]}}},
     None, "increasing order"),
    ({"buyers.eu_wind.demand.units_per_year": 10.0}, None, "needs kg_per_unit"),
    ({"buyers.eu_wind.demand.seasonality": [1.0] * 11}, None, "12 non-negative"),
    ({"buyers.eu_wind.policy.reorder_point_t": 40.0}, None, "must not exceed order_up_to_t"),
    ({"buyers.us_auto.policy": {"kind": "days_of_cover"}}, None, "needs target_days"),
    ({"buyers.us_auto.sourcing": {"china": 0.5}}, None, "sum to 1"),
    ({"buyers.us_auto.on_denial": "resource"}, None, "needs resource_to"),
    ({"costs.shortage_usd_per_unit": {"wind": -1.0}}, None, ">= 0"),
    ({"buyers.us_auto.region": "XX"}, None, "unknown region"),
    ({"gate.regions": {"US": {}, "EU": {}, "JP": {}}}, None, "no entry for region 'JP'"),
    ({"china.priority": ["cars"]}, None, "unknown sector or end use"),
    ({"suppliers": {"s": {**SUPPLIER, "priority": ["cars"]}}}, None,
     "suppliers.s.priority: unknown sector or end use"),
    ({"gate.general_licences": {"g": {"buyers": ["nobody"], "expires": "2025-03-01"}}},
     None, "unknown buyer"),
    (None, [_event(date="2026-01-05")], "outside the horizon"),
    (None, [_event(date="2025-03-01"), _event()], "date order"),
    (None, [_event(set={"gate.nope": 1})], "no field 'nope'"),
    ({"variants": {"v": {"gate.reviewers": 0}}}, None, "greater than 0"),
])
def test_rules_across_fields_listed_in_the_reference_are_enforced(overrides, timeline,
                                                                  message):
    assert "## Rules across fields" in scenario_reference()
    with pytest.raises(InputError, match=re.escape(message)):
        scenario(overrides, timeline=timeline)


def test_tiny_scenario_is_valid():
    """The base of the rule cases above is itself valid."""
    assert scenario(None, base=TINY).name == "tiny"


def test_cli_page_lists_every_verb_and_flag():
    text = cli_reference()
    parser = build_parser()
    verbs = next(a for a in parser._actions if a.dest == "verb").choices
    for verb, sub in verbs.items():
        section = text.split(f"### `magsim {verb}`", 1)[1].split("\n### ", 1)[0]
        for action in sub._actions:
            if action.help == argparse.SUPPRESS:  # refused by the verb, so not listed
                continue
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in section or f", {flag}" in section, (verb, flag)
    for code in ("**0**", "**1**", "**2**", "**130**", "--resume", "--scheduler ADDR"):
        assert code in text
