"""The calibration loss: observed exports, the model's monthly exports and their distance.

**Loss**: mean over the observations used of ``(ln(model_t + 1) - ln(observed_t + 1))^2``,
``model_t`` being the mean over replications of China's dispatched tonnes in that month to
that destination (``WORLD`` = every region). Every evaluation runs the same replications with
the same seed (common random numbers), so the loss moves only with the parameters; the
horizon is cut after the last month used (the model is causal, so those months are unchanged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulator import metrics
from simulator.calib_params import Param, apply, fail
from simulator.ensemble import Workers, batched_records, month_index
from simulator.observed import MONTH as MONTH  # calibrate_cli checks --months with it
from simulator.observed import load_observed
from simulator.plan import Plan, compile_plan
from simulator.schema import Scenario
from simulator.yamlsrc import InputError

LOG_OFFSET_T = 1.0  # tonnes added before the log, so a month of zero exports is finite
PENALTY = 1e3  # loss of a parameter vector the schema rejects
LOSS = ("mean over the observations used of (ln(model_t + 1) - ln(observed_t + 1))^2; "
        "model_t = mean over replications of China's dispatched tonnes in the month to the "
        "destination (WORLD = all regions), same seed and replications at every evaluation")


# ----------------------------------------------------------------------------- observed data
def observations(sc: Scenario, params: Sequence[Param], data: str | None,
                 months: tuple[str, str] | None = None,
                 destinations: Sequence[str] | None = None) -> pd.DataFrame:
    """Observed rows the loss uses: month, destination, observed_t (WORLD first, then the
    scenario's regions; months in order). By default the months from the one the earliest
    parameter takes effect to the end of the horizon, for every destination the model has.
    """
    ref = data if data is not None else sc.observed_exports
    if ref is None:
        raise fail("--data", "", "the scenario names no observed_exports; give --data CSV")
    obs = load_observed(str(ref))  # checked row by row: errors name file and line
    known = ["WORLD", *sc.gate.regions]
    dests = list(destinations) if destinations else known
    bad = [d for d in dests if d not in known]
    if bad:
        raise fail("--destinations", bad[0], f"not a region of the scenario ({', '.join(known)})")
    first = min(p.since for p in params).strftime("%Y-%m")
    lo, hi = months or (first, sc.horizon.end.strftime("%Y-%m"))
    last = min(hi, sc.horizon.end.strftime("%Y-%m"))
    late = [p for p in params if p.since.strftime("%Y-%m") > last]
    if late:
        raise fail("--params", late[0].name, f"takes effect on {late[0].since}, after the "
                   f"last month used ({last})")
    sel = obs[(obs.month >= lo) & (obs.month <= last) & obs.destination.isin(dests)
              & obs.observed_t.notna()]
    if sel.empty:
        raise fail("--data", "", f"{ref}: no observed exports for {', '.join(dests)} in "
                   f"{lo}..{last}")
    sel = sel.drop_duplicates(["month", "destination"], keep="last")
    rank = sel.destination.map({d: i for i, d in enumerate(known)})
    return (sel.assign(_rank=rank).sort_values(["_rank", "month"])
            [["month", "destination", "observed_t"]].reset_index(drop=True))


def truncated(sc: Scenario, last_month: str) -> Scenario:
    """``sc`` simulated only to the end of ``last_month`` (later events dropped)."""
    end = pd.Period(last_month, "M").end_time.date()
    if end >= sc.horizon.end:
        return sc
    doc = sc.model_dump(mode="python")
    doc["horizon"]["end"] = end
    doc["timeline"] = [e for e in doc["timeline"] if e["date"] <= end]
    return Scenario.model_validate(doc)


# ----------------------------------------------------------------------------- the model
def _block(plan: Plan, start: int, stop: int, seed: int) -> np.ndarray:
    """Dispatched tonnes per [replication, month, region] for replications start..stop-1."""
    midx, labels = month_index(plan)
    return np.stack([metrics.monthly_dispatched(rec, midx, len(labels))
                     for rec in batched_records(plan, range(start, stop), seed)])


class Runner:
    """Runs replications 0..n-1 of a plan in-process, on a process pool or on Dask.

    Unlike a single :func:`simulator.ensemble.execute`, its :class:`Workers` live for the
    whole calibration, which evaluates the model a hundred times or more, and only monthly
    dispatch is computed.
    """

    def __init__(self, workers: int, backend: str = "local", scheduler: str | None = None
                 ) -> None:
        self.workers, self.backend = max(1, workers), backend
        self.session = Workers(self.workers, backend, scheduler)

    def monthly(self, plan: Plan, n: int, seed: int) -> np.ndarray:
        """[replication, month, region] dispatched tonnes, in replication order."""
        if not self.session.parallel or n == 1:
            return _block(plan, 0, n, seed)
        edges = np.linspace(0, n, min(n, self.workers) + 1).astype(int)
        spans = list(zip(edges[:-1], edges[1:], strict=True))
        if self.backend == "dask":
            client = self.session.dask()
            plan_f = client.scatter(plan, broadcast=True)
            futs = [client.submit(_block, plan_f, a, b, seed, pure=False) for a, b in spans]
        else:
            pool = self.session.processes()
            futs = [pool.submit(_block, plan, a, b, seed) for a, b in spans]
        return np.concatenate([f.result() for f in futs])

    def close(self, abort: bool = False) -> None:
        """Stop the workers (at once if ``abort``, e.g. after Ctrl-C)."""
        self.session.close(abort)


# ----------------------------------------------------------------------------- the loss
def modelled(obs: pd.DataFrame, df: pd.DataFrame) -> np.ndarray:
    """Modelled tonnes at each observation's month and destination."""
    return np.array([df.at[m, d] for m, d in zip(obs.month, obs.destination, strict=True)])


def residuals(obs: pd.DataFrame, df: pd.DataFrame) -> np.ndarray:
    """Log errors ``ln(model_t + 1) - ln(observed_t + 1)``, one per observation."""
    return (np.log(modelled(obs, df) + LOG_OFFSET_T)
            - np.log(obs.observed_t.to_numpy(dtype=float) + LOG_OFFSET_T))


def loss(obs: pd.DataFrame, df: pd.DataFrame) -> float:
    """Mean squared log error (see the module docstring) of ``df`` against ``obs``."""
    return float(np.mean(residuals(obs, df) ** 2))


def mape(obs: pd.DataFrame, df: pd.DataFrame) -> float:
    """Mean absolute percentage error (%) of ``df`` against ``obs`` (over the observations
    above zero, where a percentage is defined).
    """
    o = obs.observed_t.to_numpy(dtype=float)
    pos = o > 0
    return float(100.0 * np.mean(np.abs(modelled(obs, df)[pos] - o[pos]) / o[pos]))


Key = tuple[float, ...]
Frame = pd.DataFrame | None  # modelled t per month (rows) and destination; None: invalid


@dataclass
class Objective:
    """The loss of parameter values, cached; every evaluation uses the same seed and
    replications (common random numbers). ``on_new`` is told of every new evaluation
    (the calibration saves it, so an interrupted calibration loses none).
    """

    scenario: Scenario  # already cut to the last month used
    params: list[Param]
    obs: pd.DataFrame
    seed: int
    replications: int
    runner: Runner
    cache: dict[Key, Frame] = field(default_factory=dict)
    on_new: Callable[[Key, Frame], None] | None = None

    def model(self, values: Sequence[float]) -> Frame:
        """Mean dispatched tonnes per month (rows) and destination (columns, + WORLD)."""
        try:
            sc = apply(self.scenario, self.params, values)
        except InputError:
            return None
        plan = compile_plan(sc)
        monthly = self.runner.monthly(plan, self.replications, self.seed).mean(0)
        _, labels = month_index(plan)
        df = pd.DataFrame(monthly, index=labels, columns=plan.regions)
        df["WORLD"] = monthly.sum(1)
        return df

    def frame(self, values: Sequence[float]) -> Frame:
        """The modelled frame at ``values``, simulated once."""
        key = tuple(float(v) for v in values)
        if key not in self.cache:
            self.cache[key] = self.model(key)
            if self.on_new is not None:
                self.on_new(key, self.cache[key])
        return self.cache[key]

    def __call__(self, values: Sequence[float]) -> float:
        """Loss at ``values`` (a value per parameter, as the scenario stores them)."""
        df = self.frame(values)
        return PENALTY if df is None else loss(self.obs, df)

    def at(self, values: Sequence[float]) -> pd.DataFrame:
        """The modelled frame at valid ``values``."""
        df = self.frame(values)
        assert df is not None, "the starting or fitted values must be valid"
        return df
