"""magsim: a discrete-event simulator of rare-earth magnet supply disruptions."""

from simulator.model import simulate
from simulator.plan import Plan, compile_plan
from simulator.records import Records
from simulator.scenarios import load_scenario, scenario_hash
from simulator.schema import Scenario
from simulator.yamlsrc import InputError

__version__ = "0.1.0"

__all__ = ["InputError", "Plan", "Records", "Scenario", "compile_plan", "load_scenario",
           "scenario_hash", "simulate", "__version__"]
