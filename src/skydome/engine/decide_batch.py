"""The decision cycle of R replications at once (`step._decide` with a replication axis).

Batch layout (`engine/batch_step`): every table holds the rows of all
replications sorted by replication, each row with its replication `rep`; ids
(track, threat, missile, battery in `InFlight`) stay local. Launchers use
global battery ids `g = k * B + b` over `tile_batteries(bat, R)`, so the
per-launcher functions of `engagement.launchers` group them unchanged.

Per-row work (prediction, threat evaluation, intercept grids, fire-control
cover, the quality gate, the launch-time flyout, hold reasons) is the
single-run arithmetic on more rows: every operation is elementwise or reduces
a per-row axis, so each row's bytes do not depend on the batch. Per-replication
work (stock, channels, priority order and rank, the plan, launch slots,
missile ids) is keyed by replication: sorts take the replication as their most
significant key, counts are per (replication, battery). The greedy planner
and the launch-slot allocation are compiled loops over replications
(`decide_kernels`); the WTA planner is called once per replication.

`decide_batch(...)` equals, replication by replication, `step._decide` on the
replication's slice (tests/test_decide_batch.py): same missiles in the same
order, same launchers, scores, ranks and hold reasons, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, find_ids, rep_key, rep_offsets
from skydome.engagement import fire_control as fc
from skydome.engagement.fire_control_kernel import position_sigma_rows
from skydome.engagement.flyout import InFlight
from skydome.engagement.geometry import InterceptGrid
from skydome.engagement.launchers import Launchers, commit_launches
from skydome.engagement.params import BatteryParams
from skydome.engine import battle
from skydome.engine.network import network_active
from skydome.engine.pipeline import Pipeline, Plan, PlanRequest
from skydome.engine.stages import (
    AverageSpeedIntercept,
    FlyoutTableIntercept,
    GreedyPlanner,
    PerfectIdentification,
    ValueAtRiskEvaluation,
    WtaPlanner,
)
from skydome.engine.step import _HELD_NOTE, _KEEP, _has_rules
from skydome.scenario.compile import SimParams
from skydome.sensors.radar import covers
from skydome.tracking.base import TrackState

__all__ = [
    "HeldRows",
    "allocate_slots_batch",
    "decide_batch",
    "greedy_plan_batch",
    "log_held_batch",
    "start_reloads_batch",
    "supports_batch",
    "tile_batteries",
    "tile_launchers",
]

B = NDArray[np.bool_]


def tile_batteries(bat: BatteryParams, n_reps: int) -> BatteryParams:
    """The B batteries repeated R times (R * B rows; row k * B + b is battery b of rep k).

    Names repeat too; `organic` and `cue_delay_s` are tiled when present.
    """

    def t(a: Any) -> Any:
        return np.tile(a, (n_reps,) + (1,) * (a.ndim - 1))

    return replace(
        bat,
        names=bat.names * n_reps,
        pos_m=t(bat.pos_m),
        launchers=t(bat.launchers),
        inventory=t(bat.inventory),
        load=t(bat.load),
        reserve=t(bat.reserve),
        reload_s=t(bat.reload_s),
        fc_radar=t(bat.fc_radar),
        target_channels=t(bat.target_channels),
        missile_channels=t(bat.missile_channels),
        reaction_s=t(bat.reaction_s),
        launch_interval_s=t(bat.launch_interval_s),
        organic=t(bat.organic) if bat.organic.size else bat.organic,
        cue_delay_s=t(bat.cue_delay_s) if bat.cue_delay_s.size else bat.cue_delay_s,
    )


def tile_launchers(ln: Launchers, n_reps: int) -> Launchers:
    """One replication's launchers repeated R times, battery ids made global (k * B + b).

    `Launchers.from_params(tile_batteries(bat, R))` equals
    `tile_launchers(Launchers.from_params(bat), R)`.
    """
    n_b = ln.reserve.shape[0]
    shift = np.repeat(np.arange(n_reps, dtype=np.int64) * n_b, ln.battery.shape[0])
    return Launchers(
        battery=np.tile(ln.battery, n_reps) + shift,
        stock=np.tile(ln.stock, (n_reps, 1)),
        ready_s=np.tile(ln.ready_s, n_reps),
        reserve=np.tile(ln.reserve, (n_reps, 1)),
    )


def supports_batch(pipe: Pipeline) -> bool:
    """Whether `decide_batch` covers the scenario and stages (else: `_decide` per replication).

    Covered: no identification, emission control, ARMs or network rules
    (per-radar track records, engage on remote); the built-in perfect
    identification, value-at-risk evaluation and intercept models; the greedy
    or WTA planner; every engagement policy and the doctrine's type, value and
    reserve rules.
    """
    p = pipe.params
    doc = p.doctrine
    return (
        p.identity is None
        and p.emission is None
        and p.arms is None
        and doc.planner in ("greedy", "wta")
        and doc.network != "engage_on_remote"
        and not network_active(p.batteries, doc.network == "autonomous")
        and type(pipe.identification) is PerfectIdentification
        and type(pipe.evaluation) is ValueAtRiskEvaluation
        and type(pipe.planner) in (GreedyPlanner, WtaPlanner)
        and type(pipe.intercept) in (AverageSpeedIntercept, FlyoutTableIntercept)
    )


def _count_perrep_key(keys: I64, of: I64) -> I64:
    """(N,) how many of `of` equal each of `keys`."""
    if of.size == 0 or keys.size == 0:
        return np.zeros(keys.size, dtype=np.int64)
    s = np.sort(of)
    out: I64 = (np.searchsorted(s, keys, "right") - np.searchsorted(s, keys, "left")).astype(
        np.int64
    )
    return out


def _rank_in_blocks(rep: I64, n_reps: int) -> I64:
    """(K,) position of each row within its replication's block (rows sorted by rep)."""
    cut = rep_offsets(rep, n_reps)
    out: I64 = np.arange(rep.size, dtype=np.int64) - cut[rep]
    return out


def greedy_plan_batch(
    planner: GreedyPlanner,
    order: I64,
    cut: I64,
    feasible: B,
    t_intercept_rel_s: F64,
    stock: I64,
    target_channels_free: I64,
    missile_channels_free: I64,
    crep: I64,
) -> I64:
    """`GreedyPlanner.plan` of every replication: (N,) option b * M + m per candidate, -1: none.

    Args:
        planner: the greedy planner (costs, salvo size).
        order: (N,) candidate rows, by replication, most urgent first in each.
        cut: (R + 1,) replication blocks of `order` (and of the candidate rows).
        feasible: (N, B, M) options of each candidate row.
        t_intercept_rel_s: (N, B, M) intercept times, s from now.
        stock: (R, B, M) rounds on the launchers per replication.
        target_channels_free: (R, B) targets each battery can still engage.
        missile_channels_free: (R, B) missiles each battery can still guide.
        crep: (N,) replication of each candidate row.
    """
    from skydome.engine.decide_kernels import greedy_kernel

    n, n_b, n_m = feasible.shape
    s = planner.salvo_size
    feas = (feasible & (stock >= s)[crep]).reshape(n, n_b * n_m)
    pref = (planner.missiles.cost[None, None, :] + 1e-6 * t_intercept_rel_s).reshape(n, n_b * n_m)
    out: I64 = greedy_kernel(
        order.astype(np.int64),
        cut.astype(np.int64),
        feas,
        np.ascontiguousarray(pref),
        np.repeat(np.arange(n_b, dtype=np.int64), n_m),
        np.ascontiguousarray(stock.reshape(stock.shape[0], -1), dtype=np.int64),
        np.ascontiguousarray(target_channels_free, dtype=np.int64),
        np.ascontiguousarray(missile_channels_free, dtype=np.int64),
        s,
    )
    return out


def allocate_slots_batch(
    ln: Launchers, bat_tiled: BatteryParams, g: I64, m: I64, earliest_s: F64
) -> tuple[I64, F64]:
    """`launchers.allocate_slots` with every (battery, type) group in one compiled loop.

    Args:
        ln: the launchers (global battery ids, sorted by battery).
        bat_tiled: the tiled batteries (launch intervals).
        g: (K,) global battery of each missile.
        m: (K,) type of each missile.
        earliest_s: (K,) earliest launch time.
    """
    from skydome.engine.decide_kernels import slots_kernel

    n_m = ln.stock.shape[1]
    if g.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    order = np.argsort(g * n_m + m, kind="stable")
    keys = (g * n_m + m)[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    group_cut = np.concatenate((starts, [g.size])).astype(np.int64)
    n_g = bat_tiled.launch_interval_s.shape[0]
    launcher_cut = np.searchsorted(ln.battery, np.arange(n_g + 1)).astype(np.int64)
    launcher, t_launch = slots_kernel(
        order.astype(np.int64), group_cut, g.astype(np.int64), m.astype(np.int64),
        earliest_s.astype(np.float64), launcher_cut, ln.stock.astype(np.int64),
        ln.ready_s.astype(np.float64), bat_tiled.launch_interval_s.astype(np.float64),
    )  # fmt: skip
    return launcher, t_launch


def start_reloads_batch(
    ln: Launchers, bat_tiled: BatteryParams, t_s: float
) -> tuple[Launchers, I64]:
    """`launchers.start_reloads` on tiled launchers, without its loop over batteries.

    Equal per replication to `start_reloads` on the replication's launchers
    (integer arithmetic; the cumulative demand is a running sum per battery).

    Returns:
        The launchers after the reloads started, and the (global) indices of the
        launchers that started one, ascending (so by replication).
    """
    none = np.zeros(0, dtype=np.int64)
    if not ln.reserve.any():
        return ln, none
    empty = (ln.stock.sum(axis=1) == 0) & (ln.ready_s <= t_s)
    if not empty.any():
        return ln, none
    want = np.where(empty[:, None], bat_tiled.load[ln.battery], 0)
    if not (want.sum(axis=0) > 0).any():
        return ln, none
    # Cumulative demand per (battery, type) in launcher order (launchers sorted by battery).
    cs = np.cumsum(want, axis=0)
    first = np.searchsorted(ln.battery, ln.battery)  # each launcher's battery's first row
    cum = cs - (cs[first] - want[first])
    avail = ln.reserve[ln.battery]
    give = np.clip(avail - (cum - want), 0, want)
    got = give.sum(axis=1) > 0
    reserve = ln.reserve.copy()
    np.subtract.at(reserve, ln.battery, give)
    stock = ln.stock + give
    ready = np.where(got, t_s + bat_tiled.reload_s[ln.battery], ln.ready_s)
    return Launchers(ln.battery, stock, ready, reserve), np.flatnonzero(got)


def decide_batch(
    pipe: Pipeline,
    t: float,
    tracks: TrackState,
    trep: I64,
    inflight: InFlight,
    irep: I64,
    waiting: I64,
    wrep: I64,
    launchers: Launchers,
    bat_tiled: BatteryParams,
    first_missile_id: I64,
    n_reps: int,
) -> tuple[InFlight, I64, Launchers, F64, I64, I64]:
    """One decision cycle of R replications (`step._decide` of each; `supports_batch` scenarios).

    Args:
        pipe: the scenario and its stages.
        t: decision time, s (common).
        tracks: every replication's air picture, rows sorted by replication.
        trep: (T,) replication of each track row.
        inflight: missiles in the air, sorted by replication; `battery` local.
        irep: (K,) replication of each missile.
        waiting: track ids whose last intercept's outcome is not yet known.
        wrep: replication of each of `waiting`.
        launchers: every replication's launchers, global battery ids k * B + b.
        bat_tiled: `tile_batteries(pipe.params.batteries, R)`.
        first_missile_id: (R,) id of the first missile each replication launches now.
        n_reps: R.

    Returns:
        The missiles launched (sorted by replication, local ids and battery),
        (K',) their replication, the launchers after launching, each missile's
        score and rank (within its replication), and (T,) the hold reason of each
        track row (`_decide`'s).
    """
    params = pipe.params
    bat, mis, doc = params.batteries, params.missiles, params.doctrine
    n_reps = int(n_reps)
    n_b, n_m = bat.load.shape
    reason = np.zeros(tracks.n, dtype=np.int64)
    no_rep = np.zeros(0, dtype=np.int64)
    nothing = (InFlight.empty(), no_rep, launchers, np.zeros(0), no_rep.copy(), reason)
    stock = launchers.battery_stock(n_reps * n_b).reshape(n_reps, n_b, n_m)
    tkey = rep_key(trep, tracks.track_id)
    in_air = _count_perrep_key(tkey, rep_key(irep, inflight.track_id))
    if doc.policy == "shoot_shoot":
        room = np.maximum(doc.max_missiles_per_target - in_air, 0)
    else:
        free = in_air == 0
        if waiting.size:
            free &= ~np.isin(tkey, rep_key(wrep, waiting))
        room = np.where(free, doc.salvo_size, 0)
    salvo = np.minimum(room, doc.salvo_size)
    open_ = tracks.confirmed & (salvo > 0)
    fresh = t - tracks.last_update_s <= doc.max_track_age_s
    mature = tracks.hits >= doc.min_track_updates
    reason[open_ & ~fresh] = _KEEP
    reason[open_ & fresh & ~mature] = fc.HOLD_QUALITY
    cand = np.flatnonzero(open_ & fresh & mature)
    if cand.size == 0:
        return nothing
    has_stock: B = np.asarray(stock.reshape(n_reps, -1).any(axis=1))
    dry = ~has_stock[trep[cand]]
    if dry.any():
        reason[cand[dry]] = fc.HOLD_LAUNCHER
        cand = cand[~dry]
        if cand.size == 0:
            return nothing
    n_c = cand.size
    crep = trep[cand]
    ccut = rep_offsets(crep, n_reps)
    salvo = salvo[cand]
    x = pipe.predict(tracks, t, cand)
    pos, vel = x[:, :3], x[:, 3:]
    truth = tracks.truth[cand]
    ident = pipe.identification.identify(tracks, cand)
    ta = pipe.evaluation.evaluate(pos, vel, ident)
    score = ta.score
    threatening = ta.cpa_m <= params.assets.radius_m[ta.asset]
    deadline = np.where(threatening & np.isfinite(ta.tgo_s), ta.tgo_s, params.duration_s)
    ttype = np.where(ident >= 0, params.threats.type_index[np.maximum(ident, 0)], -1)
    grid = pipe.intercept.grid(pos, vel, bat, deadline, ttype)
    # The cover and the quality gate matter only where the grid is feasible, resp.
    # reachable (`reachable`, `feasible` and the hold reasons read them there):
    # computed at those cells only, with the single run's elementwise arithmetic.
    reachable = grid.feasible & _cover_at(params, grid)
    correctable = _quality_gate_at(params, tracks, cand, t, grid, reachable)
    if doc.engage_order == "time_to_go":
        order = np.lexsort((-score, ta.tgo_s, crep))
    elif doc.engage_order == "range":
        order = np.lexsort((-score, ta.range_m, crep))
    else:
        order = np.lexsort((np.arange(n_c), -score, crep))
    rank = np.empty(n_c, dtype=np.int64)
    rank[order] = np.arange(n_c) - ccut[crep[order]]

    ib = irep * n_b + inflight.battery  # global battery of each missile in the air
    guided = np.bincount(ib, minlength=n_reps * n_b).reshape(n_reps, n_b)
    span = int(inflight.track_id.max()) + 1 if inflight.n else 1
    pairs = np.unique(ib * span + inflight.track_id)
    engaged_targets = np.bincount(pairs // span, minlength=n_reps * n_b).reshape(n_reps, n_b)
    tch = np.maximum(bat.target_channels[None, :] - engaged_targets, 0)
    mch = np.maximum(bat.missile_channels[None, :] - guided, 0)
    feasible = reachable & correctable & (stock > 0)[crep]
    pk = mis.pk_of(np.arange(mis.pk.size)[None, :], ttype[:, None])
    value = later = None
    reloads = launchers.reserve.reshape(n_reps, n_b, n_m)
    adaptive = doc.policy == "adaptive"
    if adaptive or _has_rules(doc):
        value = battle.threat_values(params, ta, ttype, ident)
        allowed = battle.allowed_types(params, value, ttype)
        feasible = _doctrine_rules(params, feasible, allowed, salvo, stock, reloads, crep)
        if adaptive:
            can_fire = np.bincount(crep[feasible.any(axis=(1, 2))], minlength=n_reps) > 0
            fire = can_fire[crep]
            if fire.any():
                first = np.where(feasible, grid.t_intercept_rel_s, np.inf).min(axis=(1, 2))
                usable = allowed[:, None, :] & (stock + reloads > 0)[crep]
                later, look = battle.later_options(pipe, pos, vel, deadline, ttype, first, usable)
                salvo = np.where(fire & look, np.minimum(salvo, 1), salvo)
    if type(pipe.planner) is GreedyPlanner:
        option = greedy_plan_batch(
            pipe.planner, order, ccut, feasible, grid.t_intercept_rel_s, stock, tch, mch, crep
        )
        rows = np.flatnonzero(option >= 0)
        opt, count = option[rows], salvo[rows]
    else:
        rows, opt, count = _plan_each(
            pipe, ccut, score, order, salvo, feasible, grid.t_intercept_rel_s, stock, tch, mch,
            pk, value, later, reloads,
        )  # fmt: skip
    served = np.zeros(n_c, dtype=bool)
    rows = np.repeat(rows, count)
    opt = np.repeat(opt, count)
    b, m = opt // n_m, opt % n_m
    g = crep[rows] * n_b + b
    launcher, t_launch = allocate_slots_batch(launchers, bat_tiled, g, m, t + bat.reaction_s[b])
    has_slot = launcher >= 0
    delay = np.where(has_slot, t_launch - t, 0.0)
    t_launch, t_int, pip = pipe.intercept.flyout(t, pos[rows], vel[rows], bat.pos_m[b], delay, m)
    ok = (
        has_slot
        & np.isfinite(t_int)
        & (t_int - t <= deadline[rows])
        & (t_int - t_launch <= mis.max_tof_s[m])
    )
    served[rows[ok]] = True
    used = np.zeros((n_reps * n_b, n_m), dtype=np.int64)
    np.add.at(used, (g[ok], m[ok]), 1)
    new_targets = np.bincount(
        np.unique(g[ok] * n_c + rows[ok]) // n_c, minlength=n_reps * n_b
    ).reshape(n_reps, n_b)
    mch_used = np.bincount(g[ok], minlength=n_reps * n_b).reshape(n_reps, n_b)
    left = _left_batch(
        stock - used.reshape(n_reps, n_b, n_m), tch - new_targets, mch - mch_used, salvo, crep
    )
    reason[cand] = fc.hold_reason(mature[cand], reachable, correctable, left, served)
    planned = np.zeros(n_c, dtype=bool)
    planned[rows] = True
    no_slot = np.zeros(n_c, dtype=bool)
    no_slot[rows[~has_slot]] = True
    failed = planned & ~served
    reason[cand[failed]] = np.where(no_slot[failed], fc.HOLD_LAUNCHER, fc.HOLD_ENVELOPE)
    launchers = commit_launches(launchers, bat_tiled, launcher[ok], m[ok], t_launch[ok])
    got = rows[ok]
    nrep = crep[got]
    new = InFlight(
        missile_id=first_missile_id[nrep] + _rank_in_blocks(nrep, n_reps),
        battery=b[ok],
        mtype=m[ok],
        track_id=tracks.track_id[cand[got]],
        threat=truth[got],
        t_launch_s=t_launch[ok],
        t_intercept_s=t_int[ok],
        pip_m=pip[ok],
    )
    return new, nrep, launchers, score[got], rank[got], reason


def _plan_each(
    pipe: Pipeline,
    ccut: I64,
    score: F64,
    order: I64,
    salvo: I64,
    feasible: B,
    t_rel: F64,
    stock: I64,
    tch: I64,
    mch: I64,
    pk: F64,
    value: F64 | None,
    later: B | None,
    reloads: I64,
) -> tuple[I64, I64, I64]:
    """The pipeline's planner called once per replication with a candidate (rows global)."""
    rows, opts, counts = [], [], []
    # The WTA heuristic plans nothing where nothing is feasible: every Pk is 0, so
    # `useful_counts` caps every option at 0 rounds; those replications are skipped.
    planner = pipe.planner
    skip_empty = type(planner) is WtaPlanner and planner.doctrine.wta_solver == "heuristic"
    for k in range(ccut.size - 1):
        lo, hi = int(ccut[k]), int(ccut[k + 1])
        if hi == lo or (skip_empty and not feasible[lo:hi].any()):
            continue
        s = slice(lo, hi)
        plan: Plan = pipe.planner.plan(
            PlanRequest(
                score[s],
                order[s] - lo,
                salvo[s],
                feasible[s],
                t_rel[s],
                stock[k],
                tch[k],
                mch[k],
                pk[s],
                None if value is None else value[s],
                None if later is None else later[s],
                None,
                None,
                reloads[k],
            )  # fmt: skip
        )
        rows.append(plan.rows + lo)
        opts.append(plan.option)
        counts.append(plan.count)
    if not rows:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    return (
        np.concatenate(rows).astype(np.int64),
        np.concatenate(opts).astype(np.int64),
        np.concatenate(counts).astype(np.int64),
    )


def _doctrine_rules(
    params: SimParams,
    feasible: B,
    allowed: B,
    salvo: I64,
    stock: I64,
    reloads: I64,
    crep: I64,
) -> B:
    """`battle.doctrine_rules` with each row's replication's stock and reloads ((R, B, M))."""
    doc, bat = params.doctrine, params.batteries
    ok = feasible & allowed[:, None, :]
    if not doc.reserve_share.any():
        return ok
    keep = np.ceil(doc.reserve_share[None, :] * (bat.inventory + bat.reserve) - 1e-9)
    types = ok.any(axis=1)
    exclusive = types & (types.sum(axis=1, keepdims=True) == 1)
    above = (stock + reloads - keep[None])[crep] >= salvo[:, None, None]
    out: B = ok & (above | exclusive[:, None, :])
    return out


def _cover_at(params: SimParams, grid: InterceptGrid) -> B:
    """`battle.fire_control_cover` at the feasible cells of `grid` (False elsewhere)."""
    bat = params.batteries
    ok: B = np.ones(grid.feasible.shape, dtype=bool)
    for b in np.flatnonzero(bat.fc_radar >= 0):  # batteries: a handful
        n_i, m_i = np.nonzero(grid.feasible[:, b])
        ok[:, b] = False
        ok[n_i, b, m_i] = covers(params.radars, int(bat.fc_radar[b]), grid.pip_m[n_i, b, m_i])
    return ok


def _quality_gate_at(
    params: SimParams, tracks: TrackState, cand: I64, t: float, grid: InterceptGrid, at: B
) -> B:
    """`step._quality_gate` at the cells `at` (N, B, M) (False elsewhere).

    The same elementwise arithmetic per cell: `fire_control.position_sigma_m` of
    the cell's track and horizon (compiled, reading the covariances in place:
    `fire_control_kernel.position_sigma_rows`), the distance flown to its intercept point, the
    correctable error and the k-sigma test.
    """
    doc, mis = params.doctrine, params.missiles
    if doc.quality_sigmas <= 0.0:
        return np.ones(grid.feasible.shape, dtype=bool)
    n_i, b_i, m_i = np.nonzero(at)
    horizon = (t - tracks.time_s) + grid.t_intercept_rel_s[n_i, b_i, m_i]
    sigma = position_sigma_rows(
        tracks.P, cand[n_i], horizon, params.tracker.q_mps2, doc.max_track_age_s
    )
    guided = params.flyout == "guided" and mis.physics is not None
    terminal = mis.physics.seeker_m if guided and mis.physics is not None else mis.basket_m
    d = grid.pip_m[n_i, b_i, m_i] - params.batteries.pos_m[b_i]
    flight = np.sqrt(np.sum(d * d, axis=-1))
    reach = terminal[m_i] + doc.midcourse_share * flight
    with np.errstate(invalid="ignore"):
        fits = doc.quality_sigmas * sigma <= reach
    out: B = np.zeros(grid.feasible.shape, dtype=bool)
    out[n_i, b_i, m_i] = fits & (tracks.hits[cand[n_i]] >= 0)
    return out


def _left_batch(stock: I64, tch: I64, mch: I64, salvo: I64, crep: I64) -> B:
    """`step._left` per row with its replication's stock (R, B, M) and channels (R, B)."""
    s = salvo[:, None, None]
    ok: B = (stock[crep] >= s) & (tch[crep][:, :, None] >= 1) & (mch[crep][:, :, None] >= s)
    return ok


@dataclass(frozen=True)
class HeldRows:
    """`held` events of one decision of R replications (H rows, sorted by replication).

    Attributes:
        t_s: decision time, s (every row's time).
        threat_id: (H,) threat each held track follows (bookkeeping), local.
        track_id: (H,) the held track, local id.
        note: (H,) the event note (`step._HELD_NOTE` of the reason).
        pos_m: (H, 3) the track's predicted position at `t_s`.
        rep: (H,) replication of each row.
    """

    t_s: float
    threat_id: I64
    track_id: I64
    note: I64
    pos_m: F64
    rep: I64


def log_held_batch(
    pipe: Pipeline,
    t: float,
    tracks: TrackState,
    trep: I64,
    reason: I64,
    prev_track: I64,
    prev_logged: I64,
    prev_rep: I64,
) -> tuple[HeldRows, I64, I64, I64]:
    """`step._log_held` of every replication: the rows to log and the new held record.

    Args:
        pipe: the stages (the tracker places each held track at `t`).
        t: decision time, s.
        tracks: the air picture the decision saw (sorted by replication).
        trep: (T,) replication of each track row.
        reason: (T,) `decide_batch`'s reason per track row.
        prev_track: (H,) the confirmed tracks at the last decision,
        prev_logged: (H,) the reasons logged for them (bit masks), and
        prev_rep: (H,) their replications.

    Returns:
        The held events, then the new record: (H',) track ids, logged reasons
        (bit masks) and replications.
    """
    rows = np.flatnonzero(tracks.confirmed)
    ids, r, reps = tracks.track_id[rows], reason[rows], trep[rows]
    known, at = find_ids(rep_key(prev_rep, prev_track), rep_key(reps, ids))
    logged = np.zeros(ids.size, dtype=np.int64)
    logged[known] = prev_logged[at[known]]
    r = np.where((r == _KEEP) & ~known, fc.HOLD_QUALITY, r)
    held = r > fc.HOLD_NONE
    bit = np.left_shift(1, np.maximum(r, 0))
    new = held & (logged & bit == 0)
    sel = rows[new]
    pos = pipe.predict(tracks, t, sel)[:, :3] if sel.size else np.zeros((0, 3))
    out = HeldRows(t, tracks.truth[sel], ids[new], _HELD_NOTE[r[new]], pos, reps[new])
    logged = np.where(r == fc.HOLD_NONE, 0, np.where(held, logged | bit, logged))
    return out, ids, logged, reps
