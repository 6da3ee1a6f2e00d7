"""The pipeline: one Protocol per stage of the kill chain, and their contract checkers.

A `Pipeline` holds the scenario's static parameters and one object per stage:

    sensor -> tracker -> identification -> evaluation -> planner -> flyout -> assessment

plus the planner's model of the flyout, `intercept`: predicted intercept points
and times (at average speed for the kinematic flyout, from the missile types'
own flights for the guided one).

`step` calls them in that order and owns everything between them (time,
launch slots, fire channels, the event log). Any object with the right methods
is a stage; `default_pipeline` (in `skydome.engine.stages`) builds the
built-in ones. Each protocol has a `check_*` function that runs a small
synthetic case and raises `AssertionError` naming the first broken rule:
run it on your own stage before passing it to `simulate`.

Every stage input and output is a struct of arrays with the entity axis first,
so a later replication axis is a leading dimension, not a loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engagement.assessment import Outcome
from skydome.engagement.evaluation import ThreatAssessment
from skydome.engagement.flyout import InFlight
from skydome.engagement.geometry import InterceptGrid
from skydome.engagement.guided import Ended
from skydome.engagement.params import BatteryParams
from skydome.engine.state import Missiles, WorldState
from skydome.scenario.compile import SimParams
from skydome.sensors.base import Detections
from skydome.sensors.jamming import Jammers
from skydome.tracking.base import CoverageFn, Tracker, TrackState
from skydome.tracking.gnn import predict_mean_cv

__all__ = [
    "Arrivals",
    "Flyout",
    "Identification",
    "InterceptModel",
    "KillAssessment",
    "Pipeline",
    "Plan",
    "PlanRequest",
    "Planner",
    "Sensor",
    "ThreatEvaluation",
    "Tracker",
]

B = NDArray[np.bool_]


@dataclass(frozen=True)
class PlanRequest:
    """One decision cycle's engagement problem (N candidate tracks, B batteries, M types).

    Attributes:
        score: (N,) threat score, larger is more urgent.
        order: (N,) candidate rows, most urgent first (doctrine's engage order).
        salvo: (N,) missiles each track may still receive.
        feasible: (N, B, M) battery b can intercept track n with type m (envelope,
            fire-control coverage, stock).
        t_intercept_rel_s: (N, B, M) intercept time after the decision, s (inf:
            infeasible).
        stock: (B, M) missiles on the batteries' launchers.
        target_channels_free: (B,) targets each battery can still engage.
        missile_channels_free: (B,) missiles each battery can still guide.
        pk: (N, M) single-shot Pk of each type against each track's threat type
            (`MissileParams.pk_of` of its identity); None: each type's default `pk`.
        value: (N,) each track's threat value (`DoctrineParams.threat_value`),
            asset-value units; None: not computed (planners that do not use it).
        later: (N, B, M) battery b can intercept track n with type m later, before
            its deadline (after a look, or deeper in its approach); None: unknown.
        future_value: (F,) values of threats expected but not yet tracked.
        future_pk: (F, M) Pk of each type against each expected threat (0: the
            type may not or cannot engage it).
        reloads: (B, M) reload rounds left at each battery (not on launchers).
    """

    score: F64
    order: I64
    salvo: I64
    feasible: B
    t_intercept_rel_s: F64
    stock: I64
    target_channels_free: I64
    missile_channels_free: I64
    pk: F64 | None = None
    value: F64 | None = None
    later: B | None = None
    future_value: F64 | None = None
    future_pk: F64 | None = None
    reloads: I64 | None = None


@dataclass(frozen=True)
class Plan:
    """Engagements chosen (E rows): candidate row, option b * M + m, missiles."""

    rows: I64
    option: I64
    count: I64


@dataclass(frozen=True)
class Arrivals:
    """Missiles whose flight ended this step (K rows).

    Attributes:
        due: their bookkeeping; `t_intercept_s` is when the flight ended and
            `pip_m` the final aim point.
        ended: how each guided flight ended (rows aligned with `due`); None
            for a flyout without physics.
        held: (K,) the missile's fire-control track is still held (None: all are).
        guided_on: (K,) the threat that track follows now, its truth label
            (bookkeeping for the kill chain; -1: lost or a false track; None:
            `due.threat`).
    """

    due: InFlight
    ended: Ended | None
    held: NDArray[np.bool_] | None = None
    guided_on: I64 | None = None


class Sensor(Protocol):
    """The surveillance radars (R of them): one scan of one radar at a time."""

    @property
    def scan_period_s(self) -> F64:
        """(R,) revisit period of each radar, s."""
        ...

    def detect(
        self,
        radar: int,
        t_s: float,
        pos_m: F64,
        in_sky: B,
        jammers: Jammers,
        rng: np.random.Generator,
    ) -> Detections:
        """Detections (and false alarms) of one scan over the threats at `pos_m` (N, 3)."""
        ...

    def coverage(self, radar: int) -> CoverageFn:
        """Whether the radar could detect something at each position (K, 3)."""
        ...


class Identification(Protocol):
    """Who each track is: the command post's one sanctioned read of truth."""

    def identify(self, picture: TrackState, rows: I64) -> I64:
        """(K,) threat index each track row in `rows` is taken for (-1: unknown)."""
        ...


class ThreatEvaluation(Protocol):
    """How urgent each track is."""

    def evaluate(self, pos_m: F64, vel_mps: F64, identity: I64) -> ThreatAssessment:
        """Score K tracks from (K, 3) positions and velocities and their identities."""
        ...


class Planner(Protocol):
    """Weapon-target assignment for one decision cycle."""

    def plan(self, req: PlanRequest) -> Plan:
        """The engagements to make; each (row, option) must be feasible."""
        ...


class Flyout(Protocol):
    """Missiles in the air: launch and fly them until their flights end."""

    def empty(self) -> Missiles:
        """No missiles (with an empty physics sub-struct if the flyout has one)."""
        ...

    def launch(self, missiles: Missiles, new: InFlight, picture: TrackState) -> Missiles:
        """`missiles` followed by `new` (rows in that order)."""
        ...

    def advance(
        self,
        missiles: Missiles,
        t0_s: float,
        t1_s: float,
        world: WorldState,
        picture: TrackState,
        rng: np.random.Generator,
    ) -> tuple[Missiles, Arrivals | None]:
        """Fly every missile over [t0_s, t1_s]: those still flying, and those that arrived."""
        ...

    # Optional: `reads_picture(missiles, t1_s) -> bool`, False when `advance` to
    # `t1_s` will not read its `picture` argument (the engine then passes the
    # picture unextrapolated). Without it the picture is always extrapolated.


class InterceptModel(Protocol):
    """The planner's model of the flyout: predicted intercept points and times."""

    def grid(
        self,
        pos_m: F64,
        vel_mps: F64,
        batteries: BatteryParams,
        deadline_rel_s: F64,
        threat_type: I64 | None = None,
    ) -> InterceptGrid:
        """Every (track, battery, type) intercept of (N, 3) tracks, checked against the envelope.

        `threat_type`: (N,) each track's identified threat type (-1: unknown), for
        the per-(missile type, threat type) target-speed limit; None: all unknown.
        """
        ...

    def flyout(
        self,
        t_now_s: float,
        track_pos_m: F64,
        track_vel_mps: F64,
        launch_pos_m: F64,
        launch_delay_s: F64,
        mtype: I64,
    ) -> tuple[F64, F64, F64]:
        """(t_launch_s, t_intercept_s, pip_m) of K missiles launched after `launch_delay_s`."""
        ...


class KillAssessment(Protocol):
    """Did each arriving missile kill?"""

    def assess(self, arrivals: Arrivals, world: WorldState, rng: np.random.Generator) -> Outcome:
        """Outcome per arriving missile; `kill_time_s` updated with the kills."""
        ...


class _Predicts(Protocol):
    def predict(self, state: TrackState, t_s: float, rows: I64) -> F64: ...


@dataclass(frozen=True)
class Pipeline:
    """The static system one replication runs: parameters and one object per stage.

    Attributes:
        params: the compiled scenario.
        sensor: the radars.
        tracker: the multi-target tracker; its `predict` extrapolates the picture.
        identification: track -> threat identity.
        evaluation: threat scores.
        planner: weapon-target assignment.
        flyout: missiles in flight.
        assessment: kill assessment.
        intercept: the planner's model of the flyout (intercept points and times).
    """

    params: SimParams
    sensor: Sensor
    tracker: Tracker
    identification: Identification
    evaluation: ThreatEvaluation
    planner: Planner
    flyout: Flyout
    assessment: KillAssessment
    intercept: InterceptModel

    def predict(self, picture: TrackState, t_s: float, rows: I64) -> F64:
        """(K, 6) the track rows `rows` extrapolated to `t_s` by the tracker.

        A tracker written before `Tracker.predict` existed (it has `step` only)
        is extrapolated at constant velocity.
        """
        if hasattr(self.tracker, "predict"):  # cheaper than isinstance(_, _Predicts)
            return cast(_Predicts, self.tracker).predict(picture, t_s, rows)
        return predict_mean_cv(picture, t_s, rows)
