"""Missile flyout and kill assessment of R replications at once (batched replications).

The batch layout (issue 16): the missiles of every replication in one `Missiles`
table sorted by replication, `mrep` (K,) the replication of each row, and within
a replication in the single run's order; `InFlight` id columns (threat, track,
battery, missile id) and `GuidedFlights.target` stay LOCAL (the single run's
values). Per-threat world arrays are rep-major flat (R*N,): the global row of
threat i of replication k is k*N + i. The air picture is one `TrackState` of
every replication's tracks sorted by replication, `trep` (T,) beside it, track
ids local; `time_s` is common.

Each function equals the single-replication stage (`KinematicFlyout`,
`GuidedFlyout`, `LethalityAssessment`) called on each replication's slice with
that replication's generator, the results concatenated: the same arithmetic on
every row, the random draws made per replication (same sizes, same order), and
every search over threats (the seeker's acquisition, the kinematic seeker's
nearest threat) restricted to the replication's own threats.

A replication whose single call returns no arrivals (`None`) has no rows in the
batch's arrivals; the batch returns `None` only when no replication has any.

The picture the flyout reads (`aim`): the single engine extrapolates it to the
step's time only when `reads_picture` says so for that replication. In a batch
the caller extrapolates every replication's tracks when any replication reads
(`reads_picture_batch`, `aim_picture_batch`). That is harmless: the kinematic
flyout reads the picture only for missiles that arrive (a replication with no
arrival is returned unchanged), the guided flyout always reads it, and a
replication with an empty picture holds no track to extrapolate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engagement.assessment import (
    DESTROYED,
    KILL,
    MISS_BASKET,
    MISS_PK,
    NO_TARGET,
    OUT_OF_REACH,
    SPENT,
    TRACK_LOST,
    Outcome,
    _in_envelope,
    carleton_kill_probability,
)
from skydome.engagement.flyout import InFlight, midcourse_update, track_status
from skydome.engagement.guidance import APN, ZEM, MissileState, _f64, _kernel, _state
from skydome.engagement.guided import (
    COARSE_STEP_S,
    CPA,
    FINE_MARGIN_S,
    LOST,
    Ended,
    GuidedFlights,
    _norm3,
    _physics,
    launch_guided,
)
from skydome.engagement.guided import SPENT as SPENT_FLIGHT
from skydome.engagement.guided_launch import lofted, turn_over
from skydome.engagement.params import MissileParams, TypePhysics
from skydome.engine.pipeline import Arrivals, Flyout, KillAssessment
from skydome.engine.stages import GuidedFlyout, KinematicFlyout, LethalityAssessment
from skydome.engine.state import Missiles, WorldState
from skydome.threats import Threats, tile_threats
from skydome.tracking.base import TrackState

__all__ = [
    "advance_batch",
    "aim_picture_batch",
    "assess_batch",
    "launch_batch",
    "reads_picture_batch",
    "supports_batch",
]

B = NDArray[np.bool_]


def supports_batch(flyout: object, assessment: object) -> bool:
    """Whether these stages have a batched form here (the built-in ones, exactly)."""
    return type(flyout) in (KinematicFlyout, GuidedFlyout) and type(assessment) is (
        LethalityAssessment
    )


def _offsets(rep: I64, n_reps: int) -> I64:
    """(R+1,) start of each replication's rows in a table sorted by replication."""
    out: I64 = np.searchsorted(rep, np.arange(n_reps + 1)).astype(np.int64)
    return out


def _rekey(track_id: I64, rep: I64, stride: int) -> I64:
    """Globally unique track keys rep * stride + id."""
    out: I64 = rep * stride + track_id
    return out


def _stride(*ids: I64) -> int:
    """One more than the largest track id of any of `ids` (at least 1)."""
    top = max((int(a.max()) for a in ids if a.size), default=0)
    return top + 1


def _rekeyed_picture(picture: TrackState, trep: I64, stride: int) -> TrackState:
    """The picture with globally unique track ids (rep * stride + id): lookups stay per rep."""
    return replace(picture, track_id=_rekey(picture.track_id, trep, stride))


def launch_batch(
    flyout: Flyout,
    missiles: Missiles,
    mrep: I64,
    new: InFlight,
    new_rep: I64,
    picture: TrackState,
    trep: I64,
) -> tuple[Missiles, I64]:
    """`flyout.launch` of every replication: the new missiles appended per replication.

    Args:
        flyout: the single-replication flyout stage.
        missiles: (K rows) every replication's missiles, sorted by replication.
        mrep: (K,) replication of each.
        new: (J rows) the missiles just launched, sorted by replication (ids local).
        new_rep: (J,) replication of each.
        picture: the air picture of every replication (tracks sorted by replication).
        trep: (T,) replication of each track row.

    Returns:
        (missiles, mrep): K + J rows sorted by replication, each replication's
        existing missiles then its new ones (the single run's order).
    """
    assert type(flyout) in (KinematicFlyout, GuidedFlyout), "see supports_batch"
    if isinstance(flyout, GuidedFlyout):
        mis = flyout.params.missiles
        assert mis.physics is not None and missiles.physics is not None
        stride = _stride(picture.track_id, new.track_id)
        keyed = replace(new, track_id=_rekey(new.track_id, new_rep, stride))
        phys = launch_guided(
            keyed,
            _rekeyed_picture(picture, trep, stride),
            flyout.params.batteries.pos_m[new.battery],
            mis.physics,
        )
        both = Missiles(missiles.flight.concat(new), missiles.physics.concat(phys))
    else:
        both = Missiles(missiles.flight.concat(new), missiles.physics)
    rep = np.concatenate([mrep, new_rep]).astype(np.int64)
    if mrep.size and new_rep.size and new_rep[0] < mrep[-1]:
        order = np.argsort(rep, kind="stable")
        return both.take(order), rep[order]
    return both, rep


def reads_picture_batch(flyout: Flyout, missiles: Missiles, mrep: I64, t1_s: float) -> bool:
    """Whether `advance` of any replication to `t1_s` reads the picture.

    Kinematic: some missile (of any replication) arrives; guided: always.
    """
    reads = getattr(flyout, "reads_picture", None)
    return reads is None or bool(reads(missiles, t1_s))


def aim_picture_batch(
    flyout: Flyout,
    missiles: Missiles,
    mrep: I64,
    picture: TrackState,
    t1_s: float,
    predict: Callable[[TrackState, float, I64], F64],
) -> TrackState:
    """The picture the flyout reads this step: every track extrapolated to `t1_s` if any reads.

    Args:
        flyout: the flyout stage.
        missiles: every replication's missiles, sorted by replication.
        mrep: (K,) replication of each.
        picture: every replication's tracks (common `time_s`).
        t1_s: the step's time, s.
        predict: (picture, t, rows) -> (rows, 6) the tracker's extrapolation,
            row by row (`Pipeline.predict` or its batched form).
    """
    if picture.n and t1_s > picture.time_s and reads_picture_batch(flyout, missiles, mrep, t1_s):
        return replace(picture, x=predict(picture, t1_s, np.arange(picture.n)), time_s=t1_s)
    return picture


def advance_batch(
    flyout: Flyout,
    missiles: Missiles,
    mrep: I64,
    t0_s: float,
    t1_s: float,
    world: WorldState,
    aim: TrackState,
    trep: I64,
    rngs_seeker: Sequence[np.random.Generator],
    n_reps: int,
) -> tuple[Missiles, I64, Arrivals | None, I64 | None]:
    """`flyout.advance` of every replication from `t0_s` to `t1_s`.

    Args:
        flyout: the single-replication flyout stage.
        missiles: (K rows) every replication's missiles, sorted by replication.
        mrep: (K,) replication of each.
        t0_s: start of the step, s (common to every replication).
        t1_s: its end, s.
        world: rep-major truth ((R*N,) per-threat arrays).
        aim: every replication's picture as the flyout reads it (`aim_picture_batch`).
        trep: (T,) replication of each track row.
        rngs_seeker: (R,) each replication's seeker stream (guided flyout).
        n_reps: R.

    Returns:
        (missiles, mrep, arrivals, arep): the missiles still flying and their
        replications; the arrivals of every replication sorted by replication
        (None: none in any) and their replications. `arrivals.ended.row`
        indexes the batch's input rows.
    """
    assert type(flyout) in (KinematicFlyout, GuidedFlyout), "see supports_batch"
    if isinstance(flyout, GuidedFlyout):
        return _advance_guided(flyout, missiles, mrep, t0_s, t1_s, world, aim, trep, rngs_seeker)
    fl = missiles.flight
    arrived = fl.t_intercept_s <= t1_s
    if not arrived.any():
        return missiles, mrep, None, None
    arep = mrep[arrived]
    due0 = fl.take(arrived)
    stride = _stride(aim.track_id, due0.track_id)
    keyed = _rekeyed_picture(aim, trep, stride)
    due = replace(
        midcourse_update(replace(due0, track_id=_rekey(due0.track_id, arep, stride)), keyed),
        track_id=due0.track_id,
    )
    held, _, truth = track_status(_rekey(due.track_id, arep, stride), keyed)
    return missiles.take(~arrived), mrep[~arrived], Arrivals(due, None, held, truth), arep


def _advance_guided(
    flyout: GuidedFlyout,
    missiles: Missiles,
    mrep: I64,
    t0_s: float,
    t1_s: float,
    world: WorldState,
    aim: TrackState,
    trep: I64,
    rngs: Sequence[np.random.Generator],
) -> tuple[Missiles, I64, Arrivals | None, I64 | None]:
    """`GuidedFlyout.advance` of every replication (`advance_batch`)."""
    p = flyout.params
    mis = p.missiles
    assert mis.physics is not None and missiles.physics is not None
    fl = missiles.flight
    stride = _stride(aim.track_id, fl.track_id)
    keyed = _rekeyed_picture(aim, trep, stride)
    phys, ended = guided_advance_batch(
        missiles.physics, mrep, t0_s, t1_s, p.guidance_step_s, mis.physics, mis.max_tof_s,
        p.threats, world.kill_time_s, keyed, _rekey(fl.track_id, mrep, stride),
        world.evade_start_s, rngs,
    )  # fmt: skip
    arrived = np.zeros(fl.n, dtype=bool)
    arrived[ended.row] = True
    if not arrived.any():
        return Missiles(fl, phys), mrep, None, None
    arep = mrep[ended.row]
    due = replace(fl.take(ended.row), t_intercept_s=ended.t_end_s)
    held, _, truth = track_status(_rekey(due.track_id, arep, stride), keyed)
    return (
        Missiles(fl.take(~arrived), phys),
        mrep[~arrived],
        Arrivals(due, ended, held, truth),
        arep,
    )


def _acquire_batch(
    est_m: F64,
    mpos_m: F64,
    seeker_m: F64,
    rep: I64,
    threats: Threats,
    alive: B,
    t: float,
    evade_start_s: F64,
    n: int,
) -> I64:
    """`guided._acquire` per replication: the nearest live threat of the missile's own rep.

    Args:
        est_m: (A, 3) track estimates, m.
        mpos_m: (A, 3) missile positions, m.
        seeker_m: (A,) seeker ranges, m.
        rep: (A,) replication of each missile.
        threats: the threats tiled R times (`tile_threats`).
        alive: (R*N,) live threats.
        t: time, s.
        evade_start_s: (R*N,) evasive-break starts, s.
        n: N, threats per replication.

    Returns:
        (A,) global row rep*N + i of the threat acquired (-1: none).
    """
    reps, inv = np.unique(rep, return_inverse=True)
    rows = (reps[:, None] * n + np.arange(n)[None, :]).reshape(-1)
    on = np.flatnonzero(alive[rows])  # the live threats only, as the single run
    tpos_all = np.zeros((rows.size, 3))
    tpos_all[on] = threats.state_at(t, rows[on], evade_start_s=evade_start_s)[0]
    tpos = tpos_all.reshape(reps.size, n, 3)[inv]  # (A, N, 3)
    live = alive[rows].reshape(reps.size, n)[inv]  # (A, N)
    d_est = np.linalg.norm(tpos - est_m[:, None, :], axis=2)  # (A, N)
    d_mis = np.linalg.norm(tpos - mpos_m[:, None, :], axis=2)
    d_est = np.where(live & (d_mis <= seeker_m[:, None]), d_est, np.inf)
    j = np.argmin(d_est, axis=1)
    ok = np.isfinite(d_est[np.arange(est_m.shape[0]), j])
    return np.where(ok, rep * n + j, -1).astype(np.int64)


def guided_advance_batch(
    fl: GuidedFlights,
    mrep: I64,
    t0_s: float,
    t1_s: float,
    dt_s: float,
    tp: TypePhysics,
    max_tof_s: F64,
    threats: Threats,
    kill_time_s: F64,
    tracks: TrackState,
    track_id: I64,
    evade_start_s: F64,
    rngs: Sequence[np.random.Generator],
) -> tuple[GuidedFlights, Ended]:
    """`guided.advance` of every replication's missiles at once.

    The same loop over time steps, every row's arithmetic that of
    `guided.advance`; threats are addressed by global row (rep*N + i) in the
    threats tiled R times, the seeker acquires only threats of its missile's
    replication, and the seeker noise is drawn from each replication's stream in
    turn (the rows of a step are sorted by replication).

    Args:
        fl: (K rows) the missiles, sorted by replication (`target` local).
        mrep: (K,) replication of each.
        t0_s: start of the interval, s.
        t1_s: its end, s.
        dt_s: guidance step, s.
        tp: the library's physics.
        max_tof_s: (M,) longest flight of each type, s.
        threats: the scenario's N threats (not tiled).
        kill_time_s: (R*N,) rep-major times of death.
        tracks: the picture with globally unique track ids.
        track_id: (K,) each missile's track, in the same keys.
        evade_start_s: (R*N,) rep-major evasive-break starts.
        rngs: (R,) seeker streams.

    Returns:
        The flights still going (`target` local) and the ended ones (`row`
        indexes `fl`; `target` local).
    """
    if fl.n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return fl, Ended(empty, np.zeros(0), empty, empty, np.zeros(0), np.zeros((0, 3)))
    n = threats.n
    n_reps = kill_time_s.shape[0] // n if n else 0
    threats = tile_threats(threats, n_reps)
    held, row, _ = track_status(track_id, tracks)
    x = tracks.x[row] if tracks.n else np.zeros((fl.n, 6))
    aim_pos = np.where(held[:, None], x[:, :3], fl.aim_pos_m)
    aim_vel = np.where(held[:, None], x[:, 3:6], fl.aim_vel_mps)
    aim_t = np.where(held, tracks.time_s, fl.aim_time_s)
    s0 = fl.state
    s = MissileState(
        s0.t_s.copy(), s0.pos_m.copy(), s0.vel_mps.copy(), s0.mass_kg.copy(), s0.done,
        s0.miss_m, s0.t_end_s, s0.acc_mps2.copy(),
    )  # fmt: skip
    # Global threat rows from here on.
    target = np.where(fl.target >= 0, mrep * n + fl.target, -1).astype(np.int64)
    k = fl.n
    how = np.full(k, -1, dtype=np.int64)
    t_end = np.full(k, np.nan)
    miss = np.full(k, np.nan)
    m = fl.mtype
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
        (i, span / nn, t0_s + j * span / nn)
        for i, nn in ((0, n_coarse), (1, n_fine))
        for j in range(nn)
    ]
    for group, h, tau in schedule:
        sel = fine if group else ~fine
        act = np.flatnonzero(sel & (fl.t_launch_s <= tau + 1e-9) & (how < 0))
        if act.size == 0:
            continue
        pos = s.pos_m[act]
        est = aim_pos[act] + aim_vel[act] * (tau - aim_t[act])[:, None]
        mid = target[act] < 0
        near = mid & (np.linalg.norm(est - pos, axis=1) <= tp.seeker_m[m[act]])
        if near.any():
            alive = (threats.launch_s <= tau) & (tau < threats.end_s) & (kill_time_s > tau)
            a = act[near]
            target[a] = _acquire_batch(
                est[near], pos[near], tp.seeker_m[m[a]], mrep[a], threats, alive, tau,
                evade_start_s, n,
            )  # fmt: skip
        term = target[act] >= 0
        gone = np.zeros(act.size, dtype=bool)
        tgt_pos, direct = lofted(
            est, pos, np.where(term, 0.0, tp.loft_rad[m[act]]), tp.loft_ceiling_m[m[act]]
        )
        tgt_vel = aim_vel[act].copy()
        tgt_acc = np.zeros((act.size, 3))
        seen: F64 | None = None
        if term.any():
            at = act[term]
            ti = target[at]
            tp_true, tv_true = threats.state_at(tau, ti, evade_start_s=evade_start_s)
            tgt_pos[term] = tp_true
            tgt_vel[term] = tv_true
            mt = m[at]
            rng_to = np.linalg.norm(tp_true - pos[term], axis=1)
            sd = np.hypot(tp.seeker_angle_rad[mt] * rng_to, tp.seeker_glint_m[mt])
            seen = tgt_pos.copy()
            seen[term] = tp_true + _noise(rngs, mrep[at]) * sd[:, None]
            gone[term] = ~((tau < threats.end_s[ti]) & (kill_time_s[ti] > tau))
            rel_v = tv_true - s.vel_mps[at]
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
        new = _step_rows(sub, tp, m[act], tgt_pos, tgt_vel, tgt_acc, h, seen)
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
        near = np.nan_to_num(new.miss_m, nan=np.inf) <= tp.seeker_m[m[act]]
        lost = gone | (new.done & ~term & direct & near)
        ended = cpa | lost | spent
        e = act[ended]
        how[e] = np.where(cpa[ended], CPA, np.where(lost[ended], LOST, SPENT_FLIGHT))
        t_end[e] = np.where(
            cpa[ended], tau + np.nan_to_num(new.t_end_s[ended] - sub.t_s[ended]), tau + h
        )
        miss[e] = np.where(cpa[ended], new.miss_m[ended], np.nan)
    done = how >= 0
    rows = np.flatnonzero(done)
    keep = ~done
    local = np.where(target >= 0, target - mrep * n, -1).astype(np.int64)
    remaining = GuidedFlights(
        state=s, mtype=m, t_launch_s=fl.t_launch_s, aim_pos_m=aim_pos, aim_vel_mps=aim_vel,
        aim_time_s=aim_t, target=local,
    ).take(keep)  # fmt: skip
    return remaining, Ended(
        row=rows,
        t_end_s=np.clip(t_end[rows], t0_s, t1_s),
        how=how[rows],
        target=local[rows],
        miss_m=miss[rows],
        pos_m=s.pos_m[rows],
    )


_TYPE_KERNEL: dict[tuple[int, float], tuple[TypePhysics, F64, I64, bool, bool]] = {}
"""`_type_kernel` cache: (id(tp), dt) -> (tp, params, laws, gravity, bias); a few entries."""


def _type_kernel(tp: TypePhysics, dt_s: float) -> tuple[F64, I64, bool, bool]:
    """(M, 14) kernel parameter rows of each missile type for step `dt_s`, (M,) laws, flags.

    `MissilePhysics.kernel_params` is row by row, so the rows of the K missiles
    are these rows at their types (no per-step gathering of every physics field).
    """
    key = (id(tp), dt_s)
    hit = _TYPE_KERNEL.get(key)
    if hit is None or hit[0] is not tp:
        phys = _physics(tp, np.arange(tp.mass_kg.shape[0]))
        hit = (tp, phys.kernel_params(dt_s), phys.kernel_law, phys.gravity,
               phys.gravity_bias and phys.gravity)  # fmt: skip
        if len(_TYPE_KERNEL) >= 64:
            _TYPE_KERNEL.clear()
        _TYPE_KERNEL[key] = hit
    return hit[1], hit[2], hit[3], hit[4]


def _step_rows(
    s: MissileState,
    tp: TypePhysics,
    mtype: I64,
    target_pos_m: F64,
    target_vel_mps: F64,
    target_acc_mps2: F64,
    dt_s: float,
    guide_pos_m: F64 | None,
) -> MissileState:
    """`guidance.step` (numba backend) of missiles of types `mtype`, the type rows gathered.

    The same compiled kernel on the same inputs as `guidance.step(s,
    _physics(tp, mtype), ...)`; the lateral acceleration output is dropped.
    """
    prm_t, law_t, gravity, bias = _type_kernel(tp, dt_s)
    tpos = _f64(target_pos_m)
    *out, _ = _kernel()(
        s.t_s, s.pos_m, s.vel_mps, s.mass_kg, s.done, s.miss_m, s.t_end_s,
        _f64(s.acc_mps2), tpos, _f64(target_vel_mps), _f64(target_acc_mps2),
        tpos if guide_pos_m is None else _f64(guide_pos_m),
        prm_t[mtype], law_t[mtype], gravity, bias, float(dt_s),
    )  # fmt: skip
    return _state(out)


def _noise(rngs: Sequence[np.random.Generator], rep: I64) -> F64:
    """(K, 3) standard normals: each replication's rows from its own stream, in row order.

    `rep` is sorted; a replication draws one (k, 3) block, as the single run does.
    """
    if rep.size and rep[0] == rep[-1]:
        out: F64 = rngs[int(rep[0])].standard_normal((rep.size, 3))
        return out
    reps, counts = np.unique(rep, return_counts=True)
    return np.concatenate(
        [rngs[int(r)].standard_normal((int(c), 3)) for r, c in zip(reps, counts, strict=True)]
    )


def _uniforms(rngs: Sequence[np.random.Generator], rep: I64, draws: int) -> tuple[F64, ...]:
    """`draws` arrays (K,) of uniforms: replication r draws `draws` times rng.random(k_r) in turn.

    `rep` is sorted; each replication's draws are made in the single run's order
    (all of its first array, then its second, ...), then spread to the rows.
    """
    reps, starts, counts = np.unique(rep, return_index=True, return_counts=True)
    out = [np.empty(rep.size) for _ in range(draws)]
    for r, s0, c in zip(reps, starts, counts, strict=True):
        g = rngs[int(r)]
        for d in range(draws):
            out[d][s0 : s0 + c] = g.random(int(c))
    return tuple(out)


def assess_batch(
    assessment: KillAssessment,
    arrivals: Arrivals,
    arep: I64,
    world: WorldState,
    rngs_engagement: Sequence[np.random.Generator],
    n_reps: int,
) -> Outcome:
    """`assessment.assess` of every replication's arrivals.

    Args:
        assessment: the single-replication assessment stage.
        arrivals: (K rows) every replication's arrivals, sorted by replication.
        arep: (K,) replication of each.
        world: rep-major truth ((R*N,) per-threat arrays).
        rngs_engagement: (R,) each replication's engagement stream.
        n_reps: R.

    Returns:
        The outcomes, rows aligned with `arrivals` (`threat` local);
        `kill_time_s` (R*N,) includes the kills made here.
    """
    assert isinstance(assessment, LethalityAssessment), "see supports_batch"
    due = arrivals.due
    bpos = assessment.battery_pos_m
    launch = None if bpos is None else bpos[due.battery]
    if arrivals.ended is None:
        return _assess_kinematic(
            due, arep, assessment.threats, world.kill_time_s, assessment.missiles,
            rngs_engagement, world.evade_start_s, arrivals.held, arrivals.guided_on, launch,
            n_reps,
        )  # fmt: skip
    return _assess_guided(
        due, arrivals.ended, arep, assessment.threats, world.kill_time_s, assessment.missiles,
        rngs_engagement, world.evade_start_s, arrivals.held, arrivals.guided_on, launch, n_reps,
    )  # fmt: skip


def _first_successes(success: B, tid_g: I64, t: F64, kill_time_s: F64) -> tuple[B, F64]:
    """`assessment._first_successes` on global threat rows (rows of a rep keep their order)."""
    cand = np.flatnonzero(success)
    order = cand[np.lexsort((cand, t[cand], tid_g[cand]))]
    _, first = np.unique(tid_g[order], return_index=True)
    killer = np.zeros(success.shape[0], dtype=bool)
    killer[order[first]] = True
    new_kill = kill_time_s.copy()
    new_kill[tid_g[killer]] = t[killer]
    return killer, new_kill


def _assess_kinematic(
    due: InFlight,
    arep: I64,
    threats: Threats,
    kill_time_s: F64,
    missiles: MissileParams,
    rngs: Sequence[np.random.Generator],
    evade_start_s: F64,
    held: B | None,
    guided_on: I64 | None,
    launch_pos_m: F64 | None,
    n_reps: int,
) -> Outcome:
    """`assessment.assess` per replication; the K x N search over the rep's own threats."""
    k = due.n
    u, e = _uniforms(rngs, arep, 2)
    r_end = missiles.homing_sigma_m[due.mtype] * np.sqrt(-2.0 * np.log1p(-e))
    t = due.t_intercept_s
    n = threats.n
    tiled = tile_threats(threats, n_reps)
    rows = np.arange(k)
    held = np.ones(k, dtype=bool) if held is None else held
    aim = due.threat if guided_on is None else guided_on
    base = arep * n
    g_all = (base[:, None] + np.arange(n)[None, :]).reshape(-1)  # (K*N,) global rows
    in_sky = (
        (t[:, None] >= threats.launch_s[None, :])
        & (t[:, None] < threats.end_s[None, :])
        & (t[:, None] < kill_time_s[g_all].reshape(k, n))
    )
    # Every threat in the sky at every arriving missile's own time (K, N); the
    # others are masked (inf) wherever the single run reads them, so only these
    # rows are computed (`state_at` is row by row).
    sky = np.flatnonzero(in_sky.reshape(-1))
    pos_flat = np.zeros((k * n, 3))
    pos_flat[sky] = tiled.state_at(np.repeat(t, n)[sky], g_all[sky], evade_start_s=evade_start_s)[0]
    pos_all = pos_flat.reshape(k, n, 3)
    dist = np.where(in_sky, np.linalg.norm(pos_all - due.pip_m[:, None, :], axis=2), np.inf)
    basket = missiles.basket_m[due.mtype]
    has_aim = aim >= 0
    a = np.maximum(aim, 0)
    a_g = base + a
    aim_dead = has_aim & (kill_time_s[a_g] <= t)
    aim_d = np.where(has_aim, dist[rows, a], np.inf)
    on_aim = aim_d <= basket
    near = np.argmin(dist, axis=1)
    near_d = dist[rows, near]
    switch = ~on_aim & ~aim_dead & (near_d <= basket)
    tid = np.where(on_aim | switch, np.where(on_aim, a, near), np.where(has_aim, a, near))
    tid_g = base + tid
    seen = np.isfinite(dist[rows, tid])
    reach = _in_envelope(due.pip_m, launch_pos_m, due.mtype, missiles)
    acquired = held & reach & (on_aim | switch)
    pk = missiles.pk_of(due.mtype, threats.type_index[tid])
    sigma = missiles.homing_sigma_m[due.mtype]
    success = acquired & (u < carleton_kill_probability(r_end, sigma, pk))
    killer, new_kill = _first_successes(success, tid_g, t, kill_time_s)
    destroyed = ~killer & ((has_aim & (new_kill[a_g] <= t)) | (acquired & (new_kill[tid_g] <= t)))
    code = np.select(
        [killer, destroyed, ~held, ~reach, acquired, seen],
        [KILL, DESTROYED, TRACK_LOST, OUT_OF_REACH, MISS_PK, MISS_BASKET],
        NO_TARGET,
    ).astype(np.int64)
    named = seen | has_aim
    return Outcome(
        code=code,
        threat=np.where(named, tid, -1).astype(np.int64),
        miss_m=np.where(acquired, r_end, np.where(seen, dist[rows, tid], np.nan)),
        threat_pos_m=np.where(seen[:, None], pos_all[rows, tid], due.pip_m),
        kill_time_s=new_kill,
        switched=acquired & (tid != due.threat),
    )


def _assess_guided(
    due: InFlight,
    ended: Ended,
    arep: I64,
    threats: Threats,
    kill_time_s: F64,
    missiles: MissileParams,
    rngs: Sequence[np.random.Generator],
    evade_start_s: F64,
    held: B | None,
    guided_on: I64 | None,
    launch_pos_m: F64 | None,
    n_reps: int,
) -> Outcome:
    """`assessment.assess_guided` per replication."""
    assert missiles.physics is not None
    k = due.n
    (u,) = _uniforms(rngs, arep, 1)
    t = due.t_intercept_s
    n = threats.n
    base = arep * n
    held = np.ones(k, dtype=bool) if held is None else held
    aim = due.threat if guided_on is None else guided_on
    tid = np.maximum(ended.target, 0)
    tid_g = base + tid
    has = ended.target >= 0
    alive = has & (t < threats.end_s[tid]) & (t < kill_time_s[tid_g])
    cpa = alive & (ended.how == CPA)
    reach = _in_envelope(ended.pos_m, launch_pos_m, due.mtype, missiles)
    within = cpa & reach & (ended.miss_m <= missiles.physics.lethal_m[due.mtype])
    success = within & (u < missiles.pk_of(due.mtype, threats.type_index[tid]))
    killer, new_kill = _first_successes(success, tid_g, t, kill_time_s)
    a_g = base + np.maximum(aim, 0)
    destroyed = ~killer & (
        (has & (new_kill[tid_g] <= t)) | (~has & (aim >= 0) & (new_kill[a_g] <= t))
    )
    lost = ~has & ~held & (ended.how == LOST)
    pos, _ = tile_threats(threats, n_reps).state_at(t, tid_g, evade_start_s=evade_start_s)
    code = np.select(
        [killer, destroyed, ended.how == SPENT_FLIGHT, lost, ~alive, cpa & ~reach, within, cpa],
        [KILL, DESTROYED, SPENT, TRACK_LOST, NO_TARGET, OUT_OF_REACH, MISS_PK, MISS_BASKET],
        NO_TARGET,
    ).astype(np.int64)
    return Outcome(
        code=code,
        threat=np.where(has, ended.target, aim).astype(np.int64),
        miss_m=np.where(cpa, ended.miss_m, np.nan),
        threat_pos_m=np.where(has[:, None], pos, ended.pos_m),
        kill_time_s=new_kill,
        switched=has & (ended.target != due.threat),
    )
