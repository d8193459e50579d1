"""load_comparison: a comparison directory read back gives the in-memory Comparison's numbers.

Small scenarios from conftest (two buyers, 176 days) under licensing controls, compared
in-process; the whole module runs in a few seconds.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import CONTROLS, scenario
from matplotlib.collections import PathCollection

import simulator
from simulator import load_comparison, run, scenario_hash
from simulator.comparison import compare, compare_variants, sweep
from simulator.variants import variants_of

COSTS = {"shortage_usd_per_unit": {"automotive": 5000.0, "wind": 100000.0}}
VARIANTS = {"cover_70": {"buyers.us_auto.policy.target_days": 70},
            # CONTROLS sets this field too: held against the timeline unless hold=False
            "low_cover": {"gate.regions.US.covered_share.civil": 0.3}}
N = 12


def _scenario(**extra):
    return scenario({"variants": VARIANTS, "costs": COSTS, **extra}, timeline=[CONTROLS])


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A comparison in memory and the same one read back from its directory."""
    out = tmp_path_factory.mktemp("cmp") / "c"
    comp = compare(_scenario(), replications=N, workers=1, out=out, figures=False)
    return comp, load_comparison(out)


def _copy(comp, tmp_path):
    return shutil.copytree(comp.directory, tmp_path / "copy")


def test_public_name_is_exported_lazily():
    assert "load_comparison" in simulator.__all__ and "load_comparison" in dir(simulator)
    assert simulator.load_comparison is load_comparison


def test_arms_hold_the_same_variants_arrays_and_scenarios(pair):
    comp, back = pair
    assert back.variants == comp.variants == ["base", "cover_70", "low_cover"]
    assert back.directory == comp.directory
    assert back.manifest == json.loads(json.dumps(comp.manifest, default=str))
    for mine, read in zip(comp.arms, back.arms, strict=True):
        assert read.variant == mine.variant
        assert [(e.level, e.name) for e in read.entities] == [
            (e.level, e.name) for e in mine.entities]
        np.testing.assert_array_equal(read.shortage, mine.shortage)  # NaNs in place too
        np.testing.assert_array_equal(read.gate, mine.gate)
        assert scenario_hash(read.scenario) == scenario_hash(mine.scenario)
    assert np.isnan(comp.arms[0].shortage).any()  # undefined values are part of the check


@pytest.mark.parametrize(("metric", "level", "entity"), [
    ("unmet_t", "total", "total"), ("cost_usd", "total", "total"),
    ("unmet_t", "buyer", "us_auto"), ("lost_units", "sector", "automotive"),
    ("days_to_first_stockout", "region", "US"), ("fill_rate", "buyer", "eu_wind")])
@pytest.mark.parametrize("against", [None, "cover_70"])
def test_paired_differences_equal_the_in_memory_ones(pair, metric, level, entity, against):
    comp, back = pair
    expected = comp.paired(metric, level, entity, against)
    pd.testing.assert_frame_equal(back.paired(metric, level, entity, against), expected)


def test_paired_differences_vary_over_replications(pair):
    """The equality above catches replications misaligned between variants on reading (the
    pairs broken) only if the per-replication differences vary; they do."""
    comp, _ = pair
    for level, entity in (("total", "total"), ("buyer", "us_auto")):
        row = comp.paired("unmet_t", level, entity).set_index("variant").loc["cover_70"]
        assert row.diff_ci95_high - row.diff_ci95_low > 0.1


def test_table_summary_and_frontier_equal_the_in_memory_ones(pair):
    comp, back = pair
    pd.testing.assert_frame_equal(back.table, comp.table)
    pd.testing.assert_frame_equal(back.summary, comp.summary)  # gate rows included
    pd.testing.assert_frame_equal(back.frontier, comp.frontier)
    gate = back.summary[back.summary.level == "gate"]
    assert len(gate) == 3 * len(simulator.metrics.GATE_METRICS)
    assert gate["mean"].notna().all()


def test_frontier_figure_draws_the_loaded_points(pair):
    import matplotlib.pyplot as plt

    _, back = pair
    fig = back.plot_frontier()
    points = next(c for c in fig.axes[0].collections if isinstance(c, PathCollection))
    f = back.frontier
    np.testing.assert_allclose(points.get_offsets(),
                               np.column_stack([f.cost_usd_mean / 1e6, f.unmet_t_cvar95]))
    plt.close(fig)


def test_a_sweep_reads_back_with_its_grid_points(tmp_path):
    sc = scenario({"sweep": {"buyers.us_auto.policy.target_days": [40, 70]}},
                  timeline=[CONTROLS])
    comp = sweep(sc, replications=5, workers=1, out=tmp_path / "s", figures=False)
    back = load_comparison(tmp_path / "s")
    assert [a.variant for a in back.arms] == [a.variant for a in comp.arms]
    assert back.variants == ["buyers.us_auto.policy.target_days=40",
                             "buyers.us_auto.policy.target_days=70"]
    assert back.arms[1].variant.section == "sweep"
    pd.testing.assert_frame_equal(back.table, comp.table)


def test_hold_is_saved_and_rebuilds_the_variant_that_was_run(pair, tmp_path):
    held, _ = pair
    sc = _scenario()
    loose = compare_variants(sc, variants_of(sc, ["base", "low_cover"]), N, workers=1,
                             out=tmp_path / "loose", figures=False, hold=False)
    back = load_comparison(tmp_path / "loose")
    assert back.manifest["hold"] is False and held.manifest["hold"] is True
    mine, read = loose.arms[1].scenario, back.arms[1].scenario
    assert scenario_hash(read) == scenario_hash(mine)
    assert scenario_hash(read) != scenario_hash(held.arms[2].scenario)  # hold matters here
    pd.testing.assert_frame_equal(back.table, loose.table)
    # the wrong hold rebuilds another scenario than the one run: refused, not approximated
    path = tmp_path / "loose" / "manifest.json"
    path.write_text(json.dumps({**back.manifest, "hold": True}))
    with pytest.raises(ValueError, match="variant 'low_cover' does not rebuild to the "
                                         "scenario that was run"):
        load_comparison(tmp_path / "loose")


# ------------------------------------------------------------------ errors
def test_an_empty_directory_is_not_a_comparison(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"{tmp_path}: not a magsim comparison directory (no manifest.json)")):
        load_comparison(tmp_path)


def test_a_run_directory_is_not_a_comparison(tmp_path):
    run(scenario(), replications=2, workers=1, out=tmp_path / "r", figures=False)
    with pytest.raises(ValueError, match=re.escape(
            f"{tmp_path / 'r'}: not a magsim comparison directory (manifest.json lists no "
            "variants; a run directory is read with simulator.load_run)")):
        load_comparison(tmp_path / "r")


@pytest.mark.parametrize("name", ["replications.parquet", "gate_replications.parquet"])
def test_a_missing_file_is_named_with_the_directory(pair, tmp_path, name):
    d = _copy(pair[0], tmp_path)
    (d / name).unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"{d}: incomplete comparison directory (no {name})")):
        load_comparison(d)


def test_a_comparison_without_hold_was_written_by_an_older_version(pair, tmp_path):
    d = _copy(pair[0], tmp_path)
    manifest = json.loads((d / "manifest.json").read_text())
    del manifest["hold"]
    (d / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=re.escape(
            f"{d}: written by an older magsim (manifest.json has no 'hold')")):
        load_comparison(d)


def test_missing_replications_rows_are_refused(pair, tmp_path):
    d = _copy(pair[0], tmp_path)
    reps = pd.read_parquet(d / "replications.parquet")
    drop = (reps.variant == "cover_70") & (reps.replication == 3)
    reps[~drop].to_parquet(d / "replications.parquet", index=False)
    with pytest.raises(ValueError, match=re.escape(
            f"{d / 'replications.parquet'}: variant 'cover_70' does not hold one value per "
            f"replication ({N}), entity")):
        load_comparison(d)
