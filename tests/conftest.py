"""Shared fixtures: small hand-checkable scenarios built from dicts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from simulator import compile_plan, load_scenario, simulate

TINY: dict[str, Any] = {
    "name": "tiny",
    "horizon": {"start": "2025-01-06", "end": "2025-06-30"},
    "seed": 11,
    "gate": {"shipment_t": 2.0, "reviewers": 3, "regions": {"US": {}, "EU": {}}},
    "china": {
        "export_capacity_t_per_day": 1000.0,
        "transit_days": {"US": {"dist": "lognormal", "mean": 20, "cv": 0.3, "min": 5},
                         "EU": {"dist": "fixed", "mean": 10}},
    },
    "buyers": {
        "us_auto": {"region": "US", "sector": "automotive",
                    "demand": {"units_per_year": 365000, "kg_per_unit": 2.0, "cv": 0.3},
                    "policy": {"kind": "days_of_cover", "target_days": 40,
                               "review_period_days": 7}},
        "eu_wind": {"region": "EU", "sector": "wind", "shortage": "backorder",
                    "demand": {"t_per_year": 365.0, "cv": 0.5, "dist": "normal"},
                    "policy": {"kind": "sS", "order_up_to_t": 30.0, "reorder_point_t": 15.0,
                               "review_period_days": 1}},
    },
}

CONTROLS = {
    "date": "2025-02-03", "label": "controls", "source": "test",
    "set": {"gate.regions.*.regime.civil": "licensing",
            "gate.regions.*.covered_share.civil": 0.8,
            "gate.regions.*.approval_prob.civil": 0.5},
}


def scenario(overrides: dict[str, Any] | None = None, base: dict[str, Any] | None = None,
             timeline: list[dict[str, Any]] | None = None):
    """A validated scenario from TINY (or ``base``) with dot-path overrides."""
    doc = copy.deepcopy(base or TINY)
    if timeline is not None:
        doc["timeline"] = timeline
    for path, value in (overrides or {}).items():
        node = doc
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = copy.deepcopy(value)
    return load_scenario(doc)


def run(sc, replication: int = 0, seed: int | None = None, trace: bool = False):
    """Compile and simulate one replication."""
    return simulate(compile_plan(sc), replication, seed, trace)


@pytest.fixture
def tiny():
    return scenario()
