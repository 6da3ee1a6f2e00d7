"""skydome: a fast, open air-defence engagement simulator.

Synthetic worlds with public, approximate parameters; see the README.
"""

from skydome.engine import RunResult, simulate
from skydome.scenario import SimParams, compile_scenario, load_scenario

__all__ = ["RunResult", "SimParams", "__version__", "compile_scenario", "load_scenario", "simulate"]

__version__ = "0.1.0"
