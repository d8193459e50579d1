"""``magsim schema``: the JSON Schema editors use accepts every shipped scenario file,
including those written as ``extends:`` plus changes, and still flags typos and wrong types.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from simulator import load_scenario
from simulator.cli import main
from simulator.yamlsrc import InputError

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml")) + [SCENARIOS / "policies" / "library.yaml"]
EXTENDING = SCENARIOS / "replay_2025.yaml"


@pytest.fixture
def validator(capsys: pytest.CaptureFixture[str]) -> jsonschema.Draft202012Validator:
    """A validator for the schema that ``magsim schema`` prints."""
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def as_json(node: Any) -> Any:
    """A YAML document as an editor sees it: dates as ISO strings."""
    if isinstance(node, dict):
        return {key: as_json(value) for key, value in node.items()}
    if isinstance(node, list):
        return [as_json(value) for value in node]
    return node.isoformat() if isinstance(node, dt.date) else node


def load(path: Path) -> dict[str, Any]:
    return as_json(yaml.safe_load(path.read_text(encoding="utf-8")))


def errors(validator: jsonschema.Draft202012Validator, doc: dict[str, Any]
           ) -> list[tuple[str, str]]:
    """(dot path, message) per error."""
    return [(".".join(map(str, e.absolute_path)), e.message)
            for e in validator.iter_errors(doc)]


def test_four_scenario_files_are_shipped():
    assert [p.relative_to(SCENARIOS).as_posix() for p in SHIPPED] == [
        "baseline_2024.yaml", "reescalation_2026.yaml", "replay_2025.yaml",
        "policies/library.yaml"]
    assert sum("extends" in load(p) for p in SHIPPED) == 3


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_scenarios_validate(validator, path):
    assert errors(validator, load(path)) == []


def test_unknown_key_is_flagged_by_name(validator):
    doc = load(EXTENDING)
    doc.setdefault("gate", {})["reviewerz"] = 5
    [(where, message)] = errors(validator, doc)
    assert where == "gate"
    assert "'reviewerz' was unexpected" in message


def test_wrong_type_is_flagged_at_its_key(validator):
    doc = load(EXTENDING)
    doc.setdefault("gate", {})["reviewers"] = "many"
    [(where, message)] = errors(validator, doc)
    assert where == "gate.reviewers"
    assert message == "'many' is not of type 'integer'"


@pytest.mark.parametrize(("change", "where"), [
    ({"extends": 3}, "extends"),
    ({"gate": {"regions": {"US": {"regime": {"civil": "closed"}}}}},
     "gate.regions.US.regime.civil"),
    ({"gate": {"regions": {"US": {"covered_share": {"civil": 1.5}}}}},
     "gate.regions.US.covered_share.civil"),
    ({"horizon": {"start": "2025-13-01"}}, "horizon.start"),
])
def test_bad_extends_enums_bounds_and_dates_are_flagged(validator, change, where):
    assert [w for w, _ in errors(validator, {"extends": "x.yaml", **change})] == [where]


def test_partial_file_passes_the_editor_schema_but_not_validate(validator, tmp_path):
    """Completeness is left to ``magsim validate``, which checks the merged scenario."""
    partial = {"name": "partial", "horizon": {"start": "2025-01-01", "end": "2025-12-31"}}
    assert errors(validator, partial) == []
    path = tmp_path / "partial.yaml"
    path.write_text(yaml.safe_dump(partial), encoding="utf-8")
    with pytest.raises(InputError, match="gate: required field is missing"):
        load_scenario(path)
