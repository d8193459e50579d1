"""What a calibration found and its outputs: calibration.json, calibrated.yaml, figures.

The output directory is built in ``<DIR>.partial/``: every simulated parameter vector is
appended to ``evaluations.jsonl`` as it finishes, so an interrupted calibration keeps them and
``resume`` replays them instead of simulating again (the fit is deterministic, so the result
is the same as an uninterrupted one). The outputs are written last and the directory renamed
into place.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from simulator import __version__, paths
from simulator.calib_fit import threshold
from simulator.calib_objective import LOG_OFFSET_T, LOSS, Frame, Key, mape, modelled
from simulator.calib_params import Param
from simulator.runner import ResumeError
from simulator.scenarios import load_scenario, scenario_hash
from simulator.schema import Scenario

EVALUATIONS = "evaluations.jsonl"
MARKER = "calibration.run.json"


@dataclass
class Calibration:
    """What :func:`simulator.calibrate` found; ``directory`` holds its outputs."""

    scenario: Scenario  # the input scenario (with --set overrides), full horizon
    calibrated: Scenario  # the same with the fitted values
    params: list[Param]
    after: list[float]
    obs: pd.DataFrame  # month, destination, observed_t (the observations used)
    before_t: pd.DataFrame  # modelled t per month (rows) and destination (columns)
    after_t: pd.DataFrame
    loss_before: float
    loss_after: float
    slices: pd.DataFrame  # param, value, loss
    intervals: list[dict[str, Any]]  # per parameter, see calib_fit
    correlation: np.ndarray | None
    holdout: dict[str, Any]  # loss and MAPE before and after with seed + 1
    info: dict[str, Any] = field(default_factory=dict)
    directory: Path | None = None

    @property
    def mape_before(self) -> float:
        """Mean absolute percentage error (%) at the starting values."""
        return mape(self.obs, self.before_t)

    @property
    def mape_after(self) -> float:
        """Mean absolute percentage error (%) at the fitted values."""
        return mape(self.obs, self.after_t)

    @property
    def threshold(self) -> float:
        """Slice loss below which a value is inside the slice 95% interval."""
        return threshold(self.loss_after, len(self.obs))

    def errors(self) -> pd.DataFrame:
        """One row per observation used: observed, before, after (t) and errors (%)."""
        df = self.obs.copy()
        df["before_t"] = modelled(self.obs, self.before_t)
        df["after_t"] = modelled(self.obs, self.after_t)
        for k in ("before", "after"):
            df[f"error_{k}_pct"] = 100.0 * (df[f"{k}_t"] / df.observed_t - 1.0)
            df[f"log_error_{k}"] = np.log(df[f"{k}_t"] + LOG_OFFSET_T) - np.log(
                df.observed_t + LOG_OFFSET_T)
        return df

    def _param(self, p: Param, a: float, iv: dict[str, Any]) -> dict[str, Any]:
        ev = [{"index": t.event, "date": str(self.scenario.timeline[t.event].date),
               "label": self.scenario.timeline[t.event].label}
              for t in p.targets if t.event is not None]
        return {"name": p.name, "paths": [t.path for t in p.targets], "events": ev,
                "in_force": [str(p.since), None if p.until is None else str(p.until)],
                "integer": p.integer, "bounds": [p.cast(p.lo), p.cast(p.hi)],
                "scale": "log" if p.log else "linear", "before": p.cast(p.before),
                "after": p.cast(a), **iv}

    def summary(self) -> dict[str, Any]:
        """The contents of calibration.json."""
        names = [p.name for p in self.params]
        slices = {n: self.slices[self.slices.param == n][["value", "loss"]].to_dict("records")
                  for n in names}
        corr = None if self.correlation is None else np.round(self.correlation, 4).tolist()
        return {
            "scenario": self.info["source"], "scenario_name": self.scenario.name,
            "scenario_hash": scenario_hash(self.scenario),
            "calibrated_hash": scenario_hash(self.calibrated),
            "data": self.info["data"], "seed": self.info["seed"],
            "replications": self.info["replications"],
            "simulated_until": self.info["simulated_until"],
            "loss_definition": LOSS, "log_offset_t": LOG_OFFSET_T,
            "months": sorted(set(self.obs.month)),
            "destinations": list(dict.fromkeys(self.obs.destination)),
            "observations": len(self.obs),
            "params": [self._param(p, a, iv)
                       for p, a, iv in zip(self.params, self.after, self.intervals, strict=True)],
            "loss_before": self.loss_before, "loss_after": self.loss_after,
            "mape_before": self.mape_before, "mape_after": self.mape_after,
            "holdout": self.holdout,
            "errors": self.errors().to_dict("records"),
            "uncertainty": {
                "interval95": "linearised: fit ± 1.96 standard errors, covariance "
                              "s^2 (J'J)^-1 of the log errors, the other parameters free",
                "slice_interval95": "loss slice through the fit, the other parameters held "
                                    "at the fit: values with slice loss <= threshold",
                "threshold": self.threshold, "correlation": corr, "order": names,
                "slices": slices},
            "optimizer": self.info["optimizer"], "version": __version__,
            "seconds": self.info.get("seconds"),
        }


# ----------------------------------------------------------------------------- calibrated.yaml
_SAME = object()


def _diff(base: Any, new: Any) -> Any:
    """What an ``extends`` overlay must say to turn ``base`` into ``new`` (mappings merge
    key by key; anything else, lists included, is replaced whole).
    """
    if isinstance(base, dict) and isinstance(new, dict):
        out = {}
        for k, v in new.items():
            d = _diff(base[k], v) if k in base else v
            if d is not _SAME:
                out[k] = d
        return out or _SAME
    return _SAME if base == new else new


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True)
    return text.strip().removesuffix("...").strip()


def _emit(node: dict[str, Any], indent: int, path: tuple[str, ...],
          notes: Mapping[tuple[str, ...], str], lines: list[str]) -> None:
    """Block-style YAML of ``node`` with ``# note`` after the values listed in ``notes``."""
    pad = " " * indent
    for k, v in node.items():
        p = (*path, str(k))
        note = f"  # {notes[p]}" if p in notes else ""
        head = f"{pad}{_scalar(str(k))}:"
        if isinstance(v, dict) and v:
            lines.append(head + note)
            _emit(v, indent + 2, p, notes, lines)
        elif isinstance(v, list) and v and all(isinstance(x, dict) and x for x in v):
            lines.append(head)
            for i, item in enumerate(v):
                sub: list[str] = []
                _emit(item, indent + 4, (*p, str(i)), notes, sub)
                sub[0] = f"{pad}  - {sub[0][indent + 4:]}"
                lines.extend(sub)
        else:
            lines.append(f"{head} {_scalar(v)}{note}")


def _notes(cal: Calibration, new: dict[str, Any]) -> dict[tuple[str, ...], str]:
    notes = {}
    for p, a in zip(cal.params, cal.after, strict=True):
        note = f"calibrated: {p.cast(p.before)} -> {p.cast(a)} (calibration.json)"
        for t in p.targets:
            if t.event is None:
                notes.update({tuple(parts): note for parts in paths.expand(new, t.key)})
            else:
                notes[("timeline", str(t.event), "set", t.key, *t.sub)] = note
    return notes


def _header(cal: Calibration) -> list[str]:
    lines = [
        f"# {cal.calibrated.name}: {cal.scenario.name} with parameters fitted by "
        f"`magsim calibrate` (magsim {__version__}).",
        f"# Fit to {cal.info['data']}: {len(cal.obs)} observations "
        f"({', '.join(dict.fromkeys(cal.obs.destination))}; {min(cal.obs.month)} to "
        f"{max(cal.obs.month)}), {cal.info['replications']} replications, seed "
        f"{cal.info['seed']}; see calibration.json in this directory.",
        f"# Loss (mean squared log error) {cal.loss_before:.4g} -> {cal.loss_after:.4g}; "
        f"MAPE {cal.mape_before:.1f}% -> {cal.mape_after:.1f}%; with other random numbers "
        f"(seed {cal.holdout['seed']}) loss {cal.holdout['loss_before']:.4g} -> "
        f"{cal.holdout['loss_after']:.4g}.",
    ]
    for p, a, iv in zip(cal.params, cal.after, cal.intervals, strict=True):
        lo, hi = iv["interval95"]
        lines.append(f"#   {p.name}: {p.cast(p.before)} -> {p.cast(a)} (95% interval "
                     f"{lo:.4g}..{hi:.4g}; pinned: {iv['pinned']})")
    if any(t.event is not None for p in cal.params for t in p.targets):
        lines.append("# A list cannot be merged item by item, so a fitted timeline value "
                     "restates the whole timeline.")
    return lines


def overlay(cal: Calibration, source: Path | None, out_dir: Path) -> str:
    """calibrated.yaml: ``extends`` the input file by a path relative to ``out_dir`` and
    sets what the calibration (and any ``--set``) changed; a whole scenario without a file.
    """
    new = cal.calibrated.model_dump(mode="python")
    body: dict[str, Any] = {}
    if source is not None:
        base = load_scenario(source).model_dump(mode="python")
        body["extends"] = Path(os.path.relpath(source.resolve(), out_dir.resolve())).as_posix()
        changes = _diff(base, new)
        body.update({} if changes is _SAME else changes)
    else:
        body.update(new)
    lines: list[str] = []
    _emit(body, 0, (), _notes(cal, new), lines)
    return "\n".join([*_header(cal), "", *lines]) + "\n"


# ----------------------------------------------------------------------------- directory
class WorkDir:
    """``<final>.partial/``: the evaluations so far, then the outputs."""

    def __init__(self, final: Path, identity: dict[str, Any], resume: bool) -> None:
        self.final = final
        self.work = final.with_name(final.name + ".partial")
        marker = self.work / MARKER
        if resume and marker.is_file():
            seen = json.loads(marker.read_text())
            if seen != identity:
                raise ResumeError(f"{self.work}: holds a different calibration (scenario "
                                  f"hash {seen.get('scenario_hash')}, params "
                                  f"{seen.get('params')}); start it without --resume")
        elif self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(identity, indent=1))

    def evaluations(self) -> dict[Key, Frame]:
        """The parameter vectors simulated by an earlier attempt and their frames (a last
        line cut short by a kill is ignored).
        """
        path, out = self.work / EVALUATIONS, {}
        if not path.is_file():
            return out
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            f = row["frame"]
            out[tuple(row["values"])] = None if f is None else pd.DataFrame(
                f["data"], index=f["index"], columns=f["columns"], dtype=float)
        return out

    def save(self, key: Key, frame: Frame) -> None:
        """Append one evaluation (values as stored: floats round-trip exactly in JSON)."""
        row = {"values": list(key),
               "frame": None if frame is None else frame.to_dict(orient="split")}
        with (self.work / EVALUATIONS).open("a") as fh:
            fh.write(json.dumps(row) + "\n")
            fh.flush()

    def publish(self, cal: Calibration, source: Path | None, figures: bool) -> Path:
        """Write the outputs into the work directory and rename it to ``final``."""
        (self.work / "calibration.json").write_text(json.dumps(cal.summary(), indent=1,
                                                               default=str))
        (self.work / "calibrated.yaml").write_text(overlay(cal, source, self.final))
        again = load_scenario(self.work / "calibrated.yaml")
        if scenario_hash(again) != scenario_hash(cal.calibrated):
            raise RuntimeError("calibrated.yaml does not reproduce the calibrated scenario")
        if figures:
            _figures(cal, self.work / "figures")
        (self.work / MARKER).unlink()
        if self.final.exists():
            shutil.rmtree(self.final)
        os.replace(self.work, self.final)
        return self.final


def _figures(cal: Calibration, directory: Path) -> None:
    import matplotlib.pyplot as plt

    from simulator import calib_plots

    directory.mkdir(exist_ok=True)
    s = cal.summary()
    title = (f"{cal.scenario.name}: calibration, MAPE {cal.mape_before:.1f}% -> "
             f"{cal.mape_after:.1f}% (loss {cal.loss_before:.4f} -> {cal.loss_after:.4f})")
    for name, fig in (
            ("calibration", calib_plots.exports(cal.before_t, cal.after_t, cal.obs, title)),
            ("profiles", calib_plots.slices(cal.slices, s["params"], cal.threshold))):
        fig.savefig(directory / f"{name}.png", dpi=120)
        plt.close(fig)
