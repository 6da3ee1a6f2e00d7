"""The simulation state: everything that evolves during a run, struct of arrays.

`SimState` is what `step` maps to the next `SimState` (Brax's `State`): world
truth, the command post's air picture, command and control, the missiles in
the air and the run's tallies. Every field is an array with the entity axis
first (N threats, A assets, R radars, L launchers, K missiles) or a scalar;
nothing holds one object per entity, so a later replication axis is one more
leading dimension (or a `replication` column), not a redesign. States are
frozen: `step` builds new arrays where anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engagement.flyout import InFlight
from skydome.engagement.guided import GuidedFlights
from skydome.engagement.launchers import Launchers
from skydome.engine.identification import IdentState
from skydome.engine.network import RadarTrackTimes, network_active
from skydome.scenario.compile import SimParams
from skydome.sensors.emission import EmissionParams, EmissionState
from skydome.tracking.base import TrackState

__all__ = ["C2State", "Missiles", "SimState", "Tally", "WorldState"]

B = NDArray[np.bool_]


def _no_ids() -> I64:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class WorldState:
    """Truth: what happened to the threats and the defended assets.

    Attributes:
        kill_time_s: (N,) time each threat was killed, s (inf: alive).
        leak_time_s: (N,) time each threat leaked, s (inf: did not).
        evade_start_s: (N,) first missile launch at each threat, s: starts its
            evasive break (inf: never illuminated).
        asset_value: (A,) value remaining per defended asset.
    """

    kill_time_s: F64
    leak_time_s: F64
    evade_start_s: F64
    asset_value: F64


@dataclass(frozen=True)
class C2State:
    """Command and control: launchers, channels, outcomes awaited, schedules.

    Attributes:
        launchers: every launcher's magazine and ready time (L rows) and the
            batteries' reserves (B, M); fire channels in use are derived from
            the missiles in the air.
        pending_track: (P,) track engaged by each resolved missile whose outcome
            the command post has not learnt yet.
        pending_until_s: (P,) when it learns it, s.
        pending_kill: (P,) whether that outcome was a kill.
        next_scan_s: (R,) next scan time of each radar, s.
        next_decision_s: next decision cycle, s.
        n_launched: missiles launched so far (the next missile's id).
        held_track: (H,) confirmed tracks of the picture at the last decision.
        held_logged: (H,) bit `r` set: hold reason `r`
            (`skydome.engagement.fire_control.HOLD_*`) was logged for the track
            since it was last engaged; a `held` event is logged when a reason
            first applies, so a track whose prediction wanders across an
            envelope edge is not logged at every decision.
        radar_seen: when each radar updated each track (`skydome.engine.network`);
            None when every battery may engage every track at once.
        ident: the identification's memory (per-threat draws, per-track IFF
            record; `skydome.engine.identification`); None before the first
            decision, and always in a scenario without identification.
    """

    launchers: Launchers
    pending_track: I64
    pending_until_s: F64
    pending_kill: B
    next_scan_s: F64
    next_decision_s: float
    n_launched: int
    held_track: I64 = field(default_factory=_no_ids)
    held_logged: I64 = field(default_factory=_no_ids)
    radar_seen: RadarTrackTimes | None = None
    ident: IdentState | None = None


@dataclass(frozen=True)
class Missiles:
    """Missiles in the air (K rows): bookkeeping and, for guided flyout, physics.

    Attributes:
        flight: (K rows) id, battery, type, track engaged, launch and intercept
            times, aim point (`InFlight`).
        physics: (K rows, aligned with `flight`) the guided missiles' kinematic
            state and seeker; None when the flyout is kinematic.
    """

    flight: InFlight
    physics: GuidedFlights | None = None

    @property
    def n(self) -> int:
        """Number of missiles."""
        return self.flight.n

    def take(self, sel: B | I64) -> Missiles:
        """The missiles selected by a mask or index array (both parts, row-aligned)."""
        phys = None if self.physics is None else self.physics.take(sel)
        return Missiles(self.flight.take(sel), phys)

    def concat(self, other: Missiles) -> Missiles:
        """These missiles followed by `other`'s."""
        if (self.physics is None) != (other.physics is None):
            raise ValueError("cannot concatenate guided and kinematic missiles")
        phys = None
        if self.physics is not None and other.physics is not None:
            phys = self.physics.concat(other.physics)
        return Missiles(self.flight.concat(other.flight), phys)


@dataclass(frozen=True)
class Tally:
    """Per-threat tallies kept for the run's results.

    Attributes:
        first_detect_s: (N,) first detection by any radar, s (inf: never).
        first_track_s: (N,) first confirmed track on it, s (inf: never).
        engaged: (N,) at least one missile launched at it.
    """

    first_detect_s: F64
    first_track_s: F64
    engaged: B


@dataclass(frozen=True)
class SimState:
    """One replication's state at time `t_s`.

    Attributes:
        t_s: simulated time, s.
        world: truth (threat fates, asset values).
        picture: the air picture the command post holds (`TrackState`).
        c2: launchers, outcomes awaited, scan and decision schedules.
        missiles: missiles in the air.
        tally: per-threat tallies.
        emission: radars destroyed or silenced and the ARMs' seekers
            (`skydome.sensors.emission`); None when the scenario has neither
            emission control nor anti-radiation missiles.
    """

    t_s: float
    world: WorldState
    picture: TrackState
    c2: C2State
    missiles: Missiles
    tally: Tally
    emission: EmissionState | None = None

    @staticmethod
    def initial(params: SimParams, missiles: Missiles) -> SimState:
        """The state at t = 0: nothing seen, every launcher full and ready.

        Args:
            params: the compiled scenario.
            missiles: no missiles, as the flyout stage holds them (`Flyout.empty()`).
        """
        n = params.threats.n
        inf = np.full(n, np.inf)
        return SimState(
            t_s=0.0,
            world=WorldState(
                kill_time_s=inf.copy(),
                leak_time_s=inf.copy(),
                evade_start_s=inf.copy(),
                asset_value=params.assets.value.copy(),
            ),
            picture=TrackState.empty(),
            c2=C2State(
                launchers=Launchers.from_params(params.batteries),
                pending_track=np.zeros(0, dtype=np.int64),
                pending_until_s=np.zeros(0),
                pending_kill=np.zeros(0, dtype=bool),
                next_scan_s=np.zeros(params.radars.n),
                next_decision_s=0.0,
                n_launched=0,
                radar_seen=(
                    RadarTrackTimes.empty(params.radars.n)
                    if network_active(params.batteries, params.doctrine.network == "autonomous")
                    else None
                ),
            ),
            missiles=missiles,
            tally=Tally(
                first_detect_s=inf.copy(),
                first_track_s=inf.copy(),
                engaged=np.zeros(n, dtype=bool),
            ),
            emission=_initial_emission(params),
        )


def _initial_emission(params: SimParams) -> EmissionState | None:
    """Radar state at t = 0 when emission control or ARMs are in play, else None."""
    if params.emission is None and params.arms is None:
        return None
    em = params.emission or EmissionParams.always(params.radars.n)
    return EmissionState.initial(em, 0 if params.arms is None else params.arms.n)
