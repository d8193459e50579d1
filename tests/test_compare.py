"""Policy comparison: common random numbers, metamorphic checks, comparison.csv, the CLI.

Small scenarios from conftest (176 days, two buyers, ~25 ms a replication); every
comparison runs in-process (workers=1) except the worker-count check.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import CONTROLS, TINY, scenario
from scipy import stats

from simulator import compile_plan, load_scenario, metrics
from simulator.comparison import compare, compare_variants, sweep
from simulator.ensemble import Chunk, run_chunk
from simulator.scenarios import with_overrides
from simulator.variants import held_events, sweep_variants, variants_of
from simulator.yamlsrc import InputError

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ["variant", "metric", "mean", "diff_vs_first", "diff_ci95_low", "diff_ci95_high"]
REQUIRED = ["unmet_t", "fill_rate", "stockout_days", "cost_usd", "holding_cost_usd",
            "shortage_cost_usd", "premium_usd", "lost_units.automotive"]
COSTS = {"shortage_usd_per_unit": {"automotive": 5000.0, "wind": 100000.0}}
EMBARGO_US = {"date": "2025-02-03", "label": "embargo", "source": "test",
              "set": {"gate.regions.US.regime.civil": "embargo"}}


def _quiet(**kw):
    return {"workers": 1, "figures": False, **kw}


@pytest.fixture(scope="module")
def crn_pair(tmp_path_factory):
    """us_auto at 40 vs 70 days of cover under licensing, compared with CRN (figures on)."""
    sc = scenario({"variants": {"cover_70": {"buyers.us_auto.policy.target_days": 70}},
                   "costs": COSTS}, timeline=[CONTROLS])
    out = tmp_path_factory.mktemp("cmp") / "pair"
    return sc, compare(sc, replications=40, workers=1, out=out)


# ------------------------------------------------------------------ (a) CRN shrinks variance
def test_common_random_numbers_shrink_the_variance_of_paired_differences(crn_pair):
    sc, comp = crn_pair
    base, more = (a.values("unmet_t") for a in comp.arms)
    # the same second variant with independent streams: another root seed
    plan = compile_plan(comp.arms[1].scenario)
    total = len(metrics.entities(plan)) - 1
    col = metrics.ALL_METRICS.index("unmet_t")
    indep = run_chunk(plan, Chunk(0, 40), sc.seed + 1000, 0).shortage[:, total, col]
    var_crn = np.var(more - base, ddof=1)
    var_ind = np.var(indep - base, ddof=1)
    print(f"\nvariance of the paired difference in total unmet t (40 replications): "
          f"CRN {var_crn:.1f}, independent streams {var_ind:.1f}, ratio {var_ind / var_crn:.1f}")
    assert var_crn < var_ind / 4
    # the effect itself does not depend on the streams (same sign, similar size)
    assert (more - base).mean() < 0 and (indep - base).mean() < 0


def test_paired_against_another_variant_mirrors_the_reference_pairing(crn_pair):
    _, comp = crn_pair
    base, more = (a.values("unmet_t") for a in comp.arms)
    fwd = comp.paired("unmet_t").set_index("variant").loc["cover_70"]
    back = comp.paired("unmet_t", against="cover_70").set_index("variant")
    first = comp.variants[0]
    assert back.loc[first, "diff_vs_first"] == pytest.approx(-fwd["diff_vs_first"])
    assert back.loc[first, "diff_vs_first"] == pytest.approx((base - more).mean())
    assert back.loc[first, "diff_ci95_low"] == pytest.approx(-fwd["diff_ci95_high"])
    assert back.loc["cover_70", "diff_vs_first"] == 0.0
    with pytest.raises(KeyError, match="no variant 'nope'"):
        comp.paired("unmet_t", against="nope")


# ------------------------------------------------------------------ (b) no disruption
def test_without_a_disruption_no_variant_is_short_and_cost_is_holding(tmp_path):
    levels = {"lean": (60, 25.0), "mid": (90, 40.0), "deep": (150, 60.0)}
    variants = {name: {"buyers.us_auto.policy.target_days": days,
                       "buyers.eu_wind.policy.reorder_point_t": s,
                       "buyers.eu_wind.policy.order_up_to_t": s + 15.0}
                for name, (days, s) in levels.items()}
    sc = scenario({"variants": variants, "costs": COSTS})  # open gate, 1,000 t/day capacity
    comp = compare(sc, ["lean", "mid", "deep"], replications=20, out=tmp_path / "c", **_quiet())
    for arm in comp.arms:
        assert np.all(arm.values("unmet_t") == 0.0), arm.variant.name
        assert np.all(arm.values("shortage_cost_usd") == 0.0)
        np.testing.assert_allclose(arm.values("cost_usd"), arm.values("holding_cost_usd"))
    table = comp.table.set_index(["variant", "metric"])["mean"]
    cost = [table[(v, "cost_usd")] for v in comp.variants]
    holding = [table[(v, "holding_cost_usd")] for v in comp.variants]
    assert list(np.argsort(cost)) == list(np.argsort(holding)) == [0, 1, 2]


# ------------------------------------------------------------------ (c) metamorphic, CRN
def test_more_initial_stock_never_raises_unmet_under_embargo_per_replication(tmp_path):
    """A single-source buyer under an embargo: after it nothing arrives from China, so its
    unmet demand depends only on what it held and had ordered before; more initial stock
    means at least as much, on every day, in every replication."""
    stocks = [80.0, 90.0, 120.0, 200.0, 300.0]  # 80 t = the default (40 days x 2 t/day)
    variants = {f"stock_{s:g}": {"buyers.us_auto.initial_stock_t": s} for s in stocks}
    sc = scenario({"variants": variants}, timeline=[EMBARGO_US])
    comp = compare(sc, list(variants), replications=30, out=tmp_path / "c", **_quiet())
    unmet = np.array([a.values("unmet_t", "buyer", "us_auto") for a in comp.arms])
    assert np.all(np.diff(unmet, axis=0) <= 1e-9)
    assert np.all(unmet[-1] < unmet[0])


def test_more_initial_stock_lowers_unmet_in_expectation_under_licensing(tmp_path):
    """Under licensing, CRN cannot make this hold replication by replication: a buyer with
    more stock orders later and in other amounts, so its orders split into other shipments
    and the buyer's coverage, review and approval streams (consumed shipment by shipment)
    fall on different shipments. Checked on the paired mean instead."""
    variants = {f"stock_{s:g}": {"buyers.us_auto.initial_stock_t": s} for s in (80, 160, 250)}
    sc = scenario({"variants": variants}, timeline=[CONTROLS])
    comp = compare(sc, list(variants), replications=40, out=tmp_path / "c", **_quiet())
    unmet = [a.values("unmet_t", "buyer", "us_auto") for a in comp.arms]
    for lower, higher in zip(unmet, unmet[1:], strict=False):
        d = higher - lower
        half = 2.02 * d.std(ddof=1) / np.sqrt(len(d))  # t(0.975, 39)
        assert d.mean() + half < 0


def _review_ladder(sc, tmp_path, means):
    variants = {f"review_{m}": {"gate.review_working_days.mean": m} for m in means}
    sc = with_overrides(sc, {"variants": variants}, "test")
    return compare(sc, list(variants), replications=30, out=tmp_path / "c", **_quiet())


def test_longer_review_never_raises_fill_rate_per_replication_when_orders_are_fixed(tmp_path):
    """Per replication, given what makes CRN exact here: backorders (orders equal demand,
    whatever arrives), approval 1 (no denials, no re-filing), reviewers enough that nobody
    queues (reviews start at filing, in filing order, drawing the same standard normals, so
    each lognormal review is longer when the mean is), ample dispatch capacity and fixed
    transit (later decisions arrive later). Then cumulative arrivals are lower on every day,
    so every day's unmet demand is at least as large."""
    controls = {**CONTROLS, "set": {**CONTROLS["set"],
                                    "gate.regions.*.approval_prob.civil": 1.0}}
    sc = scenario({"buyers.us_auto.shortage": "backorder", "gate.reviewers": 1000,
                   "china.transit_days.US": {"dist": "fixed", "mean": 20}},
                  timeline=[controls])
    comp = _review_ladder(sc, tmp_path, [5, 10, 20, 40])
    fill = np.array([a.values("fill_rate") for a in comp.arms])
    assert np.all(np.diff(fill, axis=0) <= 1e-12)
    assert fill[-1].mean() < fill[0].mean() - 0.1


def test_longer_review_lowers_fill_rate_in_expectation_in_general(tmp_path):
    """In general only in expectation: with lost sales a buyer that runs short orders less,
    so shipments and the draws they consume differ; approvals are drawn in decision order,
    which longer reviews reshuffle across reviewers; capped applications skip their review
    draw; and transit is drawn per dispatch day, so a later dispatch can arrive sooner."""
    comp = _review_ladder(scenario(timeline=[CONTROLS]), tmp_path, [10, 30])
    row = comp.paired("fill_rate").iloc[1]
    assert row["diff_ci95_high"] < 0


# ------------------------------------------------------------------ (d) comparison.csv
def test_comparison_csv_columns_and_intervals(crn_pair):
    _, comp = crn_pair
    d = comp.directory
    for name in ("comparison.csv", "summary.csv", "replications.parquet", "manifest.json",
                 "report.md", "figures/frontier.png"):
        assert (d / name).is_file(), name
    assert not d.with_name(d.name + ".partial").exists()
    df = pd.read_csv(d / "comparison.csv")
    assert list(df.columns) == COLUMNS
    assert list(dict.fromkeys(df.variant)) == ["base", "cover_70"]
    assert set(REQUIRED) <= set(df.metric)
    first = df[df.variant == "base"]
    assert np.all(first[["diff_vs_first", "diff_ci95_low", "diff_ci95_high"]].fillna(0) == 0)
    cover = df[(df.variant == "cover_70")].set_index("metric")
    assert cover.loc["unmet_t", "diff_ci95_high"] < 0 < cover.loc["holding_cost_usd",
                                                                   "diff_ci95_low"]
    reps = pd.read_parquet(d / "replications.parquet")
    # every interval against scipy's paired t test on the per-replication values
    wide = reps.pivot_table(index=["level", "entity", "metric", "replication"],
                            columns="variant", values="value", dropna=False)
    checked = 0
    for label, row in cover.iterrows():
        metric, _, sector = label.partition(".")
        pair = wide.loc[("sector", sector, metric) if sector else ("total", "total", metric)]
        pair = pair.dropna()  # replications where either value is undefined are left out
        d_rep = (pair["cover_70"] - pair["base"]).to_numpy()
        # comparison.csv holds 9 significant digits
        assert row["diff_vs_first"] == pytest.approx(d_rep.mean(), rel=1e-8, abs=1e-9)
        if np.ptp(d_rep) == 0.0:  # no spread: an interval of width 0 (scipy gives NaN)
            low = high = d_rep.mean()
        else:
            ci = stats.ttest_rel(pair["cover_70"], pair["base"]).confidence_interval(0.95)
            low, high = ci.low, ci.high
            checked += 1
        assert (row["diff_ci95_low"], row["diff_ci95_high"]) == pytest.approx(
            (low, high), rel=1e-8, abs=1e-9), label
    assert checked >= 8
    per_rep = reps[(reps.level == "total") & (reps.metric == "unmet_t")]
    assert per_rep.groupby("variant").value.mean()["cover_70"] == pytest.approx(
        cover.loc["unmet_t", "mean"])
    assert "## Comparison" in (d / "report.md").read_text()


def test_same_comparison_with_one_or_two_workers(tmp_path):
    sc = scenario({"variants": {"v": {"gate.reviewers": 6}}}, timeline=[CONTROLS])
    one = compare(sc, replications=4, workers=1, out=tmp_path / "one", figures=False)
    two = compare(sc, replications=4, workers=2, out=tmp_path / "two", figures=False)
    for name in ("comparison.csv", "summary.csv"):
        assert (one.directory / name).read_bytes() == (two.directory / name).read_bytes()


def test_variants_share_one_process_pool(tmp_path, monkeypatch):
    """A comparison starts its workers once for all its variants, not once per variant."""
    import simulator.ensemble as ensemble

    started = []

    class Counted(ensemble.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            started.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(ensemble, "ProcessPoolExecutor", Counted)
    sc = scenario({"variants": {"v": {"gate.reviewers": 6}, "w": {"gate.reviewers": 9}}},
                  timeline=[CONTROLS])
    comp = compare(sc, replications=4, workers=2, out=tmp_path / "c", figures=False)
    assert len(comp.variants) == 3 and len(started) == 1


def test_interrupted_comparison_resumes_to_the_same_result(tmp_path):
    sc = scenario({"variants": {"v": {"gate.reviewers": 6}}}, timeline=[CONTROLS])
    whole = compare(sc, replications=6, out=tmp_path / "whole", **_quiet())

    def stop(done: int, total: int) -> None:
        if done >= 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compare(sc, replications=6, out=tmp_path / "cut", progress=stop, **_quiet())
    kept = list((tmp_path / "cut.partial").glob("variants/*/chunks/*.npz"))
    assert 2 <= len(kept) < 4  # chunks of 4 and 2 replications per variant at this size
    again = compare(sc, replications=6, out=tmp_path / "cut", resume=True, **_quiet())
    assert (again.directory / "comparison.csv").read_bytes() == (
        whole.directory / "comparison.csv").read_bytes()


# ------------------------------------------------------------------ variants and sweeps
def test_variant_order_reference_and_selection():
    sc = scenario({"variants": {"a": {"gate.reviewers": 5}, "b": {"gate.reviewers": 6}}})
    assert [v.name for v in variants_of(sc)] == ["base", "a", "b"]
    assert [v.name for v in variants_of(sc, ["b", "base"])] == ["b", "base"]
    own = scenario({"variants": {"status_quo": {}, "a": {"gate.reviewers": 5}}})
    assert [v.name for v in variants_of(own)] == ["status_quo", "a"]
    with pytest.raises(InputError, match="unknown variant"):
        variants_of(sc, ["a", "nope"])
    with pytest.raises(InputError, match="no variants"):
        variants_of(scenario())


def test_bad_variants_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(InputError, match="variants.x.gate.reviewerz: no field 'reviewerz'"):
        scenario({"variants": {"x": {"gate.reviewerz": 5}}})  # at load time already
    fixed = {"x": {"seed": 3}, "y": {"replications": 2}}
    with pytest.raises(InputError) as err:  # at load time, both in one round
        scenario({"variants": fixed})
    assert str(err.value).splitlines() == [
        f"<dict>: variants.{v}: cannot differ between variants (the comparison fixes it)"
        for v in ("x.seed", "y.replications")]
    sc = scenario().model_copy(update={"variants": fixed})  # built without the load checks
    with pytest.raises(InputError) as err:
        compare(sc, replications=2, out=tmp_path / "c", **_quiet())
    text = str(err.value)
    assert "variants.x: seed: cannot differ between variants" in text
    assert "variants.y: replications: cannot differ between variants" in text
    assert not (tmp_path / "c").exists() and not (tmp_path / "c.partial").exists()


def test_sweep_grid_names_order_and_outputs(tmp_path):
    sc = scenario({"sweep": {"gate.reviewers": [3, 20],
                             "china.export_capacity_t_per_day": [150, 0.5]}},
                  timeline=[CONTROLS])
    names = [v.name for v in sweep_variants(sc)]
    assert names == [
        "gate.reviewers=3,china.export_capacity_t_per_day=150",
        "gate.reviewers=3,china.export_capacity_t_per_day=0.5",
        "gate.reviewers=20,china.export_capacity_t_per_day=150",
        "gate.reviewers=20,china.export_capacity_t_per_day=0.5",
    ]
    comp = sweep(sc, replications=3, out=tmp_path / "s", **_quiet())
    df = pd.read_csv(comp.directory / "comparison.csv")
    assert list(dict.fromkeys(df.variant)) == names
    unmet = df[df.metric == "unmet_t"].set_index("variant")["mean"]
    assert unmet[names[1]] > unmet[names[0]]  # 0.5 t/day of dispatch starves the buyers


def test_variant_values_hold_against_timeline_events(tmp_path):
    """A dated event that sets a field the variant sets would undo the variant; the variant
    wins for the whole horizon (``hold``), and the report says so."""
    sc = scenario({"variants": {"slow": {"gate.reviewers": 1}}}, timeline=[
        CONTROLS, {"date": "2025-03-03", "label": "more reviewers", "source": "test",
                   "set": {"gate.reviewers": 50}}])
    assert held_events(with_overrides(sc, {"gate.reviewers": 1}, "t"), {"gate.reviewers": 1}
                       ) == [(1, ["gate.reviewers"])]
    held = compare(sc, replications=3, out=tmp_path / "held", **_quiet())
    loose = compare_variants(sc, variants_of(sc), 3, out=tmp_path / "loose", workers=1,
                             figures=False, hold=False)
    assert held.arms[1].scenario.timeline[1].set == {"gate.reviewers": 1}
    assert held.manifest["held"] == {"slow": ["2025-03-03 more reviewers: gate.reviewers"]}
    assert "more reviewers" in (held.directory / "report.md").read_text()
    h = held.paired("unmet_t").iloc[1]["diff_vs_first"]
    lo = loose.paired("unmet_t").iloc[1]["diff_vs_first"]
    assert h > lo  # one reviewer all along hurts more than one reviewer for a month


# ------------------------------------------------------------------ CLI
def _cli(argv: list[str]) -> int:
    from simulator.cli import Parser
    from simulator.compare_cli import COMMANDS, register

    root = Parser(prog="magsim")
    sub = root.add_subparsers(dest="verb", required=True, parser_class=Parser)
    assert register(sub) is COMMANDS
    args: argparse.Namespace = root.parse_args(argv)
    return COMMANDS[args.verb](args)


def test_cli_compare_prints_a_table_and_writes_the_directory(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(_yaml())
    code = _cli(["compare", str(path), "--variants", "base,slow", "--replications", "3",
                 "--workers", "1", "-o", str(tmp_path / "out")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "slow" in printed and "Δ" in printed and "outputs:" in printed
    assert (tmp_path / "out" / "comparison.csv").is_file()
    assert _cli(["sweep", str(path), "--replications", "2", "--workers", "1",
                 "-o", str(tmp_path / "sw")]) == 0


def test_cli_default_directory_and_refusals(tmp_path, monkeypatch):
    from simulator.cli import UsageError

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "s.yaml"
    path.write_text(_yaml())
    assert _cli(["compare", str(path), "--replications", "2", "--workers", "1"]) == 0
    made = list((tmp_path / "runs").iterdir())
    assert len(made) == 1 and made[0].name.startswith("tiny-compare-")
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("x")
    with pytest.raises(UsageError, match="not a magsim run directory"):
        _cli(["compare", str(path), "-o", str(tmp_path / "precious")])
    with pytest.raises(UsageError, match="daily-replications"):
        _cli(["sweep", str(path), "--daily-replications", "3"])


def _yaml() -> str:
    doc = {**TINY, "timeline": [CONTROLS], "variants": {"slow": {"gate.reviewers": 1}},
           "sweep": {"gate.reviewers": [2, 4]}}
    return yaml.safe_dump(doc)


# ------------------------------------------------------------------ scenario files
def test_policy_library_variants_validate():
    sc = load_scenario(REPO / "scenarios" / "policies" / "library.yaml")
    names = [v.name for v in variants_of(sc)]
    assert names[0] == "no_extra_stock"
    assert {"cover_30d", "cover_60d", "cover_90d", "cover_180d", "reserve_60d",
            "dual_source_30pct", "substitution"} <= set(names)
    for v in variants_of(sc):
        with_overrides(sc, v.sets, f"variants.{v.name}")
    assert sc.costs.magnet_usd_per_kg == 49.0
    assert set(sc.costs.shortage_usd_per_unit) == {"automotive", "wind", "defense"}
    assert sc.costs.source


def test_reescalation_keeps_the_replay_up_to_its_branch_point():
    """reescalation_2026.yaml repeats the replay's timeline and holidays (lists cannot be
    extended by `extends:`); they must not drift apart."""
    replay = load_scenario(REPO / "scenarios" / "replay_2025.yaml")
    branched = load_scenario(REPO / "scenarios" / "reescalation_2026.yaml")
    branch = pd.Timestamp("2026-11-10").date()
    before = [e for e in replay.timeline if e.date < branch]
    assert branched.timeline[:len(before)] == before
    assert set(replay.gate.holidays) <= set(branched.gate.holidays)
    assert branched.horizon.end.year == 2027
    after = [e for e in branched.timeline if e.date >= branch]
    assert after and all("assumption" in e.source for e in after)
    back = after[0].set  # the October package and September's scrutiny, as in the replay
    october = next(e.set for e in replay.timeline if str(e.date) == "2025-10-09")
    september = next(e.set for e in replay.timeline if str(e.date) == "2025-09-01")
    key = "gate.regions.*.covered_share.civil"
    assert back[key] == october[key]
    for key in ("gate.regions.*.approval_prob.civil", "gate.review_working_days"):
        assert back[key] == september[key], key
    assert back["gate.regions.*.regime.defense"] == "embargo"



def test_magsim_entry_point_runs_compare_and_refuses_a_stray_scheduler(tmp_path, capsys):
    from simulator.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(_yaml())
    out = tmp_path / "out"
    assert main(["compare", str(path), "--variants", "base,slow", "--replications", "2",
                 "--workers", "1", "-o", str(out)]) == 0
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["variant"]) == {"base", "slow"}
    capsys.readouterr()
    assert main(["compare", str(path), "--scheduler", "tcp://h:1", "-o",
                 str(tmp_path / "x")]) == 2
    assert "--scheduler needs --backend dask" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_frontier_from_summary_csv_matches_and_magsim_plot_redraws_it(crn_pair, capsys):
    from simulator.cli import main
    from simulator.comparison import frontier_of

    _, comp = crn_pair
    rebuilt = frontier_of(pd.read_csv(comp.directory / "summary.csv"),
                          pd.read_csv(comp.directory / "comparison.csv"))
    pd.testing.assert_frame_equal(rebuilt, comp.frontier, rtol=1e-6)
    png = comp.directory / "figures" / "frontier.png"
    png.unlink()
    assert main(["plot", str(comp.directory)]) == 0
    assert png.is_file() and str(png) in capsys.readouterr().out
