"""skydome: a fast, open air-defence engagement simulator.

Synthetic worlds with public, approximate parameters; see the README.
The exports are imported on first use, so `import skydome` (and the CLI's
start-up) does not pay for the engine until it is needed.
"""

from typing import TYPE_CHECKING

from skydome._lazy import lazy_exports

if TYPE_CHECKING:
    from skydome.engine import RunResult, simulate
    from skydome.scenario import SimParams, compile_scenario, load_scenario

__all__ = ["RunResult", "SimParams", "__version__", "compile_scenario", "load_scenario", "simulate"]

__version__ = "0.1.0"

__getattr__ = lazy_exports(
    __name__,
    {
        "RunResult": "skydome.engine",
        "simulate": "skydome.engine",
        "SimParams": "skydome.scenario",
        "compile_scenario": "skydome.scenario",
        "load_scenario": "skydome.scenario",
    },
)
