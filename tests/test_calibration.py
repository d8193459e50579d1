"""``magsim calibrate``: recovery of known parameters, the uncertainty against an analytic
case, outputs, the overlay, interrupt and resume, bad input.

The scenario is conftest's TINY (176 days, two buyers, ~30 ms a replication) with licensing
from 3 Feb 2025 and reviews short enough that the statutory cap never binds. Synthetic
"observed" exports come from the model at known parameter values with another seed and more
replications than the fit uses, so the fit sees Monte Carlo noise, as it would with data.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import CONTROLS, TINY

import simulator
from simulator import compile_plan, load_scenario, metrics, simulate
from simulator.calibration import Runner, resolve_params, truncated
from simulator.cli import main
from simulator.ensemble import month_index

COVERED = "2025-02-03:gate.regions.*.covered_share.civil"
APPROVAL = "timeline.0.set.gate.regions.*.approval_prob.civil"
TRUTH = {COVERED: 0.6, APPROVAL: 0.4}
START = {COVERED: 0.75, APPROVAL: 0.3}  # what the scenario file says: 25% off the truth
FIT_SEED, FIT_REPS, BUDGET, POINTS = 11, 6, 30, 3


def _doc(values: dict[str, float]) -> dict:
    doc = copy.deepcopy(TINY)
    doc["gate"]["review_working_days"] = {"dist": "lognormal", "mean": 8.0, "cv": 0.3,
                                          "min": 3.0}
    event = copy.deepcopy(CONTROLS)
    event["set"]["gate.regions.*.covered_share.civil"] = values[COVERED]
    event["set"]["gate.regions.*.approval_prob.civil"] = values[APPROVAL]
    doc["timeline"] = [event]
    return doc


def _exports(sc: simulator.Scenario, seed: int, reps: int) -> pd.DataFrame:
    """Mean dispatched t per month and destination (WORLD = all regions): month,
    destination, tonnes.
    """
    plan = compile_plan(sc)
    midx, labels = month_index(plan)
    m = np.mean([metrics.monthly_dispatched(simulate(plan, k, seed), midx, len(labels))
                 for k in range(reps)], axis=0)
    df = pd.DataFrame(m, index=labels, columns=plan.regions)
    df["WORLD"] = m.sum(1)
    return df.rename_axis("month").reset_index().melt("month", var_name="destination",
                                                      value_name="tonnes")


def _loss(sc: simulator.Scenario, obs: pd.DataFrame) -> float:
    """The stated loss, computed here from scratch: mean (ln(m + 1) - ln(o + 1))^2."""
    model = _exports(sc, FIT_SEED, FIT_REPS).set_index(["month", "destination"]).tonnes
    m = model.loc[list(zip(obs.month, obs.destination, strict=True))].to_numpy()
    return float(np.mean((np.log(m + 1) - np.log(obs.tonnes.to_numpy() + 1)) ** 2))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """(scenario file starting at START, observed.csv made by the model at TRUTH)."""
    d = tmp_path_factory.mktemp("cal")
    _exports(load_scenario(_doc(TRUTH)), seed=99, reps=40).to_csv(d / "observed.csv",
                                                                 index=False)
    (d / "scenarios").mkdir()
    path = d / "scenarios" / "tiny.yaml"
    path.write_text(yaml.safe_dump(_doc(START), sort_keys=False))
    return path, d / "observed.csv"


@pytest.fixture(scope="module")
def fitted(synthetic):
    """One calibration through the CLI: (its directory, the scenario file, the data)."""
    path, data = synthetic
    out = path.parents[1] / "runs" / "cal"
    status = main(["calibrate", str(path), "--data", str(data), "--params",
                   f"{COVERED},{APPROVAL}", "--replications", str(FIT_REPS), "--seed",
                   str(FIT_SEED), "--workers", "1", "--budget", str(BUDGET),
                   "--profile-points", str(POINTS), "-o", str(out)])
    assert status == 0
    return out, path, pd.read_csv(data)


def _summary(fitted) -> dict:
    return json.loads((fitted[0] / "calibration.json").read_text())


def test_recovers_known_parameters_within_10_percent(fitted):
    params = {p["name"]: p for p in _summary(fitted)["params"]}
    for name, truth in TRUTH.items():
        p = params[name]
        print(f"\n{name}: start {p['before']}, fitted {p['after']}, truth {truth} "
              f"({p['after'] / truth - 1:+.1%}), 95% interval {p['interval95']}")
        assert p["before"] == START[name]
        assert p["after"] == pytest.approx(truth, rel=0.10)


def test_fit_is_at_least_as_good_as_the_truth_under_the_same_random_numbers(fitted):
    s = _summary(fitted)
    obs = pd.DataFrame(s["errors"]).rename(columns={"observed_t": "tonnes"})
    assert s["loss_after"] <= _loss(load_scenario(_doc(TRUTH)), obs) + 1e-12


def test_loss_and_mape_fall_and_calibration_json_is_consistent(fitted):
    s = _summary(fitted)
    assert s["loss_after"] <= s["loss_before"]
    assert s["mape_after"] < s["mape_before"]
    errors = pd.DataFrame(s["errors"])
    # controls from 3 Feb: February to June, for EU, US and WORLD
    assert s["months"] == ["2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    assert s["destinations"] == ["WORLD", "US", "EU"]
    assert len(errors) == s["observations"] == 15
    assert np.mean(errors.log_error_after ** 2) == pytest.approx(s["loss_after"])
    assert np.mean(np.abs(errors.error_before_pct)) == pytest.approx(s["mape_before"])
    assert s["seed"] == FIT_SEED and s["replications"] == FIT_REPS
    assert "ln(model_t + 1) - ln(observed_t + 1)" in s["loss_definition"]
    for p in s["params"]:
        lo, hi = p["interval95"]
        assert lo <= p["after"] <= hi
        lo, hi = p["slice_interval95"]
        assert lo <= p["after"] <= hi
        sl = pd.DataFrame(s["uncertainty"]["slices"][p["name"]])
        assert sl.loss.min() == pytest.approx(s["loss_after"])  # the fit is the slice minimum
        assert p["pinned"] in ("well", "moderately")  # both shape the Feb-Jun flows
        assert p["in_force"] == ["2025-02-03", None]
    corr = np.array(s["uncertainty"]["correlation"])
    assert corr.shape == (2, 2) and np.allclose(np.diag(corr), 1)
    assert (fitted[0] / "figures" / "calibration.png").stat().st_size > 10_000
    assert (fitted[0] / "figures" / "profiles.png").stat().st_size > 10_000
    assert not fitted[0].with_name("cal.partial").exists()
    lines = (fitted[0] / "evaluations.jsonl").read_text().splitlines()
    assert len(lines) == s["optimizer"]["simulations"]


def test_calibrated_yaml_extends_the_input_validates_and_reproduces_the_fit(fitted, capsys):
    out, source, _ = fitted
    s = _summary(fitted)
    overlay = yaml.safe_load((out / "calibrated.yaml").read_text())
    assert (out / overlay["extends"]).resolve() == source.resolve()
    assert "calibration.json" in (out / "calibrated.yaml").read_text().split("\n")[1]
    assert main(["validate", str(out / "calibrated.yaml")]) == 0
    sc = load_scenario(out / "calibrated.yaml")
    after = {p["name"]: p["after"] for p in s["params"]}
    assert sc.timeline[0].set["gate.regions.*.covered_share.civil"] == after[COVERED]
    assert sc.timeline[0].set["gate.regions.*.approval_prob.civil"] == after[APPROVAL]
    assert sc.name == "tiny_calibrated" and "calibration.json" in sc.description
    obs = pd.DataFrame(s["errors"]).rename(columns={"observed_t": "tonnes"})
    assert _loss(sc, obs) == pytest.approx(s["loss_after"], rel=1e-9)


@pytest.mark.parametrize(("param", "message"), [
    ("gate.reviewerz", "no field 'reviewerz' in gate; did you mean 'reviewers'?"),
    ("timeline.7.set.gate.reviewers", "no item '7' in timeline (it is a list of 1)"),
    ("2025-02-03:gate.reviewers", "timeline.0 (2025-02-03) does not set 'gate.reviewers'"),
    ("2025-02-04:gate.reviewers", "no timeline event on 2025-02-04"),
    ("2025-02-03:gate.regions.*.regime.civil", "not a number (got 'licensing')"),
    ("gate.regions.*.approval_prob", "not a number"),
])
def test_bad_params_exit_2_with_one_located_line_and_nothing_written(
        param, message, tmp_path, capsys):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(_doc(START), sort_keys=False))
    out = tmp_path / "out"
    status = main(["calibrate", str(path), "--data", "unused.csv", "--params", param,
                   "-o", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.splitlines() == [f"--params: {param}: {message}"] or (
        len(err.splitlines()) == 1 and err.startswith(f"--params: {param}: ")
        and message in err), err
    assert not out.exists() and not out.with_name("out.partial").exists()


@pytest.mark.parametrize(("flags", "line"), [
    (["--bounds", f"{COVERED}=0.8:0.2"], f"--bounds: {COVERED}: expected LO < HI"),
    (["--bounds", f"{COVERED}=0:2"], f"--bounds: {COVERED}: the schema allows 0 to 1"),
    (["--bounds", "gate.shipment_t=1:3"], "--bounds: gate.shipment_t: not one of --params"),
    (["--start", f"{COVERED}=abc"], f"--start: {COVERED}: expected a number"),
    (["--months", "2025-13"], "--months: expected FROM:TO as YYYY-MM:YYYY-MM"),
    (["--months", "2025-05:2025-03"], "--months: expected FROM:TO as YYYY-MM:YYYY-MM"),
    (["--months", "2025-04:2025-06"], "--data: "),  # no observation in those months
    (["--months", "2024-01:2024-06"],
     f"--params: {COVERED}: takes effect on 2025-02-03, after the last month used (2024-06)"),
    (["--params", "gate.shipment_t", "--bounds", "gate.shipment_t=0.5:1"],
     "--bounds: gate.shipment_t: starting value 2 is outside the bounds 0.5:1"),
    (["--params", f"{COVERED},{COVERED}"], f"--params: {COVERED}: given twice"),
    (["--profile-points", "-1"], "error: magsim calibrate: argument --profile-points: must"),
    (["--destinations", "CN"], "--destinations: CN: not a region of the scenario"),
])
def test_bad_flags_exit_2_and_nothing_written(flags, line, tmp_path, capsys):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(_doc(START), sort_keys=False))
    (tmp_path / "obs.csv").write_text("month,destination,tonnes\n2025-03,US,10\n")
    out = tmp_path / "out"
    params = [] if "--params" in flags else ["--params", COVERED]
    status = main(["calibrate", str(path), "--data", str(tmp_path / "obs.csv"), *params,
                   "-o", str(out), *flags])
    err = capsys.readouterr().err
    assert status == 2 and len(err.splitlines()) == 1 and err.startswith(line), err
    assert not out.exists() and not out.with_name("out.partial").exists()


def test_integer_parameter_is_fitted_and_written_as_an_integer(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(_doc(START), sort_keys=False))
    data = tmp_path / "obs.csv"
    data.write_text("month,destination,tonnes\n2025-02,WORLD,40\n2025-03,WORLD,45\n")
    (p,) = resolve_params(load_scenario(path), ["gate.reviewers"])
    assert p.integer and (p.lo, p.hi) == (1, 12)  # schema: > 0; default: start / 4 .. x 4
    assert {p.value(u) for u in np.linspace(0, 1, 50)} == set(map(float, range(1, 13)))
    cal = simulator.calibrate(path, ["gate.reviewers"], data=data, out=tmp_path / "o",
                              replications=2, workers=1, budget=4, profile_points=1)
    assert isinstance(cal.calibrated.gate.reviewers, int)
    assert load_scenario(tmp_path / "o" / "calibrated.yaml").gate.reviewers == (
        cal.calibrated.gate.reviewers)
    (entry,) = json.loads((tmp_path / "o" / "calibration.json").read_text())["params"]
    assert isinstance(entry["after"], int) and entry["bounds"] == [1, 12]
    assert entry["paths"] == ["gate.reviewers"] and entry["events"] == []


def test_cutting_the_horizon_leaves_the_months_before_unchanged():
    sc = load_scenario(_doc(START))
    full, short = _exports(sc, 5, 3), _exports(truncated(sc, "2025-03"), 5, 3)
    assert truncated(sc, "2025-03").horizon.end.isoformat() == "2025-03-31"
    before = full[full.month <= "2025-03"].reset_index(drop=True)
    pd.testing.assert_frame_equal(before, short)


def test_parallel_evaluation_equals_serial():
    plan = compile_plan(load_scenario(_doc(START)))
    pool = Runner(2)
    try:
        parallel = pool.monthly(plan, 5, FIT_SEED)
    finally:
        pool.close()
    np.testing.assert_array_equal(parallel, Runner(1).monthly(plan, 5, FIT_SEED))


@pytest.mark.parametrize(("csv", "line"), [
    (None, "{f}: no such file"),
    ("month,destination\n2025-03,US\n",
     "{f}:1:1: expected columns month, destination, tonnes (missing tonnes)"),
    ("month,destination,tonnes\n2025-03,US,10\n2025-3,US,12\n",
     "{f}:3:1: month: expected YYYY-MM (got '2025-3')"),
    ("month,destination,tonnes\n2025-03,US,10\n2025-04,US,ten\n",
     "{f}:3:1: tonnes: expected a number >= 0 (got 'ten')"),
    ("month,destination,tonnes\n2025-03,US,-5\n", "{f}:2:1: tonnes: expected a number >= 0"),
])
def test_bad_data_exits_2_naming_file_line_and_column(csv, line, tmp_path, capsys):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(_doc(START), sort_keys=False))
    data = tmp_path / "obs.csv"
    if csv is not None:
        data.write_text(csv)
    status = main(["calibrate", str(path), "--data", str(data), "--params", COVERED,
                   "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(line.format(f=data)), err
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def _cheap(out, synthetic, *extra):
    path, data = synthetic
    return ["calibrate", str(path), "--data", str(data), "--params", f"{COVERED},{APPROVAL}",
            "--replications", "2", "--workers", "1", "--budget", "8", "--profile-points", "1",
            "-o", str(out), *extra]


def _same(a, b) -> dict:
    s, t = (json.loads((d / "calibration.json").read_text()) for d in (a, b))
    for x in (s, t):
        x.pop("seconds")
        x["optimizer"].pop("resumed_simulations")
    assert s == t
    return s


def test_ctrl_c_keeps_the_evaluations_and_resume_gives_the_same_calibration(
        synthetic, tmp_path, monkeypatch, capsys):
    from simulator import calibrate_cli

    assert main(_cheap(tmp_path / "whole", synthetic)) == 0
    calls = []

    def interrupt(self, stage, done, total, best):
        calls.append(stage)
        if len(calls) == 5:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(calibrate_cli._Bar, "__call__", interrupt)
        assert main(_cheap(tmp_path / "cut", synthetic)) == 130
    err = capsys.readouterr().err
    assert "evaluations are kept in" in err and err.rstrip().endswith("--resume"), err
    kept = (tmp_path / "cut.partial" / "evaluations.jsonl").read_text().splitlines()
    assert len(kept) >= 4 and not (tmp_path / "cut").exists()
    with open(tmp_path / "cut.partial" / "evaluations.jsonl", "a") as fh:
        fh.write('{"values": [0.7')  # a line cut short by a kill is ignored
    assert main(_cheap(tmp_path / "cut", synthetic, "--resume")) == 0
    s = _same(tmp_path / "whole", tmp_path / "cut")
    resumed = json.loads((tmp_path / "cut" / "calibration.json").read_text())
    assert resumed["optimizer"]["resumed_simulations"] == len(kept)
    assert len(s["params"]) == 2 and not (tmp_path / "cut.partial").exists()


def test_resume_refuses_a_partial_directory_of_another_calibration(synthetic, tmp_path,
                                                                    capsys):
    work = tmp_path / "out.partial"
    work.mkdir()
    (work / "calibration.run.json").write_text(json.dumps({"scenario_hash": "x"}))
    assert main(_cheap(tmp_path / "out", synthetic, "--resume")) == 2
    err = capsys.readouterr().err
    assert "holds a different calibration" in err and len(err.splitlines()) == 1


# ----------------------------------------------------------------------------- analytic case
def _linear_objective(n_months: int = 8):
    """An Objective whose log errors are exactly linear in two parameters x, y:
    r = e + c (x - 1.2) + d (y - 0.7), so least squares has a closed form.
    """
    from simulator.calib_objective import Objective
    from simulator.calib_params import Param, Target

    rng = np.random.default_rng(3)
    months = [f"2025-{m:02d}" for m in range(1, n_months + 1)]
    obs = pd.DataFrame([(m, d) for d in ("A", "B") for m in months],
                       columns=["month", "destination"])
    obs["observed_t"] = rng.uniform(50, 500, len(obs))
    c, d, e = rng.normal(0, 1, len(obs)), rng.normal(0, 1, len(obs)), rng.normal(0, .05,
                                                                                 len(obs))
    day = pd.Timestamp("2025-01-01").date()
    params = [Param(n, (Target(n, None, n),), 1.0, 0.2, 2.0, False, day) for n in "xy"]

    class Linear(Objective):
        def model(self, values):
            r = e + c * (values[0] - 1.2) + d * (values[1] - 0.7)
            t = np.exp(np.log(obs.observed_t + 1) + r) - 1
            return pd.DataFrame({"month": obs.month, "destination": obs.destination, "t": t}
                                ).pivot(index="month", columns="destination", values="t")

    return Linear(None, params, obs, 0, 1, None), np.column_stack([c, d]), e


def test_fit_and_intervals_match_least_squares_when_log_errors_are_linear():
    from simulator.calib_fit import fit, joint_interval, linearised, refine, slice_interval
    from simulator.calib_fit import threshold as edge

    obj, jac, e = _linear_objective()
    n, p = jac.shape
    # least squares: r = e + J (theta - theta0)  ->  theta* = theta0 - (J'J)^-1 J'e
    best = np.array([1.2, 0.7]) - np.linalg.solve(jac.T @ jac, jac.T @ e)
    after, _ = fit(obj, budget=120)
    after, sl, _ = refine(obj, after, points=5, progress=None)
    assert after == pytest.approx(best, abs=2e-3)
    lin = linearised(obj, after, sl)
    r = e + jac @ (np.array(after) - [1.2, 0.7])
    cov = (r @ r) / (n - p) * np.linalg.inv(jac.T @ jac)
    np.testing.assert_allclose(lin["cov"], cov, rtol=1e-6)
    loss_after = float(np.mean(r ** 2))
    for j, q in enumerate(obj.params):
        iv = joint_interval(q, j, after[j], lin)
        assert iv["interval95"] == pytest.approx(
            [after[j] - 1.96 * np.sqrt(cov[j, j]), after[j] + 1.96 * np.sqrt(cov[j, j])])
        # slice: loss(after + h e_j) = L* + h^2 (J'J)_jj / n  crosses L* exp(3.841 / n) at
        half = np.sqrt(n * (edge(loss_after, n) - loss_after) / (jac.T @ jac)[j, j])
        lo, hi = slice_interval(q, sl[sl.param == q.name], after[j],
                                edge(loss_after, n))["slice_interval95"]
        assert (hi - lo) / 2 == pytest.approx(half, rel=0.05)
