"""magsim: a discrete-event simulator of rare-earth magnet supply disruptions."""

from simulator.model import simulate
from simulator.plan import Plan, compile_plan
from simulator.records import Records
from simulator.results import Results, load_run
from simulator.scenarios import load_scenario, scenario_hash
from simulator.schema import Scenario
from simulator.yamlsrc import InputError

__version__ = "0.1.0"

from simulator.calibration import calibrate  # noqa: E402  (needs __version__)
from simulator.comparison import compare, sweep  # noqa: E402
from simulator.runner import run  # noqa: E402  (needs __version__)

__all__ = ["InputError", "Plan", "Records", "Results", "Scenario", "calibrate", "compare",
           "compile_plan", "load_run", "load_scenario", "run", "scenario_hash", "simulate",
           "sweep", "__version__"]
