"""magsim: a discrete-event simulator of rare-earth magnet supply disruptions.

The public names below are imported on first use, so that ``import simulator.ensemble`` (a
Dask worker unpickling a chunk) or ``magsim --help`` does not load pandas, scipy.stats and
matplotlib for the comparison and report code it never runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_HOME = {"simulate": "model", "Plan": "plan", "compile_plan": "plan", "Records": "records",
         "Results": "results", "load_run": "results", "load_scenario": "scenarios",
         "scenario_hash": "scenarios", "Scenario": "schema", "InputError": "yamlsrc",
         "calibrate": "calibration", "compare": "comparison", "sweep": "comparison",
         "load_comparison": "comparison_load", "run": "runner", "paired_stats": "comparison",
         "load_observed": "observed"}

__all__ = ["InputError", "Plan", "Records", "Results", "Scenario", "calibrate", "compare",
           "compile_plan", "load_comparison", "load_observed", "load_run", "load_scenario",
           "paired_stats", "run", "scenario_hash", "simulate", "sweep", "__version__"]

if TYPE_CHECKING:
    from simulator.calibration import calibrate
    from simulator.comparison import compare, paired_stats, sweep
    from simulator.comparison_load import load_comparison
    from simulator.model import simulate
    from simulator.observed import load_observed
    from simulator.plan import Plan, compile_plan
    from simulator.records import Records
    from simulator.results import Results, load_run
    from simulator.runner import run
    from simulator.scenarios import load_scenario, scenario_hash
    from simulator.schema import Scenario
    from simulator.yamlsrc import InputError


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    if name not in _HOME:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"simulator.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
