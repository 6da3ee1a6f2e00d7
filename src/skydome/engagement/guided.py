"""Interceptor flyout, guided level: 3-DOF point-mass missiles, midcourse and PN homing.

Every guided missile in the air is one row of `GuidedFlights`, aligned with the
engine's `InFlight`; `advance` integrates all of them together with the
validated kernel of `skydome.engagement.guidance` (thrust and mass flow, drag in
an exponential atmosphere, gravity, an altitude-limited lateral acceleration).

Phases of one flight:

1. **launch**: the missile leaves its launcher at `LAUNCH_SPEED_MPS` along the
   line to its first aim point (pointed launch), or, for a type with
   `vertical_launch`, straight up, and turns over towards that line at the
   type's turn-over rate (`turn_over`);
2. **midcourse**: proportional navigation on the fire-control track -- the
   engaged track's latest estimate, extrapolated at constant velocity; a type
   with a `loft_angle_deg` climbs at that angle to `loft_ceiling_km`, cruises in
   thin air and descends onto the target at the same angle (`_lofted`); if the
   track is dropped the missile keeps flying on its last estimate;
3. **terminal**: once the (unlofted) track estimate is within the seeker's
   `seeker_range_km`, the seeker acquires the live threat nearest that
   estimate within seeker range, and PN (or augmented PN) homes on its true
   position and velocity;
4. **end**: at closest approach to the threat homed on (the miss distance),
   or when the missile is spent -- ground impact, past its `max_flight_time_s`,
   or burnt out and slower than `min_speed_mps` -- or when its target died or
   leaked first.

The lethality model is a cookie cutter: a miss within `lethal_radius_m` kills
with probability `pk` (fuze and warhead reliability), any larger miss does not
(see `skydome.engagement.assessment.assess_guided`).

`physics_envelope` flies a missile type's own physics against stationary
points to find the range and ceiling it can actually reach, the check that a
library's tabled `max_range_km` and `max_altitude_km` come out of its physics.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, concat_rows, take_rows
from skydome.engagement.flyout import InFlight, track_status
from skydome.engagement.guidance import (
    APN,
    G0,
    ZEM,
    MissilePhysics,
    MissileState,
    air_density,
    lateral_limit,
    step,
)
from skydome.engagement.guided_launch import (
    LAUNCH_HEIGHT_M,
    LAUNCH_SPEED_MPS,
    launch_velocity,
    lofted,
    turn_over,
)
from skydome.engagement.params import TypePhysics
from skydome.threats import Threats
from skydome.tracking.base import TrackState

__all__ = [
    "CEILING_G",
    "CPA",
    "LAUNCH_HEIGHT_M",
    "LAUNCH_SPEED_MPS",
    "LOST",
    "SPENT",
    "Envelope",
    "GuidedFlights",
    "Ended",
    "advance",
    "launch_guided",
    "physics_envelope",
    "turn_over",
]

B = NDArray[np.bool_]


def _norm3(v: F64) -> F64:
    """Row norms of a (K, 3) array."""
    out: F64 = np.sqrt(np.sum(v * v, axis=1))
    return out


COARSE_STEP_S = 0.5
"""Guidance step of missiles far from their end game, s."""

FINE_MARGIN_S = 3.0
"""A missile within this time to go (beyond the engine tick) takes fine steps, s."""

CEILING_G = 3.0
"""A type's ceiling is the highest altitude it reaches with this much lateral
acceleration left, in g (enough to home on a non-manoeuvring aircraft)."""

_launch_velocity = launch_velocity  # (names the flyout tables import from here)
_lofted = lofted

CPA, SPENT, LOST = 0, 1, 2
"""How a flight ended: closest approach to the threat homed on; spent (ground,
time limit, speed); target lost (never acquired, or it died or leaked first)."""


@dataclass(frozen=True)
class GuidedFlights:
    """Guided missiles launched and not yet resolved (K rows, aligned with `InFlight`).

    Attributes:
        state: kinematic state of each missile (time since launch, position,
            velocity, mass); rows not yet launched are at the launcher.
        mtype: (K,) missile type.
        t_launch_s: (K,) launch time (the engine's, quantised to the guidance step
            by starting at the first step at or after it).
        aim_pos_m: (K, 3) the track estimate guided on, valid at `aim_time_s`.
        aim_vel_mps: (K, 3) its velocity.
        aim_time_s: (K,) time of that estimate.
        target: (K,) threat acquired by the seeker (-1: still in midcourse).
    """

    state: MissileState
    mtype: I64
    t_launch_s: F64
    aim_pos_m: F64
    aim_vel_mps: F64
    aim_time_s: F64
    target: I64

    @staticmethod
    def empty() -> GuidedFlights:
        """No guided missiles."""
        z3 = np.zeros((0, 3))
        f = np.zeros(0)
        return GuidedFlights(
            MissileState.launch(z3, z3, f), np.zeros(0, dtype=np.int64), f, z3, z3, f,
            np.zeros(0, dtype=np.int64),
        )  # fmt: skip

    @property
    def n(self) -> int:
        """Number of missiles."""
        return int(self.mtype.shape[0])

    def take(self, sel: B | I64) -> GuidedFlights:
        """The missiles selected by a mask or index array."""
        return take_rows(self, sel)

    def concat(self, other: GuidedFlights) -> GuidedFlights:
        """These missiles followed by `other`'s."""
        return concat_rows(self, other)


@dataclass(frozen=True)
class Ended:
    """Flights that ended during one `advance` (E rows, indices into the flights).

    Attributes:
        row: (E,) row of each ended missile in the flights (and in `InFlight`).
        t_end_s: (E,) absolute time the flight ended.
        how: (E,) CPA, SPENT or LOST.
        target: (E,) threat homed on (-1: none).
        miss_m: (E,) miss distance to that threat at closest approach (nan unless CPA).
        pos_m: (E, 3) the missile's position at the end.
    """

    row: I64
    t_end_s: F64
    how: I64
    target: I64
    miss_m: F64
    pos_m: F64


def _physics(tp: TypePhysics, m: I64, gravity: bool = True) -> MissilePhysics:
    return MissilePhysics(
        boost_thrust_n=tp.boost_thrust_n[m],
        boost_s=tp.boost_s[m],
        sustain_thrust_n=tp.sustain_thrust_n[m],
        sustain_s=tp.sustain_s[m],
        isp_s=tp.isp_s[m],
        cd_area_m2=tp.cd_area_m2[m],
        a_limit_mps2=tp.a_limit_mps2[m],
        a_limit_floor_mps2=tp.a_floor_mps2[m],
        nav_gain=tp.nav_gain[m],
        augmented=tp.augmented[m],
        gravity=gravity,
        lift_area_m2=tp.lift_area_m2[m],
        gravity_bias=True,
        law=tp.law[m],
        tau_s=tp.tau_s[m],
        jerk_limit_mps3=tp.jerk_limit_mps3[m],
    )


def launch_guided(
    new: InFlight, tracks: TrackState, launch_pos_m: F64, tp: TypePhysics
) -> GuidedFlights:
    """Guided state of newly launched missiles (K rows, aligned with `new`).

    Args:
        new: the missiles just launched (engine bookkeeping).
        tracks: the air picture at the decision (the engaged tracks' estimates).
        launch_pos_m: (K, 3) each missile's launcher.
        tp: the library's physics.
    """
    held, row, _ = track_status(new.track_id, tracks)
    aim_pos = np.where(held[:, None], tracks.x[row, :3], new.pip_m)
    aim_vel = np.where(held[:, None], tracks.x[row, 3:6], 0.0)
    aim_t = np.where(held, tracks.time_s, new.t_launch_s)
    start = launch_pos_m.copy()
    start[:, 2] = np.maximum(start[:, 2], LAUNCH_HEIGHT_M)
    state = MissileState.launch(
        start, _launch_velocity(new.pip_m, start, tp, new.mtype), tp.mass_kg[new.mtype]
    )
    return GuidedFlights(
        state=state,
        mtype=new.mtype.copy(),
        t_launch_s=new.t_launch_s.copy(),
        aim_pos_m=aim_pos,
        aim_vel_mps=aim_vel,
        aim_time_s=aim_t,
        target=np.full(new.n, -1, dtype=np.int64),
    )


def _acquire(
    est_m: F64,
    mpos_m: F64,
    seeker_m: F64,
    threats: Threats,
    alive: B,
    t: float,
    evade_start_s: F64 | None,
) -> I64:
    """Nearest live threat to each estimate, within seeker range of the missile (-1: none)."""
    live = np.flatnonzero(alive)
    if live.size == 0:
        return np.full(est_m.shape[0], -1, dtype=np.int64)
    tpos, _ = threats.state_at(t, live, evade_start_s=evade_start_s)
    d_est = np.linalg.norm(tpos[None, :, :] - est_m[:, None, :], axis=2)  # (A, L)
    d_mis = np.linalg.norm(tpos[None, :, :] - mpos_m[:, None, :], axis=2)
    d_est = np.where(d_mis <= seeker_m[:, None], d_est, np.inf)
    j = np.argmin(d_est, axis=1)
    ok = np.isfinite(d_est[np.arange(est_m.shape[0]), j])
    return np.where(ok, live[j], -1).astype(np.int64)


def advance(
    fl: GuidedFlights,
    t0_s: float,
    t1_s: float,
    dt_s: float,
    tp: TypePhysics,
    max_tof_s: F64,
    threats: Threats,
    kill_time_s: F64,
    tracks: TrackState,
    track_id: I64,
    evade_start_s: F64 | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[GuidedFlights, Ended]:
    """Integrate every guided missile from `t0_s` to `t1_s`.

    Missiles in their end game or just launched take steps of `dt_s`; the
    others steps of `COARSE_STEP_S` (at most). The loop is over time steps;
    every step treats all missiles of its step size at once.

    Args:
        fl: the missiles (K rows).
        t0_s: start of the interval, absolute time, s.
        t1_s: its end, s.
        dt_s: guidance step, s.
        tp: the library's physics.
        max_tof_s: (M,) longest flight of each type.
        threats: threat truth.
        kill_time_s: (N,) each threat's time of death (inf: alive).
        tracks: the air picture (midcourse updates).
        track_id: (K,) track each missile was fired at.
        evade_start_s: (N,) start of each threat's evasive break (engine state;
            inf: never); None: no threat evades.
        rng: the seeker noise stream (None: ideal seekers whatever the physics say).

    Returns:
        The flights still going (ended rows removed) and the ended ones, with
        rows indexing the input `fl`.
    """
    if fl.n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return fl, Ended(empty, np.zeros(0), empty, empty, np.zeros(0), np.zeros((0, 3)))
    held, row, _ = track_status(track_id, tracks)
    # An empty picture has no row 0 to gather (np.where evaluates both sides).
    x = tracks.x[row] if tracks.n else np.zeros((fl.n, 6))
    aim_pos = np.where(held[:, None], x[:, :3], fl.aim_pos_m)
    aim_vel = np.where(held[:, None], x[:, 3:6], fl.aim_vel_mps)
    aim_t = np.where(held, tracks.time_s, fl.aim_time_s)
    s0 = fl.state
    # Copies: a stage never changes its inputs.
    s = MissileState(
        s0.t_s.copy(), s0.pos_m.copy(), s0.vel_mps.copy(), s0.mass_kg.copy(), s0.done,
        s0.miss_m, s0.t_end_s, s0.acc_mps2.copy(),
    )  # fmt: skip
    target = fl.target.copy()
    k = fl.n
    how = np.full(k, -1, dtype=np.int64)
    t_end = np.full(k, np.nan)
    miss = np.full(k, np.nan)
    m = fl.mtype
    phys_all = _physics(tp, m)
    # Two step sizes: missiles far from their end game (time to go to the
    # estimate beyond the interval plus FINE_MARGIN_S) and already in the air
    # take coarse steps; the rest fine ones. The choice depends on each missile
    # alone, so no missile's flight depends on another's.
    span = t1_s - t0_s
    est0 = aim_pos + aim_vel * (t0_s - aim_t)[:, None]
    if (target >= 0).any():
        tr = np.flatnonzero(target >= 0)
        est0[tr] = threats.state_at(t0_s, target[tr], evade_start_s=evade_start_s)[0]
    rng_m = np.linalg.norm(est0 - s.pos_m, axis=1)
    speed0 = np.maximum(np.linalg.norm(s.vel_mps, axis=1), 300.0)
    fine = (fl.t_launch_s > t0_s) | (rng_m / speed0 < span + FINE_MARGIN_S)
    n_fine = max(1, int(np.ceil(span / dt_s - 1e-9)))
    n_coarse = max(1, int(np.ceil(span / max(dt_s, COARSE_STEP_S) - 1e-9)))
    schedule = [
        (i, span / n, t0_s + j * span / n)
        for i, n in ((0, n_coarse), (1, n_fine))
        for j in range(n)
    ]
    for group, h, tau in schedule:
        sel = fine if group else ~fine
        act = np.flatnonzero(sel & (fl.t_launch_s <= tau + 1e-9) & (how < 0))
        if act.size == 0:
            continue
        pos = s.pos_m[act]
        est = aim_pos[act] + aim_vel[act] * (tau - aim_t[act])[:, None]
        # Seeker acquisition: the unlofted estimate inside seeker range.
        mid = target[act] < 0
        near = mid & (np.linalg.norm(est - pos, axis=1) <= tp.seeker_m[m[act]])
        if near.any():
            alive = (threats.launch_s <= tau) & (tau < threats.end_s) & (kill_time_s > tau)
            a = act[near]
            target[a] = _acquire(
                est[near], pos[near], tp.seeker_m[m[a]], threats, alive, tau, evade_start_s
            )
        term = target[act] >= 0
        gone = np.zeros(act.size, dtype=bool)
        tgt_pos, direct = _lofted(
            est, pos, np.where(term, 0.0, tp.loft_rad[m[act]]), tp.loft_ceiling_m[m[act]]
        )
        tgt_vel = aim_vel[act].copy()
        tgt_acc = np.zeros((act.size, 3))
        seen: F64 | None = None  # the seeker's view of the target (None: the truth)
        if term.any():
            ti = target[act[term]]
            tp_true, tv_true = threats.state_at(tau, ti, evade_start_s=evade_start_s)
            tgt_pos[term] = tp_true
            tgt_vel[term] = tv_true
            if rng is not None:
                # What the seeker sees: angle noise (grows with range) and glint.
                mt = m[act[term]]
                rng_to = np.linalg.norm(tp_true - pos[term], axis=1)
                sd = np.hypot(tp.seeker_angle_rad[mt] * rng_to, tp.seeker_glint_m[mt])
                seen = tgt_pos.copy()
                seen[term] = tp_true + rng.standard_normal((ti.size, 3)) * sd[:, None]
            gone[term] = ~((tau < threats.end_s[ti]) & (kill_time_s[ti] > tau))
            # The target's acceleration over the step: the APN and ZEM laws use
            # it, and every law's closest approach within its last steps does.
            mt = m[act[term]]
            rel_v = tv_true - s.vel_mps[act[term]]
            gap = np.linalg.norm(tp_true - pos[term], axis=1)
            need = (tp.law[mt] == APN) | (tp.law[mt] == ZEM) | (gap < 3.0 * h * _norm3(rel_v))
            if need.any():
                _, tv_next = threats.state_at(tau + h, ti[need], evade_start_s=evade_start_s)
                acc = tgt_acc[term]
                acc[need] = (tv_next - tv_true[need]) / h
                tgt_acc[term] = acc
        sub = MissileState(
            s.t_s[act], pos, s.vel_mps[act], s.mass_kg[act], np.zeros(act.size, dtype=bool),
            np.full(act.size, np.nan), np.full(act.size, np.nan), s.acc_mps2[act],
        )  # fmt: skip
        new, _ = step(
            sub, take_rows(phys_all, act), tgt_pos, tgt_vel, tgt_acc, h,
            guide_pos_m=seen,
        )  # fmt: skip
        new = turn_over(new, est, tp, m[act], h)
        s.t_s[act] = new.t_s
        s.pos_m[act] = new.pos_m
        s.vel_mps[act] = new.vel_mps
        s.mass_kg[act] = new.mass_kg
        s.acc_mps2[act] = new.acc_mps2
        burn = tp.boost_s[m[act]] + tp.sustain_s[m[act]]
        speed = np.linalg.norm(new.vel_mps, axis=1)
        spent = (
            (new.pos_m[:, 2] < 0.0)
            | (new.t_s > max_tof_s[m[act]])
            | ((new.t_s > burn) & (speed < tp.min_speed_mps[m[act]]))
        )
        cpa = new.done & term & ~gone
        # Passing a loft point is not the end of a flight; passing the track
        # estimate unacquired, within seeker range of it, is. (The range to an
        # estimate also opens when it recedes faster than a missile just off its
        # rail: that flight goes on, and ends spent if it never gets there.)
        near = np.nan_to_num(new.miss_m, nan=np.inf) <= tp.seeker_m[m[act]]
        lost = gone | (new.done & ~term & direct & near)
        ended = cpa | lost | spent
        e = act[ended]
        how[e] = np.where(cpa[ended], CPA, np.where(lost[ended], LOST, SPENT))
        # The closest approach fell inside this step: tau plus its share of it.
        t_end[e] = np.where(
            cpa[ended], tau + np.nan_to_num(new.t_end_s[ended] - sub.t_s[ended]), tau + h
        )
        miss[e] = np.where(cpa[ended], new.miss_m[ended], np.nan)
    done = how >= 0
    rows = np.flatnonzero(done)
    keep = ~done
    remaining = GuidedFlights(
        state=s, mtype=m, t_launch_s=fl.t_launch_s, aim_pos_m=aim_pos, aim_vel_mps=aim_vel,
        aim_time_s=aim_t, target=target,
    ).take(keep)  # fmt: skip
    return remaining, Ended(
        row=rows,
        t_end_s=np.clip(t_end[rows], t0_s, t1_s),
        how=how[rows],
        target=target[rows],
        miss_m=miss[rows],
        pos_m=s.pos_m[rows],
    )


@dataclass(frozen=True)
class Envelope:
    """What a missile type's physics reaches against stationary points.

    Attributes:
        max_range_m: farthest ground range hit (miss within the lethal radius)
            at `altitude_m`.
        max_altitude_m: highest altitude hit at `ground_range_m` with at least
            `CEILING_G` of lateral acceleration left there.
        speed_at_max_range_mps: the missile's speed at that farthest hit.
    """

    max_range_m: float
    max_altitude_m: float
    speed_at_max_range_mps: float


def _fly_fan(
    tp: TypePhysics, m: int, pts: F64, max_tof_s: float, dt_s: float
) -> tuple[B, F64, F64]:
    """Fly type `m` at every stationary point at once: (hit, speed, mass) at the end."""
    k = pts.shape[0]
    mt = np.full(k, m, dtype=np.int64)
    phys = _physics(tp, mt)
    start = np.zeros((k, 3))
    start[:, 2] = LAUNCH_HEIGHT_M
    s = MissileState.launch(start, _launch_velocity(pts, start, tp, mt), tp.mass_kg[mt])
    hit = np.zeros(k, dtype=bool)
    over = np.zeros(k, dtype=bool)
    speed_end = np.zeros(k)
    mass_end = tp.mass_kg[mt].copy()
    zero = np.zeros((k, 3))
    burn = tp.boost_s[m] + tp.sustain_s[m]
    t = 0.0
    t_stop = min(max_tof_s, 1800.0)
    while t < t_stop and not over.all():
        near = np.linalg.norm(pts - s.pos_m, axis=1) <= tp.seeker_m[m]
        aim, direct = _lofted(
            pts, s.pos_m, np.where(near, 0.0, tp.loft_rad[mt]), tp.loft_ceiling_m[mt]
        )
        s, _ = step(s, phys, aim, zero, zero, dt_s)
        s = turn_over(s, pts, tp, mt, dt_s)
        s = replace(s, done=s.done & direct)  # passing a loft point ends nothing
        t += dt_s
        speed = np.linalg.norm(s.vel_mps, axis=1)
        spent = ~s.done & ((s.pos_m[:, 2] < 0.0) | ((t > burn) & (speed < tp.min_speed_mps[m])))
        # Only a closest approach to the true point (seeker phase) is a hit.
        fresh = s.done & near & ~over & (s.miss_m <= tp.lethal_m[m])
        speed_end = np.where(fresh, speed, speed_end)
        mass_end = np.where(fresh, s.mass_kg, mass_end)
        hit |= fresh
        over |= spent | s.done
    # A point counts only where the missile can still manoeuvre when it gets there.
    agile = lateral_limit(phys, air_density(pts[:, 2]), speed_end, mass_end) >= CEILING_G * G0
    return hit & agile, speed_end, mass_end


def physics_envelope(
    tp: TypePhysics,
    m: int,
    max_tof_s: float = np.inf,
    altitude_m: float = 10_000.0,
    ground_range_m: float = 10_000.0,
    dt_s: float = 0.05,
    n: int = 32,
) -> Envelope:
    """Fly type `m` against fans of stationary points to find its reach.

    The missile flies the engine's guidance (lofted midcourse, then PN with the
    seeker) against `n` points at `altitude_m` spread in ground range up to
    three times the ideal ballistic range of its rocket-equation burn-out speed
    (a lofted, gravity-compensated flight glides past that range), and
    against `n` points above `ground_range_m` up to 200 km; a point counts as
    reached when the flight ends at closest approach within the lethal radius
    with at least `CEILING_G` of lateral acceleration left. Each fan is then
    refined once between its farthest hit and the next point, so the
    resolution is 1/n^2 of the fan. The flights of a fan are integrated together.

    Args:
        tp: the library's physics.
        m: the type.
        max_tof_s: the type's longest flight, s.
        altitude_m: target altitude for the range fan, m.
        ground_range_m: ground range of the altitude fan, m.
        dt_s: integration step, s.
        n: points per fan.

    Returns:
        The reach found.
    """
    burnt = (tp.boost_thrust_n[m] * tp.boost_s[m] + tp.sustain_thrust_n[m] * tp.sustain_s[m]) / (
        tp.isp_s[m] * G0
    )
    dv = tp.isp_s[m] * G0 * np.log(tp.mass_kg[m] / (tp.mass_kg[m] - burnt))
    # Past the ballistic bound dv^2/g: with gravity compensation a lofted missile
    # glides farther than a ballistic one.
    r_top = float(min(3.0 * dv * dv / G0, 3_000e3))

    def reach(lo: float, hi: float, axis: int) -> tuple[float, float]:
        best, v_best = 0.0, 0.0
        for _ in range(2):  # coarse fan, then one refinement
            grid = np.linspace(lo, hi, n + 1)[1:]
            pts = np.zeros((n, 3))
            pts[:, 0] = grid if axis == 0 else ground_range_m
            pts[:, 2] = altitude_m if axis == 0 else grid
            hit, speed, _ = _fly_fan(tp, m, pts, max_tof_s, dt_s)
            if not hit.any():
                break
            j = int(np.flatnonzero(hit).max())
            best, v_best = float(grid[j]), float(speed[j])
            width = (hi - lo) / n
            lo, hi = best, best + width
        return best, v_best

    r_max, v_r = reach(0.0, r_top, 0)
    h_max, _ = reach(0.0, 200e3, 2)
    return Envelope(max_range_m=r_max, max_altitude_m=h_max, speed_at_max_range_mps=v_r)
