"""The fit and how well the data pin each parameter.

**Fit**: a derivative-free optimiser of :mod:`scipy.optimize` (Nelder-Mead, or Powell) on
coordinates scaled to [0, 1] within the bounds (log-scaled when ``hi / lo >= 4``); integers
are rounded, reals kept to 4 significant digits. ``budget`` caps the distinct parameter
vectors simulated; the best one seen is the fit.

**Uncertainty**, two ways, both from the loss slices through the fit (one parameter moved at
a time, the others held at the fit; where a slice finds a lower loss the fit moves there and
the slices are redone, once):

- ``slice_interval95``: the values whose slice loss stays below ``L* exp(3.84 / n)`` (a
  likelihood-ratio 95% interval if the log errors are Gaussian with unknown variance, n
  observations), with the others held fixed. Read off the slices; no linearisation.
- ``interval95``: the linearised joint interval. The log errors' slope in each parameter
  (least squares over the slice points near the fit) forms the Jacobian J; the covariance is
  ``s^2 (J'J)^-1`` with ``s^2`` = sum of squared log errors / (n - p); the interval is the fit
  ± 1.96 standard errors. Unlike the slice it lets the other parameters move, so it widens
  where parameters trade off (``correlation`` says which).

Both treat the observations as independent, which they are not (WORLD contains the regions,
months follow each other), so both are optimistic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simulator.calib_objective import Objective, residuals
from simulator.calib_params import Param

CHI2_95 = 3.841  # 95% quantile of chi-square with 1 degree of freedom
Z_95 = 1.96
SLICE_WIDTH = 0.25  # a slice spans ± this much of the scaled range
NEAR = 0.1  # slice points within this much of the scaled range give the slope
Progress = Callable[[str, int, int, float], None]  # (stage, done, total, best loss)


class _Spent(Exception):
    """The evaluation budget is used up."""


def _simplex(params: Sequence[Param], x0: np.ndarray) -> np.ndarray:
    """Initial Nelder-Mead simplex: a step of >= 0.1 per coordinate that changes the value
    (so an integer parameter never starts on a plateau).
    """
    points = [x0]
    for j, p in enumerate(params):
        u = x0.copy()
        for step in np.arange(0.1, 1.0, 0.05):
            u[j] = x0[j] + step if x0[j] + step <= 1.0 else x0[j] - step
            if p.value(u[j]) != p.value(x0[j]):
                break
        points.append(u)
    return np.array(points)


def fit(obj: Objective, method: str = "nelder-mead", budget: int = 60,
        progress: Progress | None = None) -> tuple[list[float], dict[str, Any]]:
    """Minimise ``obj`` from the parameters' starting values within their bounds.

    Args:
        budget: most distinct parameter vectors simulated (repeats are free).

    Returns:
        The best values found and what the optimiser reported.
    """
    from scipy.optimize import minimize

    params = obj.params
    x0 = np.array([p.coord(p.before) for p in params])
    start = [p.before for p in params]
    best = {"loss": obj(start), "values": start}
    tried = {tuple(start)}  # counted by the fit's own path, so a resumed fit is the same

    def f(u: np.ndarray) -> float:
        values = [p.value(x) for p, x in zip(params, u, strict=True)]
        if tuple(values) not in tried:
            if len(tried) >= budget:
                raise _Spent
            tried.add(tuple(values))
        value = obj(values)
        if value < best["loss"]:
            best.update(loss=value, values=values)
        if progress:
            progress("fit", len(tried), budget, best["loss"])
        return value

    box = [(0.0, 1.0)] * len(params)
    try:
        if method == "powell":
            res = minimize(f, x0, method="Powell", bounds=box,
                           options={"maxfev": 20 * budget, "xtol": 1e-3, "ftol": 1e-6})
        else:
            res = minimize(f, x0, method="Nelder-Mead", bounds=box, options={
                "maxfev": 20 * budget, "initial_simplex": _simplex(params, x0),
                "xatol": 1e-3, "fatol": 1e-6})
        info = {"converged": bool(res.success), "message": str(res.message)}
    except _Spent:
        info = {"converged": False, "message": f"budget of {budget} evaluations used up"}
    info.update(method={"powell": "Powell"}.get(method, "Nelder-Mead"), budget=budget,
                evaluations=len(tried))
    return list(best["values"]), info


# ----------------------------------------------------------------------------- slices
def _grid(p: Param, at: float, points: int) -> list[float]:
    """``points`` values on each side of ``at``, at ``SLICE_WIDTH * (k / points)^2`` of the
    scaled range (dense near the fit), within the bounds; integers at least 2 steps each way.
    """
    u = p.coord(at)
    offsets = SLICE_WIDTH * (np.arange(1, points + 1) / points) ** 2
    grid = {p.value(x) for x in np.clip(np.concatenate([u - offsets, u + offsets]), 0, 1)}
    if p.integer:
        grid |= {v for v in at + np.arange(-2.0, 3.0) if p.lo <= v <= p.hi}
    return sorted(grid | {at})


def slices(obj: Objective, values: Sequence[float], points: int = 5,
           progress: Progress | None = None) -> pd.DataFrame:
    """Loss along each parameter through ``values`` (the others held there).

    Returns:
        Columns param, value, loss.
    """
    grids = [_grid(p, values[j], points) for j, p in enumerate(obj.params)]
    total, rows = sum(map(len, grids)), []
    for j, (p, grid) in enumerate(zip(obj.params, grids, strict=True)):
        for v in grid:
            at = list(values)
            at[j] = v
            rows.append({"param": p.name, "value": v, "loss": obj(at)})
            if progress:
                progress("slices", len(rows), total, min(r["loss"] for r in rows))
    return pd.DataFrame(rows)


def refine(obj: Objective, after: list[float], points: int, progress: Progress | None,
           rounds: int = 1) -> tuple[list[float], pd.DataFrame, int]:
    """Slices through the fit; where a slice finds a lower loss, move there and slice again
    (at most ``rounds`` times: each round costs a full set of slices, and under Monte Carlo
    noise there is nearly always a slightly lower point). Returns the values, the last
    slices and the moves made.
    """
    names = [p.name for p in obj.params]
    if not points:
        return after, pd.DataFrame({"param": names, "value": after, "loss": obj(after)}), 0
    for move in range(rounds + 1):
        sl = slices(obj, after, points, progress=progress)
        low = sl.loc[sl.loss.idxmin()]
        if low.loss >= obj(after) or move == rounds:
            return after, sl, move
        after = list(after)
        after[names.index(low.param)] = float(low.value)
    raise AssertionError("unreachable")


# ----------------------------------------------------------------------------- intervals
def threshold(loss_after: float, n: int) -> float:
    """Slice loss at the edge of the slice 95% interval: ``L* exp(3.84 / n)``."""
    return loss_after * math.exp(CHI2_95 / n)


def _judge(half: float, kinds: Sequence[str]) -> str:
    if kinds.count("data") == 2:
        return "well" if half <= 0.1 else "moderately" if half <= 0.3 else "loosely"
    return "one-sided" if "data" in kinds else "not pinned"


def slice_interval(p: Param, sl: pd.DataFrame, best: float, threshold: float
                   ) -> dict[str, Any]:
    """Values around ``best`` whose slice loss stays <= ``threshold`` and what limits each
    side: ``data`` (the loss crosses the threshold), ``bound`` (the parameter's bound) or
    ``range`` (the slice ends first: open). The crossing is interpolated linearly in
    ``sqrt(loss - loss at best)``, which is exact when the loss is quadratic around ``best``.
    """
    v, loss_ = sl.value.to_numpy(), sl.loss.to_numpy()
    i = int(np.flatnonzero(v == best)[0])
    ends: list[float] = []
    kinds: list[str] = []
    for step, edge in ((-1, p.lo), (1, p.hi)):
        j = i
        while 0 <= j + step < len(v) and loss_[j + step] <= threshold:
            j += step
        k = j + step
        if 0 <= k < len(v):
            a, b, c = (math.sqrt(max(x - loss_[i], 0.0)) for x in (loss_[j], loss_[k], threshold))
            cross = v[j] if p.integer else v[j] + (c - a) / (b - a) * (v[k] - v[j])
            ends.append(float(cross))
            kinds.append("data")
        else:
            ends.append(float(v[j]))
            kinds.append("bound" if v[j] == edge else "range")
    half = (ends[1] - ends[0]) / 2 / abs(best) if best else math.inf
    return {"slice_interval95": ends, "slice_limited_by": kinds,
            "slice_pinned": _judge(half, kinds)}


def _slope(obj: Objective, p: Param, j: int, after: Sequence[float], grid: Sequence[float]
           ) -> np.ndarray:
    """d(log errors)/d(value of ``p``): least squares over the slice points near the fit."""
    u = p.coord(after[j])
    near = [v for v in grid if abs(p.coord(v) - u) <= NEAR + 1e-12]
    if p.integer:
        near = [v for v in grid if abs(v - after[j]) <= max(2.0, abs(after[j]) * 0.05)] or near
    xs, rs = [], []
    for v in near:
        at = list(after)
        at[j] = v
        df = obj.frame(at)
        if df is not None:
            xs.append(v)
            rs.append(residuals(obj.obs, df))
    if len(set(xs)) < 2:
        return np.zeros(len(obj.obs))
    x = np.array(xs) - np.mean(xs)
    r = np.array(rs) - np.mean(rs, axis=0)
    return (x @ r) / (x @ x)


def linearised(obj: Objective, after: Sequence[float], sl: pd.DataFrame) -> dict[str, Any]:
    """Covariance ``s^2 (J'J)^-1`` of the fitted values (see the module docstring) from the
    slice points already simulated. ``None`` entries where ``J'J`` is singular.
    """
    params, n = obj.params, len(obj.obs)
    jac = np.column_stack([_slope(obj, p, j, after, sl[sl.param == p.name].value.tolist())
                           for j, p in enumerate(params)])
    r = residuals(obj.obs, obj.at(after))
    dof = n - len(params)
    s2 = float(r @ r / dof) if dof > 0 else math.nan
    jtj = jac.T @ jac
    ok = dof > 0 and np.all(np.diag(jtj) > 0) and np.linalg.cond(jtj) < 1e12
    cov = s2 * np.linalg.inv(jtj) if ok else None
    corr = None if cov is None else cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    return {"jacobian": jac, "s2": s2, "dof": dof, "cov": cov, "corr": corr}


def joint_interval(p: Param, j: int, best: float, lin: dict[str, Any]) -> dict[str, Any]:
    """``interval95`` of parameter ``j``: the fit ± 1.96 linearised standard errors, clipped
    to the bounds, and how well that pins it (half width relative to the value: <= 10%
    well, <= 30% moderately, else loosely; ``not pinned`` if it spans the bounds).
    """
    cov = lin["cov"]
    if cov is None or not math.isfinite(cov[j, j]):
        return {"interval95": [p.lo, p.hi], "std_error": None, "limited_by": ["bound"] * 2,
                "relative_half_width": None, "pinned": "not pinned"}
    se = math.sqrt(cov[j, j])
    lo, hi = best - Z_95 * se, best + Z_95 * se
    if p.integer:
        lo, hi = math.floor(lo), math.ceil(hi)
    kinds = ["bound" if lo <= p.lo else "data", "bound" if hi >= p.hi else "data"]
    half = Z_95 * se / abs(best) if best else math.inf
    return {"interval95": [max(lo, p.lo), min(hi, p.hi)], "std_error": se,
            "limited_by": kinds, "relative_half_width": half, "pinned": _judge(half, kinds)}
