"""A comparison directory read back: :func:`load_comparison` rebuilds the
:class:`~simulator.comparison.Comparison` that :func:`simulator.compare` returned in memory.

Each variant's arm is rebuilt from what the directory holds: its per-replication metrics from
``replications.parquet`` ([replication, entity, metric]) and ``gate_replications.parquet``
([replication, gate metric]); its scenario from the manifest (the base scenario, the
variant's overrides and ``hold``), compiled for its entities. ``.table``, ``.summary``,
``.paired(...)`` and ``.frontier`` are then computed from the same arrays, so they give the
same numbers as the comparison that wrote the directory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator import metrics
from simulator.comparison import Arm, Comparison
from simulator.plan import compile_plan
from simulator.scenarios import scenario_hash
from simulator.schema import Scenario
from simulator.variants import Variant, _scenarios

REPLICATIONS = "replications.parquet"
GATE = "gate_replications.parquet"
VERBS = ("compare", "sweep")


def gate_table(arms: Sequence[Arm]) -> pd.DataFrame:
    """``gate_replications.parquet``: variant, replication, and one column per gate metric
    (``backlog_peak_t`` t, ``mean_review_days`` working days, ``approval_rate`` 0–1,
    ``dispatched_t`` t).
    """
    return pd.concat([pd.DataFrame({"variant": a.variant.name,
                                    "replication": np.arange(len(a.gate), dtype=np.int64),
                                    **dict(zip(metrics.GATE_METRICS, a.gate.T, strict=True))})
                      for a in arms], ignore_index=True)


def load_comparison(directory: str | Path) -> Comparison:
    """Read a comparison directory written by :func:`simulator.compare`,
    :func:`simulator.sweep`, ``magsim compare`` or ``magsim sweep``.

    Raises:
        FileNotFoundError: no ``manifest.json``, ``replications.parquet`` or
            ``gate_replications.parquet`` in ``directory``.
        ValueError: the directory is not a comparison (e.g. a run directory), or its files
            do not hold what its manifest says.
    """
    d = Path(directory)
    manifest = _manifest(d)
    for name in (REPLICATIONS, GATE):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{d}: incomplete comparison directory (no {name})")
    section = "sweep" if manifest["verb"] == "sweep" else ""
    variants = [Variant(name, sets, section) for name, sets in manifest["variants"].items()]
    reps, gate = pd.read_parquet(d / REPLICATIONS), pd.read_parquet(d / GATE)
    n = manifest["replications"]
    arms = []
    for v, sc in zip(variants, _variant_scenarios(d, manifest, variants), strict=True):
        ents = metrics.entities(compile_plan(sc))
        arms.append(Arm(v, sc, ents, _shortage(d, v.name, reps, ents, n),
                        _gate(d, v.name, gate, n)))
    return Comparison(arms, manifest, d)


def _manifest(d: Path) -> dict[str, Any]:
    """The manifest of a comparison directory, checked to be one."""
    path = d / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{d}: not a magsim comparison directory (no manifest.json)")
    manifest = json.loads(path.read_text())
    if manifest.get("verb") not in VERBS or "variants" not in manifest:
        raise ValueError(f"{d}: not a magsim comparison directory (manifest.json lists no "
                         "variants; a run directory is read with simulator.load_run)")
    if "hold" not in manifest:
        raise ValueError(f"{d}: written by an older magsim (manifest.json has no 'hold'); "
                         "run the comparison again to load it")
    return manifest


def _variant_scenarios(d: Path, manifest: dict[str, Any], variants: Sequence[Variant]
                       ) -> list[Scenario]:
    """Each variant's scenario, rebuilt as :func:`~simulator.comparison.compare_variants`
    built it, and checked against the hashes of the scenarios that were run.
    """
    base = Scenario.model_validate(manifest["scenario"])
    built = [sc for sc, _ in _scenarios(base, variants, manifest["hold"])]
    # a base hash that differs means the observed-exports file moved or changed since (it
    # enters the hash by content): the variants' hashes cannot be checked then
    if scenario_hash(base) == manifest["scenario_hash"]:
        for v, sc in zip(variants, built, strict=True):
            if scenario_hash(sc) != manifest["variant_hashes"][v.name]:
                raise ValueError(f"{d}: variant {v.name!r} does not rebuild to the scenario "
                                 "that was run (written by another magsim version?)")
    return built


def _shortage(d: Path, name: str, reps: pd.DataFrame, ents: list[metrics.Entity], n: int
              ) -> np.ndarray:
    """One variant's [replication, entity, metric] array from ``replications.parquet``."""
    rows = reps[reps.variant == name]
    ent = pd.MultiIndex.from_tuples([(e.level, e.name) for e in ents]).get_indexer(
        pd.MultiIndex.from_arrays([rows.level, rows.entity]))
    met = pd.Index(metrics.ALL_METRICS).get_indexer(rows.metric)
    rep = rows.replication.to_numpy()
    shape = (n, len(ents), len(metrics.ALL_METRICS))
    if ((ent < 0) | (met < 0) | (rep < 0) | (rep >= n)).any():
        raise ValueError(f"{d / REPLICATIONS}: variant {name!r} has rows for entities, "
                         f"metrics or replications its scenario (and {n} replications) lack")
    out, seen = np.full(shape, np.nan), np.zeros(shape, dtype=bool)
    out[rep, ent, met], seen[rep, ent, met] = rows.value.to_numpy(), True
    if len(rows) != seen.size or not seen.all():
        raise ValueError(f"{d / REPLICATIONS}: variant {name!r} does not hold one value per "
                         f"replication ({n}), entity ({shape[1]}) and metric ({shape[2]})")
    return out


def _gate(d: Path, name: str, gate: pd.DataFrame, n: int) -> np.ndarray:
    """One variant's [replication, gate metric] array from ``gate_replications.parquet``."""
    rows = gate[gate.variant == name].sort_values("replication")
    if rows.replication.tolist() != list(range(n)):
        raise ValueError(f"{d / GATE}: variant {name!r} does not hold one row per "
                         f"replication ({n})")
    return rows[list(metrics.GATE_METRICS)].to_numpy(dtype=float)
