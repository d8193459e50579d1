"""``--set`` into mappings whose keys are dot paths: a timeline event's or a disruption's
``set``, a variant, the sweep.

After the mapping comes one of its keys as written (the longest that is a prefix of the rest
of the path), then optionally a path into its value. A key the mapping lacks is an error
that lists its keys, never a silent addition.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from conftest import TINY

from simulator import load_scenario
from simulator.cli import main
from simulator.paths import longest_key
from simulator.plan import compile_plan
from simulator.scenarios import scenario_hash
from simulator.yamlsrc import InputError

ROOT = Path(__file__).parent.parent
REPLAY = ROOT / "scenarios" / "replay_2025.yaml"
LIBRARY = ROOT / "scenarios" / "policies" / "library.yaml"
GENEVA = 3  # the replay's 2025-05-12 event: gate.reviewers 300, gate.review_working_days


@pytest.fixture(scope="module")
def replay():
    return load_scenario(REPLAY)


def dumped_timeline(sc) -> list[dict]:
    return sc.model_dump(mode="python")["timeline"]


def failure(source, sets) -> str:
    with pytest.raises(InputError) as err:
        load_scenario(source, sets)
    return str(err.value)


def tiny_with(tmp_path: Path, **extra) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**copy.deepcopy(TINY), **extra}, sort_keys=False))
    return path


def strike(reviewers: int) -> dict:
    return {"hazard_per_year": 1.0, "mean_duration_days": 10, "label": "strike",
            "source": "test", "set": {"gate.reviewers": reviewers, "gate.shipment_t": 1.0}}


# ----------------------------------------------------------------------- timeline events
def test_an_event_key_is_set_and_nothing_else_changes(replay):
    sc = load_scenario(REPLAY, [f"timeline.{GENEVA}.set.gate.reviewers=500"])
    before, after = dumped_timeline(replay), dumped_timeline(sc)
    assert before[GENEVA]["set"]["gate.reviewers"] == 300
    assert after[GENEVA]["set"] == {**before[GENEVA]["set"], "gate.reviewers": 500}
    assert after[:GENEVA] + after[GENEVA + 1:] == before[:GENEVA] + before[GENEVA + 1:]
    assert scenario_hash(sc) != scenario_hash(replay)


def test_the_compiled_phase_from_that_date_has_the_new_value(replay):
    sc = load_scenario(REPLAY, {f"timeline.{GENEVA}.set.gate.reviewers": 500})
    start = replay.horizon.start
    day, june = ((replay.timeline[i].date - start).days for i in (GENEVA, GENEVA + 3))
    assert replay.timeline[GENEVA + 3].set["gate.reviewers"] == 900  # 12 Jun sets it anew
    old, new = compile_plan(replay).phases, compile_plan(sc).phases
    assert [p.day for p in new] == [p.day for p in old]
    assert {p.gate.reviewers for p in old if day <= p.day < june} == {300}
    assert {p.gate.reviewers for p in new if day <= p.day < june} == {500}
    assert [p.gate.reviewers for p in new if not day <= p.day < june] == [
        p.gate.reviewers for p in old if not day <= p.day < june]


def test_a_path_into_a_mapping_valued_key(replay):
    sc = load_scenario(REPLAY, [f"timeline.{GENEVA}.set.gate.review_working_days.mean=22.5"])
    before = dumped_timeline(replay)[GENEVA]["set"]["gate.review_working_days"]
    after = dumped_timeline(sc)[GENEVA]["set"]["gate.review_working_days"]
    assert before["mean"] == 15.0
    assert after == {**before, "mean": 22.5}  # dist, cv and min stay


def test_the_longest_matching_key_is_the_one_set(tmp_path):
    event = {"date": "2025-02-03", "label": "e", "source": "test",
             "set": {"gate.regions.US.covered_share": {"civil": 0.5},
                     "gate.regions.US.covered_share.civil": 0.7}}
    path = tiny_with(tmp_path, timeline=[event])
    sc = load_scenario(path, ["timeline.0.set.gate.regions.US.covered_share.civil=0.9"])
    assert sc.timeline[0].set == {"gate.regions.US.covered_share": {"civil": 0.5},
                                  "gate.regions.US.covered_share.civil": 0.9}
    sc = load_scenario(path, ["timeline.0.set.gate.regions.US.covered_share={civil: 0.2}"])
    assert sc.timeline[0].set["gate.regions.US.covered_share"] == {"civil": 0.2}


def test_longest_key_needs_a_dot_boundary():
    keys = ["gate.review", "gate.review_working_days", "gate"]
    assert longest_key(keys, "gate.review_working_days.mean") == "gate.review_working_days"
    assert longest_key(keys, "gate.reviewers") == "gate"
    assert longest_key(keys, "gray_channel.leak_share") is None


# ----------------------------------------------------------------------- errors
EVENT = f"timeline.{GENEVA}.set"
ERRORS = {
    "unknown key": (f"{EVENT}.gate.reviewerz=500", f"{EVENT}.gate.reviewerz: no key "
                    f"'gate.reviewerz' in {EVENT}; its keys: gate.reviewers, "
                    "gate.review_working_days"),
    "past a scalar": (f"{EVENT}.gate.reviewers.mean=5", f"{EVENT}.gate.reviewers.mean: "
                      f"{EVENT}.gate.reviewers has no fields (it is a number, 300)"),
    "unknown field in a value": (
        f"{EVENT}.gate.review_working_days.meen=5", f"{EVENT}.gate.review_working_days.meen: "
        f"no field 'meen' in {EVENT}.gate.review_working_days; did you mean 'mean'?"),
    "an event that sets nothing": (  # the replay's last event, 2026-11-10
        "timeline.17.set.gate.reviewers=5",
        "timeline.17.set.gate.reviewers: no key 'gate.reviewers' in timeline.17.set; it has none"),
    "wildcard over events": (  # every match must have the key, as for any other '*'
        "timeline.*.set.gate.reviewers=500", "timeline.*.set.gate.reviewers: no key "
        "'gate.reviewers' in timeline.0.set; its keys: gate.max_review_working_days"),
    "invalid value": (f"{EVENT}.gate.reviewers=-5",  # blamed on the override
                      f"{EVENT}.gate.reviewers: input should be greater than 0 (got -5)"),
}


@pytest.mark.parametrize("item, message", ERRORS.values(), ids=ERRORS)
def test_a_bad_override_is_one_line_naming_it(item, message):
    assert failure(REPLAY, [item]) == f"--set: {message}"


def test_the_cli_prints_one_line_and_exits_2(capsys):
    status = main(["validate", str(REPLAY), "--set", "timeline.3.set.gate.reviewerz=500"])
    assert (status, capsys.readouterr().err) == (
        2, "--set: timeline.3.set.gate.reviewerz: no key 'gate.reviewerz' in timeline.3.set; "
           "its keys: gate.reviewers, gate.review_working_days\n")


# ----------------------------------------------------------------------- other mappings
def test_a_variant_key():
    base = load_scenario(LIBRARY)
    key = "stockpiles.buffer_us_auto.stock_t"
    sc = load_scenario(LIBRARY, [f"variants.cover_30d.{key}=300"])
    assert base.variants["cover_30d"][key] == 293.4
    assert sc.variants["cover_30d"] == {**base.variants["cover_30d"], key: 300}
    assert {n: v for n, v in sc.variants.items() if n != "cover_30d"} == {
        n: v for n, v in base.variants.items() if n != "cover_30d"}
    text = failure(LIBRARY, ["variants.cover_30d.stockpiles.buffer_us_autoo.stock_t=300"])
    assert "no key 'stockpiles.buffer_us_autoo.stock_t' in variants.cover_30d; its keys: " \
           f"{key}, " in text


def test_a_sweep_key_and_an_item_of_its_values(tmp_path):
    path = tiny_with(tmp_path, sweep={"gate.reviewers": [3, 5], "gate.shipment_t": [1.0]})
    sc = load_scenario(path, ["sweep.gate.reviewers=[4, 6]"])
    assert sc.sweep == {"gate.reviewers": [4, 6], "gate.shipment_t": [1.0]}
    sc = load_scenario(path, ["sweep.gate.reviewers.1=7"])
    assert sc.sweep["gate.reviewers"] == [3, 7]
    assert failure(path, ["sweep.gate.reviewerz=[1]"]) == (
        "--set: sweep.gate.reviewerz: no key 'gate.reviewerz' in sweep; its keys: "
        "gate.reviewers, gate.shipment_t")


def test_a_disruption_key_and_a_wildcard_over_disruptions(tmp_path):
    path = tiny_with(tmp_path, disruptions={"a": strike(1), "b": strike(2)})
    sc = load_scenario(path, ["disruptions.a.set.gate.reviewers=4"])
    assert sc.disruptions["a"].set == {"gate.reviewers": 4, "gate.shipment_t": 1.0}
    assert sc.disruptions["b"].set == strike(2)["set"]
    sc = load_scenario(path, ["disruptions.*.set.gate.reviewers=6"])
    assert [d.set["gate.reviewers"] for d in sc.disruptions.values()] == [6, 6]
    assert failure(path, ["disruptions.a.set.gate.x=1"]).endswith(
        "no key 'gate.x' in disruptions.a.set; its keys: gate.reviewers, gate.shipment_t")
