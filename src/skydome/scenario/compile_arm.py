"""Compile the scenario's emission control and anti-radiation missiles (SI units).

The input side of `skydome.sensors.emission` and `skydome.sensors.antiradiation`.
A scenario with neither (every radar always on, no raid with `arm`) compiles to
None for both, and the engine runs exactly as before they existed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from skydome.arrays import F64
from skydome.scenario.schema import Arm, Scenario
from skydome.sensors.antiradiation import ArmParams
from skydome.sensors.emission import MODES, EmissionParams
from skydome.threats import Threats

__all__ = ["build_arms", "build_emission"]


def build_emission(s: Scenario) -> EmissionParams | None:
    """Each radar's emission doctrine; None when every radar is always on and no ARM flies."""
    em = [r.emission for r in s.radars]
    if all(e is None or e.mode == "always" for e in em) and not any(r.arm for r in s.raids):
        return None
    mode = [MODES.index("always" if e is None else e.mode) for e in em]
    return EmissionParams(
        mode=np.array(mode, dtype=np.int64),
        on_s=np.array([np.inf if e is None or e.on_s is None else e.on_s for e in em]),
        off_s=np.array([0.0 if e is None or e.off_s is None else e.off_s for e in em]),
        offset_s=np.array([0.0 if e is None else e.offset_s for e in em]),
    )


def build_arms(s: Scenario, threats: Threats) -> ArmParams | None:
    """The ARMs (one row per ARM threat, in threat order); None without any."""
    arm_raids = [i for i, r in enumerate(s.raids) if r.arm is not None]
    if not arm_raids:
        return None
    radars = [x.name for x in s.radars]
    idx = np.flatnonzero(np.isin(threats.raid_index, arm_raids))
    raid = threats.raid_index[idx]

    def per(get: Callable[[Arm], float]) -> F64:
        """(A,) a seeker figure of each ARM's raid."""
        values = np.array([np.nan if r.arm is None else get(r.arm) for r in s.raids])
        out: F64 = values[raid]
        return out

    return ArmParams(
        threat=idx.astype(np.int64),
        radar=np.array(
            [radars.index(r.target or "") if r.arm is not None else -1 for r in s.raids],
            dtype=np.int64,
        )[raid],
        acquisition_m=per(lambda a: a.acquisition_range_km * 1e3),
        memory_s=per(lambda a: a.memory_s),
        cep_m=per(lambda a: a.cep_m),
        memory_cep_m=per(lambda a: a.memory_cep_m),
        drift_mps=per(lambda a: a.drift_mps),
        lethal_m=per(lambda a: a.lethal_radius_m),
        kill_probability=per(lambda a: a.kill_probability),
    )
