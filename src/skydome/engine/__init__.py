"""The simulation engine: state, stages, one step, and the clock around it.

- `state`: `SimState`, the struct-of-arrays state of one replication;
- `pipeline`: the stage protocols (`Sensor`, `Tracker`, `Identification`,
  `ThreatEvaluation`, `Planner`, `Flyout`, `KillAssessment`, `InterceptModel`)
  and `Pipeline`; `contract` holds their checkers;
- `stages`: the built-in stages and `default_pipeline`;
- `step`: the kill chain in order, one tick, pure;
- `simulate`: the clock and the recorders, `RunResult`.
"""

from skydome.engine.pipeline import (
    Arrivals,
    Flyout,
    Identification,
    InterceptModel,
    KillAssessment,
    Pipeline,
    Plan,
    Planner,
    PlanRequest,
    Sensor,
    ThreatEvaluation,
)
from skydome.engine.simulate import ProgressFn, RunResult, simulate
from skydome.engine.stages import default_pipeline
from skydome.engine.state import C2State, Missiles, SimState, Tally, WorldState
from skydome.engine.step import Rngs, StepEvents, step

__all__ = [
    "Arrivals",
    "C2State",
    "Flyout",
    "Identification",
    "InterceptModel",
    "KillAssessment",
    "Missiles",
    "Pipeline",
    "Plan",
    "PlanRequest",
    "Planner",
    "ProgressFn",
    "Rngs",
    "RunResult",
    "Sensor",
    "SimState",
    "StepEvents",
    "Tally",
    "ThreatEvaluation",
    "WorldState",
    "default_pipeline",
    "simulate",
    "step",
]
