"""The built-in stages, and `default_pipeline`: scenario strings become objects here.

Each class is a thin adapter from a stage protocol (`skydome.engine.pipeline`)
to the vectorised kernels of its package (`sensors`, `tracking`,
`engagement`); the scenario's doctrine planner name and flyout name are read
once, in `default_pipeline`, and never again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, grouped_cumsum, rank_within_groups
from skydome.engagement.assessment import Outcome, assess, assess_guided
from skydome.engagement.evaluation import ThreatAssessment, evaluate_threats
from skydome.engagement.flyout import InFlight, kinematic_flyout, midcourse_update, track_status
from skydome.engagement.flyout_table import (
    FlyoutTable,
    flyout_table,
    table_flyout,
    table_intercept_grid,
)
from skydome.engagement.geometry import InterceptGrid, intercept_grid
from skydome.engagement.guided import GuidedFlights, advance, launch_guided
from skydome.engagement.lookahead import fire_now, lookahead_problem
from skydome.engagement.params import (
    AssetParams,
    BatteryParams,
    DoctrineParams,
    MissileParams,
)
from skydome.engagement.wta import WtaProblem, solve
from skydome.engagement.wta_greedy import greedy_assign
from skydome.engagement.wta_heuristic import warm_kernels
from skydome.engine.identification import ContestedIdentification
from skydome.engine.pipeline import Arrivals, Pipeline, Plan, Planner, PlanRequest
from skydome.engine.state import Missiles, WorldState
from skydome.geo import radar_geometry
from skydome.scenario.compile import SimParams
from skydome.sensors.base import Detections
from skydome.sensors.jamming import Jammers
from skydome.sensors.params import RadarParams
from skydome.sensors.radar import coverage_mask, detect, dwell_mask
from skydome.threats import Threats
from skydome.tracking.base import CoverageFn, Tracker, TrackState
from skydome.tracking.gnn import GnnTracker

__all__ = [
    "AverageSpeedIntercept",
    "FlyoutTableIntercept",
    "GreedyPlanner",
    "GuidedFlyout",
    "KinematicFlyout",
    "PLANNERS",
    "LethalityAssessment",
    "LookaheadPlanner",
    "PerfectIdentification",
    "RadarSensor",
    "ValueAtRiskEvaluation",
    "WtaPlanner",
    "default_pipeline",
]

B = NDArray[np.bool_]


@dataclass(frozen=True)
class RadarSensor:
    """The scenario's radars: radar equation, Swerling fluctuation, clutter, jamming.

    Attributes:
        radars: radar parameters (R radars).
        threats: threat truth (radar cross sections, Swerling cases).
    """

    radars: RadarParams
    threats: Threats

    @property
    def scan_period_s(self) -> F64:
        """(R,) revisit period of each radar, s."""
        return self.radars.scan_period_s

    def detect(
        self,
        radar: int,
        t_s: float,
        pos_m: F64,
        in_sky: B,
        jammers: Jammers,
        rng: np.random.Generator,
    ) -> Detections:
        """One scan of radar `radar` over the threats at `pos_m` (N, 3) that are `in_sky`."""
        th = self.threats
        ids = np.arange(th.n)
        return detect(
            self.radars, radar, t_s, pos_m, th.rcs_m2, ids, rng, in_sky, th.swerling, jammers
        )

    def coverage(self, radar: int) -> CoverageFn:
        """Whether radar `radar` could detect something at each position (K, 3)."""
        rad = self.radars
        radar_pos = rad.pos_m[radar : radar + 1]

        def covered(p: F64) -> B:
            g = radar_geometry(radar_pos, p)
            return dwell_mask(rad, radar, g.slant_m[0], coverage_mask(rad, radar, g))

        return covered


@dataclass(frozen=True)
class PerfectIdentification:
    """Every track is identified as the threat it follows: the one read of truth."""

    def identify(self, picture: TrackState, rows: I64) -> I64:
        """(K,) threat index of each track row in `rows` (-1: a false track)."""
        return picture.truth[rows]


@dataclass(frozen=True)
class ValueAtRiskEvaluation:
    """Value at risk per time-to-go (`evaluate_threats`), times the type's doctrine weight.

    Attributes:
        assets: the defended assets.
        doctrine: weights per threat and the time-to-go softening.
    """

    assets: AssetParams
    doctrine: DoctrineParams

    def evaluate(self, pos_m: F64, vel_mps: F64, identity: I64) -> ThreatAssessment:
        """Score K tracks at (K, 3) positions and velocities, identified as `identity`."""
        weight = np.where(identity >= 0, self.doctrine.type_weight[np.maximum(identity, 0)], 1.0)
        ta = evaluate_threats(pos_m, vel_mps, self.assets, self.doctrine.tgo_softening_s)
        return replace(ta, score=ta.score * weight)


@dataclass(frozen=True)
class GreedyPlanner:
    """Priority order, cheapest adequate option, one salvo per track (`greedy_assign`).

    Attributes:
        missiles: the missile library (costs).
        salvo_size: missiles per engagement.
    """

    missiles: MissileParams
    salvo_size: int

    def plan(self, req: PlanRequest) -> Plan:
        """The engagements of one decision cycle."""
        n, n_b, n_m = req.feasible.shape
        res = greedy_assign(
            priority_order=req.order,
            feasible=(req.feasible & (req.stock >= self.salvo_size)[None]).reshape(n, -1),
            preference=(self.missiles.cost[None, None, :] + 1e-6 * req.t_intercept_rel_s).reshape(
                n, -1
            ),
            option_battery=np.repeat(np.arange(n_b), n_m),
            option_inventory=req.stock.reshape(-1),
            target_channels_free=req.target_channels_free,
            missile_channels_free=req.missile_channels_free,
            salvo_size=self.salvo_size,
        )
        rows = np.flatnonzero(res.option >= 0)
        return Plan(rows, res.option[rows], req.salvo[rows])


@dataclass(frozen=True)
class WtaPlanner:
    """Weapon-target assignment: value at risk against missile cost.

    Weapons are (battery, type) options with counts (stock, capped by the
    battery's free missile channels); a track's value is its threat score times
    `tgo_softening_s` -- the value at risk of an imminent threat -- so far
    threats weigh less and can wait for a cheaper shot. Target channels and
    battery-wide missile channels are then enforced by keeping each battery's
    most valuable engagements. One option per track: the one given most missiles;
    each track's own salvo caps its missiles (one under an adaptive look).

    Attributes:
        missiles: the missile library (Pk, cost).
        doctrine: solver, time limit, cost weight, softening.
    """

    missiles: MissileParams
    doctrine: DoctrineParams

    def plan(self, req: PlanRequest) -> Plan:
        """The engagements of one decision cycle."""
        mis, doc = self.missiles, self.doctrine
        score, salvo = req.score, req.salvo
        n, n_b, n_m = req.feasible.shape
        pk_nm = mis.pk[None, :] if req.pk is None else req.pk  # (N or 1, M)
        pk = np.where(req.feasible, pk_nm[:, None, :], 0.0).reshape(n, n_b * n_m).T
        counts = np.minimum(req.stock, req.missile_channels_free[:, None]).reshape(-1)
        problem = WtaProblem(
            values=score * doc.tgo_softening_s,
            pk=pk,
            counts=counts.astype(np.int64),
            cost=np.tile(mis.cost, n_b) * doc.missile_cost_weight,
            max_per_target=salvo.astype(np.int64),
        )
        x = solve(problem, doc.wta_solver, doc.wta_time_limit_s).x  # (O, N)
        opt = np.argmax(x, axis=0)
        count = np.minimum(x[opt, np.arange(n)], salvo)
        rows = np.flatnonzero(count > 0)
        return _fit_channels(req, rows, opt[rows], count[rows], score)


def _fit_channels(req: PlanRequest, rows: I64, opt: I64, count: I64, worth: F64) -> Plan:
    """Keep, per battery, the most valuable engagements that fit its channels and stock.

    Engagements are taken in decreasing `worth` of their track while the
    battery's cumulative targets, missiles and the option's stock (in that
    order) still fit.

    Args:
        req: the decision's request (channels, stock).
        rows: (E,) candidate rows engaged, one engagement each.
        opt: (E,) option b * M + m of each.
        count: (E,) missiles of each.
        worth: (N,) the order of preference of every candidate row.
    """
    if rows.size == 0:
        return Plan(rows, rows, rows)
    n_m = req.feasible.shape[2]
    order = np.lexsort((rows, -worth[rows]))
    rows, opt, count = rows[order], opt[order], count[order]
    bat_of = opt // n_m
    fits = (
        (rank_within_groups(bat_of) < req.target_channels_free[bat_of])
        & (grouped_cumsum(bat_of, count) <= req.missile_channels_free[bat_of])
        & (grouped_cumsum(opt, count) <= req.stock.reshape(-1)[opt])
    )
    return Plan(rows[fits], opt[fits], count[fits])


@dataclass(frozen=True)
class LookaheadPlanner:
    """Engage now or keep the round for later: one extended WTA per decision (`lookahead`).

    Targets are the candidate tracks -- options that can intercept a track
    only later (after a look, or deeper in its approach) count at the
    doctrine's `lookahead_discount` of their Pk -- and the threats the raid
    intelligence still expects; weapons are every option's rounds, on the
    launchers and in the reloads. Rounds the solution places on a track with an
    option that can fire now are fired; the rest stay in the magazines. The
    fired engagements then fit the channels and stock as in `WtaPlanner`.

    Attributes:
        missiles: the missile library (Pk, cost).
        doctrine: solver, time limit, `lookahead_cost_weight`, discount, salvo.
    """

    missiles: MissileParams
    doctrine: DoctrineParams

    def plan(self, req: PlanRequest) -> Plan:
        """The engagements of one decision cycle."""
        mis, doc = self.missiles, self.doctrine
        n, n_b, n_m = req.feasible.shape
        value = req.score * doc.tgo_softening_s if req.value is None else req.value
        pk = np.broadcast_to(mis.pk[None, :] if req.pk is None else req.pk, (n, n_m))
        later = np.zeros_like(req.feasible) if req.later is None else req.later
        reloads = np.zeros_like(req.stock) if req.reloads is None else req.reloads
        fv = np.zeros(0) if req.future_value is None else req.future_value
        fpk = np.zeros((0, n_m)) if req.future_pk is None else req.future_pk
        lp = lookahead_problem(
            value, pk, req.feasible, later, req.salvo, req.stock + reloads,
            mis.cost * doc.lookahead_cost_weight, fv, fpk, doc.salvo_size, doc.lookahead_discount,
        )  # fmt: skip
        x = solve(lp.problem, doc.wta_solver, doc.wta_time_limit_s).x
        rows, opt, count = fire_now(lp, x)
        return _fit_channels(req, rows, opt, count, value)


@dataclass(frozen=True)
class KinematicFlyout:
    """Average speed to the PIP; midcourse moves the aim point to the track's estimate."""

    def empty(self) -> Missiles:
        """No missiles; no physics sub-struct."""
        return Missiles(InFlight.empty(), None)

    def launch(self, missiles: Missiles, new: InFlight, picture: TrackState) -> Missiles:
        """`missiles` followed by the ones just launched."""
        return Missiles(missiles.flight.concat(new), missiles.physics)

    def reads_picture(self, missiles: Missiles, t1_s: float) -> bool:
        """Does `advance` to `t1_s` read the picture? Only when a missile arrives.

        The engine skips extrapolating the picture to the step's time (the
        midcourse aim) when it does not.
        """
        return bool((missiles.flight.t_intercept_s <= t1_s).any())

    def advance(
        self,
        missiles: Missiles,
        t0_s: float,
        t1_s: float,
        world: WorldState,
        picture: TrackState,
        rng: np.random.Generator,
    ) -> tuple[Missiles, Arrivals | None]:
        """Missiles whose intercept time is at or before `t1_s` arrive."""
        arrived = missiles.flight.t_intercept_s <= t1_s
        if not arrived.any():
            return missiles, None
        due = midcourse_update(missiles.flight.take(arrived), picture)
        held, _, truth = track_status(due.track_id, picture)
        return missiles.take(~arrived), Arrivals(due, None, held, truth)


@dataclass(frozen=True)
class GuidedFlyout:
    """Guided flight: 3-DOF point mass, proportional navigation, seeker (`guided.advance`).

    Attributes:
        params: the scenario (missile physics, batteries, threats, guidance step).
    """

    params: SimParams

    def empty(self) -> Missiles:
        """No missiles, with an empty physics sub-struct."""
        return Missiles(InFlight.empty(), GuidedFlights.empty())

    def launch(self, missiles: Missiles, new: InFlight, picture: TrackState) -> Missiles:
        """`missiles` followed by the ones just launched, with their physical state."""
        mis = self.params.missiles
        assert mis.physics is not None and missiles.physics is not None
        phys = launch_guided(new, picture, self.params.batteries.pos_m[new.battery], mis.physics)
        return Missiles(missiles.flight.concat(new), missiles.physics.concat(phys))

    def advance(
        self,
        missiles: Missiles,
        t0_s: float,
        t1_s: float,
        world: WorldState,
        picture: TrackState,
        rng: np.random.Generator,
    ) -> tuple[Missiles, Arrivals | None]:
        """Integrate every missile over [t0_s, t1_s]; flights that ended arrive."""
        p = self.params
        mis = p.missiles
        assert mis.physics is not None and missiles.physics is not None
        fl = missiles.flight
        phys, ended = advance(
            missiles.physics, t0_s, t1_s, p.guidance_step_s, mis.physics, mis.max_tof_s,
            p.threats, world.kill_time_s, picture, fl.track_id, world.evade_start_s, rng,
        )  # fmt: skip
        arrived = np.zeros(fl.n, dtype=bool)
        arrived[ended.row] = True
        if not arrived.any():
            return Missiles(fl, phys), None
        due = replace(fl.take(ended.row), t_intercept_s=ended.t_end_s)
        held, _, truth = track_status(due.track_id, picture)
        return Missiles(fl.take(~arrived), phys), Arrivals(due, ended, held, truth)


@dataclass(frozen=True)
class AverageSpeedIntercept:
    """Intercepts at each type's `average_speed_mps` in a straight line (kinematic flyout).

    Attributes:
        missiles: the missile library (speeds and envelopes).
    """

    missiles: MissileParams

    def grid(
        self,
        pos_m: F64,
        vel_mps: F64,
        batteries: BatteryParams,
        deadline_rel_s: F64,
        threat_type: I64 | None = None,
    ) -> InterceptGrid:
        """(N, B, M) intercepts of (N, 3) tracks (`intercept_grid`)."""
        return intercept_grid(pos_m, vel_mps, batteries, self.missiles, deadline_rel_s, threat_type)

    def flyout(
        self,
        t_now_s: float,
        track_pos_m: F64,
        track_vel_mps: F64,
        launch_pos_m: F64,
        launch_delay_s: F64,
        mtype: I64,
    ) -> tuple[F64, F64, F64]:
        """(t_launch_s, t_intercept_s, pip_m) of K missiles (`kinematic_flyout`)."""
        return kinematic_flyout(
            t_now_s, track_pos_m, track_vel_mps, launch_pos_m, launch_delay_s,
            self.missiles.speed_mps[mtype],
        )  # fmt: skip


@dataclass(frozen=True)
class FlyoutTableIntercept:
    """Intercepts from each type's own 3-DOF flights, tabled (guided flyout).

    Attributes:
        missiles: the missile library (envelopes).
        table: the types' flyout table (`skydome.engagement.flyout_table`).
    """

    missiles: MissileParams
    table: FlyoutTable

    @staticmethod
    def of(missiles: MissileParams) -> FlyoutTableIntercept:
        """The library's table (built once per process for the same physics)."""
        if missiles.physics is None:
            raise ValueError("flyout tables need every missile type's physics")
        table = flyout_table(
            missiles.physics, missiles.max_range_m, missiles.max_alt_m, missiles.max_tof_s
        )
        return FlyoutTableIntercept(missiles, table)

    def grid(
        self,
        pos_m: F64,
        vel_mps: F64,
        batteries: BatteryParams,
        deadline_rel_s: F64,
        threat_type: I64 | None = None,
    ) -> InterceptGrid:
        """(N, B, M) intercepts of (N, 3) tracks (`table_intercept_grid`)."""
        return table_intercept_grid(
            pos_m, vel_mps, batteries, self.missiles, self.table, deadline_rel_s, threat_type
        )

    def flyout(
        self,
        t_now_s: float,
        track_pos_m: F64,
        track_vel_mps: F64,
        launch_pos_m: F64,
        launch_delay_s: F64,
        mtype: I64,
    ) -> tuple[F64, F64, F64]:
        """(t_launch_s, t_intercept_s, pip_m) of K missiles (`table_flyout`)."""
        return table_flyout(
            self.table, t_now_s, track_pos_m, track_vel_mps, launch_pos_m, launch_delay_s, mtype
        )


@dataclass(frozen=True)
class LethalityAssessment:
    """Homing basket and Pk (kinematic), or lethal radius and Pk (guided flights).

    Attributes:
        threats: threat truth.
        missiles: the missile library.
        battery_pos_m: (B, 3) launch positions, for the envelope check at the
            end of the flight (None: no check).
    """

    threats: Threats
    missiles: MissileParams
    battery_pos_m: F64 | None = None

    def assess(self, arrivals: Arrivals, world: WorldState, rng: np.random.Generator) -> Outcome:
        """Resolve every arriving missile at its own time."""
        due = arrivals.due
        launch = None if self.battery_pos_m is None else self.battery_pos_m[due.battery]
        if arrivals.ended is None:
            return assess(
                due, self.threats, world.kill_time_s, self.missiles, rng,
                evade_start_s=world.evade_start_s, held=arrivals.held,
                guided_on=arrivals.guided_on, launch_pos_m=launch,
            )  # fmt: skip
        return assess_guided(
            due, arrivals.ended, self.threats, world.kill_time_s, self.missiles, rng,
            evade_start_s=world.evade_start_s, held=arrivals.held, guided_on=arrivals.guided_on,
            launch_pos_m=launch,
        )  # fmt: skip


def _greedy(missiles: MissileParams, doctrine: DoctrineParams) -> GreedyPlanner:
    return GreedyPlanner(missiles, doctrine.salvo_size)


PLANNERS: dict[str, Callable[[MissileParams, DoctrineParams], Planner]] = {
    "greedy": _greedy,
    "wta": WtaPlanner,
    "lookahead": LookaheadPlanner,
}
"""The doctrine's planner names and how each is built."""


def default_pipeline(params: SimParams, tracker: Tracker | None = None) -> Pipeline:
    """The built-in stages for a compiled scenario: its strings become objects here.

    Args:
        params: the compiled scenario.
        tracker: the tracker; the GNN tracker with the scenario's settings if None.

    The planner's intercept model follows the flyout: average speeds for the
    kinematic flyout, the types' own flights (flyout tables) for the guided one.
    """
    doc = params.doctrine
    if doc.planner not in PLANNERS:
        raise ValueError(f"unknown planner {doc.planner!r}; expected one of {', '.join(PLANNERS)}")
    if params.flyout not in ("kinematic", "guided"):
        raise ValueError(f"unknown flyout {params.flyout!r}; expected kinematic or guided")
    guided = params.flyout == "guided"
    if doc.planner in ("wta", "lookahead"):
        warm_kernels()  # the solver's compiled kernels, loaded before any decision's deadline
    return Pipeline(
        params=params,
        sensor=RadarSensor(params.radars, params.threats),
        tracker=tracker if tracker is not None else GnnTracker(params.tracker),
        identification=(
            PerfectIdentification()
            if params.identity is None
            else ContestedIdentification(params.identity, params.assets)
        ),
        evaluation=ValueAtRiskEvaluation(params.assets, doc),
        planner=PLANNERS[doc.planner](params.missiles, doc),
        flyout=GuidedFlyout(params) if guided else KinematicFlyout(),
        assessment=LethalityAssessment(params.threats, params.missiles, params.batteries.pos_m),
        intercept=(
            FlyoutTableIntercept.of(params.missiles)
            if guided
            else AverageSpeedIntercept(params.missiles)
        ),
    )
