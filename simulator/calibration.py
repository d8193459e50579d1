"""Fit scenario parameters to observed monthly exports: ``magsim calibrate`` (DESIGN §5-6).

The pieces, in the order a calibration uses them:

- :mod:`simulator.calib_params`: naming the numbers to fit (``gate.reviewers``,
  ``2025-05-12:gate.reviewers``, ``A+B`` tied), their bounds and the dates they are in force;
- :mod:`simulator.calib_objective`: the observations used and the loss, the mean squared
  log error of modelled vs observed monthly exports, under common random numbers;
- :mod:`simulator.calib_fit`: the derivative-free fit (scipy.optimize) and how well the data
  pin each parameter (loss slices and a linearised joint interval);
- :mod:`simulator.calib_report` and :mod:`simulator.calib_plots`: calibration.json,
  calibrated.yaml (an overlay that ``extends`` the input scenario) and the figures.

docs/calibration.md explains the method and shows the fit of the 2025 replay.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from simulator.calib_fit import (
    Progress,
    fit,
    joint_interval,
    linearised,
    refine,
    slice_interval,
    threshold,
)
from simulator.calib_objective import Objective, Runner, loss, mape, observations, truncated
from simulator.calib_params import Param, apply, fail, resolve_params
from simulator.calib_report import Calibration, WorkDir
from simulator.scenarios import load_scenario, parse_sets, scenario_hash, with_overrides
from simulator.schema import Scenario

__all__ = ["Calibration", "Interrupted", "Param", "Runner", "calibrate", "default_dir",
           "resolve_params", "truncated"]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a calibration: its evaluations so far are kept in ``<out>.partial``."""

    def __init__(self, out: Path, evaluations: int) -> None:
        super().__init__(f"{evaluations} evaluations kept in {out}.partial")
        self.out, self.evaluations = out, evaluations


def default_dir(sc: Scenario, identity: Mapping[str, Any]) -> Path:
    """``runs/<scenario>-calibrate-<hash>``; the hash covers scenario, data and settings."""
    text = json.dumps({"scenario": scenario_hash(sc), **identity}, sort_keys=True, default=str)
    return Path("runs") / f"{sc.name}-calibrate-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _scenario(scenario: str | Path | Mapping[str, Any] | Scenario,
              sets: Mapping[str, Any] | Iterable[str] | None) -> Scenario:
    if not isinstance(scenario, Scenario):
        return load_scenario(scenario, sets)
    if not sets:
        return scenario
    return with_overrides(scenario, sets if isinstance(sets, Mapping) else parse_sets(sets),
                          "--set")


def _named(sc: Scenario, params: Sequence[Param], after: Sequence[float], data: str
           ) -> Scenario:
    """The calibrated scenario, renamed, its description citing the calibration."""
    note = (f"Calibrated by `magsim calibrate` to {data}: {len(params)} parameter(s) fitted, "
            "values and intervals in calibration.json.")
    return apply(sc, params, after).model_copy(update={
        "name": f"{sc.name}_calibrated"[:100],
        "description": f"{sc.description} {note}".strip()})


def _solve(obj: Objective, method: str, budget: int, points: int,
           progress: Progress | None) -> dict[str, Any]:
    """Fit, refine along the slices, and the uncertainty of each parameter."""
    after, info = fit(obj, method, budget, progress)
    after, sl, info["slice_moves"] = refine(obj, after, points, progress)
    before = [p.before for p in obj.params]
    out = {"after": after, "slices": sl, "info": info, "loss_before": obj(before),
           "loss_after": obj(after), "before_t": obj.at(before), "after_t": obj.at(after)}
    info["slice_min_loss"] = float(sl.loss.min())  # below loss_after: a slice found lower
    if not points:
        out["intervals"] = [{"interval95": [a, a], "slice_interval95": [a, a],
                             "pinned": "not assessed"} for a in after]
        out["correlation"] = None
        return out
    lin = linearised(obj, after, sl)
    out["intervals"] = [{**joint_interval(p, j, a, lin),
                         **slice_interval(p, sl[sl.param == p.name], a,
                                         threshold(out["loss_after"], len(obj.obs)))}
                        for j, (p, a) in enumerate(zip(obj.params, after, strict=True))]
    out["correlation"] = lin["corr"]
    return out


def _holdout(obj: Objective, after: Sequence[float]) -> dict[str, Any]:
    """Loss and MAPE before and after under other random numbers (seed + 1): an improvement
    that vanishes there was fitted to the Monte Carlo noise of the calibration's seed.
    """
    other = Objective(obj.scenario, obj.params, obj.obs, obj.seed + 1, obj.replications,
                      obj.runner)
    before_t, after_t = other.at([p.before for p in obj.params]), other.at(after)
    return {"seed": other.seed, "replications": other.replications,
            "loss_before": loss(obj.obs, before_t), "loss_after": loss(obj.obs, after_t),
            "mape_before": mape(obj.obs, before_t), "mape_after": mape(obj.obs, after_t)}


def calibrate(scenario: str | Path | Mapping[str, Any] | Scenario, params: Sequence[str],
              data: str | Path | None = None, out: str | Path | None = None,
              replications: int | None = None, seed: int | None = None,
              workers: int | None = None, budget: int = 60,
              bounds: Mapping[str, tuple[float, float]] | None = None,
              start: Mapping[str, float] | None = None,
              sets: Mapping[str, Any] | Iterable[str] | None = None,
              months: tuple[str, str] | None = None, destinations: Sequence[str] | None = None,
              method: str = "nelder-mead", profile_points: int = 5, figures: bool = True,
              progress: Progress | None = None, backend: str = "local",
              scheduler: str | None = None, resume: bool = False) -> Calibration:
    """Fit ``params`` of a scenario to observed monthly exports (docs/calibration.md).

    Args:
        scenario: a YAML path (calibrated.yaml then ``extends`` it), a mapping or a Scenario.
        params: parameter names (``gate.reviewers``, ``timeline.3.set.KEY``,
            ``2025-05-12:KEY``, ``A+B`` tied).
        data: observed exports (CSV path or ``builtin:NAME``); default the scenario's.
        out: output directory (default ``runs/<name>-calibrate-<hash>``).
        replications, seed: the common random numbers of every evaluation (default: the
            scenario's).
        workers: processes (default: all cores); ``backend``/``scheduler`` as for run.
        budget: most parameter vectors the optimiser simulates.
        bounds, start: per parameter name, ``(lo, hi)`` and a starting value.
        sets: dot-path overrides applied first (kept in calibrated.yaml).
        months: ``(first, last)`` YYYY-MM of the observations used.
        destinations: destinations used (default: every region and WORLD observed).
        method: ``nelder-mead`` or ``powell``.
        profile_points: points on each side of the fit in each loss slice (0: no slices
            and no uncertainty).
        figures: write figures/calibration.png and figures/profiles.png.
        progress: called with (stage, done, total, best loss) as evaluations finish.
        resume: reuse the evaluations of an interrupted calibration in ``out``.
    """
    t0 = time.perf_counter()
    source = Path(scenario) if isinstance(scenario, str | Path) else None
    sc = _scenario(scenario, sets)
    if method not in ("nelder-mead", "powell"):
        raise fail("--method", "", f"expected nelder-mead or powell (got {method!r})")
    ps = resolve_params(sc, params, bounds, start)
    obs = observations(sc, ps, None if data is None else str(data), months, destinations)
    n, seed_ = replications or sc.replications, sc.seed if seed is None else seed
    short = truncated(sc, max(obs.month))
    settings = {"params": list(params), "data": str(data or sc.observed_exports),
                "seed": seed_, "replications": n, "months": list(obs.month),
                "dest": list(obs.destination), "budget": budget, "method": method,
                "bounds": bounds, "start": start}
    final = Path(out) if out is not None else default_dir(sc, settings)
    work = WorkDir(final, {"scenario_hash": scenario_hash(short), "params": list(params),
                           "seed": seed_, "replications": n}, resume)
    runner = Runner(min(workers or os.cpu_count() or 1, n), backend, scheduler)
    obj = Objective(short, ps, obs, seed_, n, runner, work.evaluations(), work.save)
    resumed = len(obj.cache)
    try:
        found = _solve(obj, method, budget, profile_points, progress)
        found["holdout"] = _holdout(obj, found["after"])
    except KeyboardInterrupt:
        runner.close(abort=True)
        raise Interrupted(final, len(obj.cache)) from None
    except BaseException:
        runner.close(abort=True)
        raise
    runner.close()
    found["info"].update(simulations=len(obj.cache), resumed_simulations=resumed)
    calibrated = _named(sc, ps, found["after"], settings["data"])
    cal = Calibration(sc, calibrated, ps, found["after"], obs, found["before_t"],
                      found["after_t"], found["loss_before"], found["loss_after"],
                      found["slices"], found["intervals"], found["correlation"],
                      found["holdout"])
    cal.info = {"source": str(source) if source else "<mapping>",
                "data": str(data or sc.observed_exports), "seed": seed_, "replications": n,
                "simulated_until": str(short.horizon.end), "optimizer": found["info"],
                "seconds": round(time.perf_counter() - t0, 1)}
    cal.directory = work.publish(cal, source, figures)
    return cal
