"""Error locations with ``extends``, and problems reported in one pass.

A list that a file replaces (the timeline, a supplier's ramp) belongs to that file: a field
missing from one of its items is blamed on that file and item, not on the base file's list.
When the schema rejects only timeline events, disruptions, variants or sweep entries, the
timeline and variant checks still run on the rest, so all problems come in one report.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from conftest import CONTROLS, TINY

from simulator import load_scenario
from simulator.cli import main
from simulator.yamlsrc import InputError

SCENARIOS = Path(__file__).parent.parent / "scenarios"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """TINY with a timeline event and a supplier with a ramp, as base.yaml."""
    doc = copy.deepcopy(TINY)
    doc["timeline"] = [CONTROLS]
    doc["suppliers"] = {"us_maker": {"region": "US", "capacity_t_per_year": 100.0,
                                     "ramp": [{"date": "2025-02-01", "share": 0.5}]}}
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    load_scenario(path)  # valid
    return path


def validate(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str]:
    status = main(["validate", str(path)])
    return status, capsys.readouterr().err


def child(tmp_path: Path, text: str, extends: str = "base.yaml") -> Path:
    path = tmp_path / "child.yaml"
    path.write_text(f"extends: {extends}\n{text}")
    return path


def test_missing_label_in_a_replaced_timeline_names_the_child(base, tmp_path, capsys):
    path = child(tmp_path, "timeline:\n"
                           "  - date: 2025-03-01\n"
                           "    source: test\n"
                           "    set: {gate.reviewers: 4}\n")
    assert validate(capsys, path) == (2, f"{path}:3:5: timeline.0.label: required field is "
                                         "missing\n")


def test_missing_date_in_a_replaced_ramp_names_the_child(base, tmp_path, capsys):
    path = child(tmp_path, "suppliers:\n"
                           "  us_maker:\n"
                           "    ramp:\n"
                           "      - share: 0.5\n")
    assert validate(capsys, path) == (2, f"{path}:5:9: suppliers.us_maker.ramp.0.date: "
                                         "required field is missing\n")


def test_a_merged_mapping_still_points_at_the_base_for_what_the_base_wrote(base, tmp_path,
                                                                         capsys):
    """Only values the child replaces lose the base's marks: a bad base value the child
    leaves alone is still found in the base file.
    """
    text = base.read_text().replace("reviewers: 3", "reviewers: 0")
    base.write_text(text)
    line = text.splitlines().index("  reviewers: 0") + 1
    path = child(tmp_path, "gate:\n  shipment_t: 3.0\n")
    assert validate(capsys, path) == (2, f"{base}:{line}:3: gate.reviewers: input should be "
                                         "greater than 0 (got 0)\n")


@pytest.mark.parametrize(("name", "text", "where"), [
    ("replay_2025.yaml", "timeline:\n  - date: 2025-05-01\n    source: y\n"
                         "    set: {gate.reviewers: 10}\n", "3:5: timeline.0.label"),
    ("baseline_2024.yaml", "suppliers:\n  mp_fort_worth:\n    ramp:\n      - share: 0.5\n",
     "5:9: suppliers.mp_fort_worth.ramp.0.date"),
])
def test_shipped_scenarios_extended(name, text, where, tmp_path, capsys):
    path = child(tmp_path, f"name: child\n{text}", str(SCENARIOS / name))
    line, col, field = where.split(":", 2)
    assert validate(capsys, path) == (2, f"{path}:{int(line) + 1}:{col}:{field}: required "
                                         "field is missing\n")


def test_a_mapping_that_extends_a_file_is_blamed_for_its_own_list(base):
    doc = {"extends": str(base), "timeline": [{"date": "2025-03-01", "source": "t", "set": {}}]}
    with pytest.raises(InputError) as err:
        load_scenario(doc)
    assert str(err.value) == "<dict>: timeline.0.label: required field is missing"


def test_set_path_typo_comes_with_missing_fields(base, tmp_path, capsys):
    path = child(tmp_path, "timeline:\n"
                           "  - date: 2025-03-01\n"
                           "    label: a\n"
                           "    source: test\n"
                           "    set: {gate.regions.US.aproval_prob.civil: 0.5}\n"
                           "  - date: 2025-04-01\n"
                           "    set: {gate.reviewers: 4}\n"
                           "variants:\n"
                           "  more: {gate.reviewrs: 5}\n")
    assert validate(capsys, path) == (2, "\n".join([
        f"{path}:6:11: timeline.0.set.gate.regions.US.aproval_prob.civil: no field "
        "'aproval_prob' in gate.regions.US; did you mean 'approval_prob'?",
        f"{path}:7:5: timeline.1.label: required field is missing",
        f"{path}:7:5: timeline.1.source: required field is missing",
        f"{path}:10:10: variants.more.gate.reviewrs: no field 'reviewrs' in gate; did you "
        "mean 'reviewers'?"]) + "\n")


def test_bad_event_date_keeps_the_later_events_checked(base, tmp_path, capsys):
    path = child(tmp_path, "timeline:\n"
                           "  - {date: soon, label: a, source: t, set: {}}\n"
                           "  - {date: 2025-04-01, label: b, source: t, set: {gate.nope: 1}}\n")
    status, err = validate(capsys, path)
    assert status == 2
    assert err.splitlines() == [
        f"{path}:3:6: timeline.0.date: input should be a valid date or datetime, input is "
        "too short (got 'soon')",
        f"{path}:4:51: timeline.1.set.gate.nope: no field 'nope' in gate"]


def test_a_rejected_disruption_does_not_make_variants_look_wrong(base, tmp_path, capsys):
    """A variant that sets a disruption the schema rejected is not checked (it would be
    reported as setting a disruption that does not exist).
    """
    path = child(tmp_path, "disruptions:\n"
                           "  strike: {hazard_per_year: 1, mean_duration_days: 10, source: t,\n"
                           "           set: {gate.reviewers: 1}}\n"
                           "variants:\n"
                           "  calm: {disruptions.strike.hazard_per_year: 0}\n")
    assert validate(capsys, path) == (2, f"{path}:3:3: disruptions.strike.label: required "
                                         "field is missing\n")


def test_other_schema_problems_still_come_first(base, tmp_path, capsys):
    """A rejected value outside the timeline, disruptions, variants and sweep stops the
    later checks: they need a valid scenario to apply the events to.
    """
    path = child(tmp_path, "gate: {reviewers: 0}\n"
                           "timeline:\n"
                           "  - {date: 2025-04-01, label: b, source: t, set: {gate.nope: 1}}\n")
    assert validate(capsys, path) == (2, f"{path}:2:8: gate.reviewers: input should be "
                                         "greater than 0 (got 0)\n")
