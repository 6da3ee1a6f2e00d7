"""Compatibility alias: the parameter types and the compiler under their old names.

Deprecated for this release cycle (issue 11): the stages own their parameter
types (`skydome.sensors.params`, `skydome.tracking.params`,
`skydome.engagement.params`) and `skydome.scenario.compile` builds them.
Import from those modules; this one only re-exports and will be removed once
every caller has moved.
"""

from __future__ import annotations

from skydome.engagement.params import (
    AssetParams,
    BatteryParams,
    DoctrineParams,
    MissileParams,
    TypePhysics,
)
from skydome.scenario.compile import SimParams, compile_scenario, tracker_params
from skydome.sensors.params import RadarParams
from skydome.tracking.params import TrackerParams

__all__ = [
    "AssetParams",
    "BatteryParams",
    "DoctrineParams",
    "MissileParams",
    "RadarParams",
    "SimParams",
    "TrackerParams",
    "TypePhysics",
    "compile_scenario",
    "tracker_params",
]
