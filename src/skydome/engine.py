"""The simulation engine: the one place that knows the order of the stages.

Each tick of `step_s` runs the kill chain in order:

1. **assess**  -- missiles whose intercept time has come are resolved;
2. **leak**    -- threats that reached their release point or impact leak;
3. **sense**   -- radars whose revisit is due scan the threats in the sky;
4. **track**   -- each scan updates the air picture;
5. **evaluate, assign, fly out** -- at each decision time, empty launchers
   start reloading, confirmed tracks are ranked, matched to batteries and
   missile types (greedy or weapon-target assignment), and missiles take the
   earliest launch slots of their battery's launchers.

The command post learns each intercept's outcome `kill_assessment_s` after it;
under shoot-look-shoot a track is engaged again only after that, and a killed
threat's track is dropped then.

Events with exact times (intercepts, leaks) keep those times, so results do not
depend on the tick except through radar and decision timing. Every stochastic
stage draws from its own named stream (`skydome.seeding`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import grouped_cumsum, rank_within_groups
from skydome.engagement.assessment import KILL, Outcome, assess, assess_guided
from skydome.engagement.evaluation import evaluate_threats
from skydome.engagement.flyout import InFlight, kinematic_flyout, midcourse_update
from skydome.engagement.geometry import InterceptGrid, intercept_grid
from skydome.engagement.guided import GuidedFlights, advance, launch_guided
from skydome.engagement.launchers import (
    Launchers,
    allocate_slots,
    commit_launches,
    start_reloads,
)
from skydome.engagement.wta import WtaProblem, solve
from skydome.engagement.wta_greedy import greedy_assign
from skydome.events import EventLog, Events
from skydome.geo import radar_geometry
from skydome.scenario.params import SimParams
from skydome.seeding import stream
from skydome.sensors.base import Detections
from skydome.sensors.jamming import Jammers
from skydome.sensors.radar import coverage_mask, detect, dwell_mask
from skydome.threats import Threats
from skydome.tracking.base import Tracker, TrackState
from skydome.tracking.gnn import GnnTracker
from skydome.tracking.kalman import cv_model

__all__ = ["RunResult", "simulate"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

ProgressFn = Callable[[float], None]


@dataclass(frozen=True)
class RunResult:
    """Everything one replication produced.

    Attributes:
        params: the scenario that was run.
        seed: the replication seed.
        events: the event log.
        kill_time_s: (N,) time each threat was killed (inf: not killed).
        leak_time_s: (N,) time each threat leaked (inf: did not).
        first_detect_s: (N,) first detection (inf: never).
        first_track_s: (N,) first confirmed track (inf: never).
        engaged: (N,) at least one missile launched at it.
        inventory_end: (B, M) missiles left.
        asset_value_end: (A,) value remaining per asset.
        truth_samples: threats in the sky every `record_every_s`: columns time_s,
            threat_id, x_m, y_m, z_m (for replays and plots).
        track_samples: the air picture at the same times: time_s, track_id,
            threat_id (bookkeeping), confirmed, x_m, y_m, z_m, vx_mps, vy_mps,
            vz_mps, sigma_m (RMS position standard deviation per axis).
        detections: every radar scan's detections, in scan order, when
            `record_detections` was set (else empty).
    """

    params: SimParams
    seed: int
    events: Events
    kill_time_s: F64
    leak_time_s: F64
    first_detect_s: F64
    first_track_s: F64
    engaged: NDArray[np.bool_]
    inventory_end: I64
    asset_value_end: F64
    truth_samples: dict[str, NDArray[np.generic]]
    track_samples: dict[str, NDArray[np.generic]]
    detections: tuple[Detections, ...] = ()


def simulate(
    params: SimParams,
    seed: int | None = None,
    tracker: Tracker | None = None,
    progress: ProgressFn | None = None,
    record_every_s: float | None = None,
    record_detections: bool = False,
) -> RunResult:
    """Run one replication of a compiled scenario.

    Args:
        params: the compiled scenario.
        seed: replication seed; the scenario's `run.seed` if None.
        tracker: any `Tracker`; the GNN tracker with the scenario's settings if None.
        progress: called now and then with the fraction of simulated time done.
        record_every_s: sample truth and tracks this often (None: not at all;
            Monte Carlo studies leave it off).
        record_detections: keep every scan's detections (`RunResult.detections`);
            recording changes no result.

    Returns:
        The run's events and per-threat outcomes.
    """
    seed = params.seed if seed is None else seed
    th = params.threats
    rad = params.radars
    bat = params.batteries
    mis = params.missiles
    doc = params.doctrine
    tracker = tracker if tracker is not None else GnnTracker(params.tracker)
    radar_rng = [stream(seed, "radar", name) for name in rad.names]
    engage_rng = stream(seed, "engagement")
    seeker_rng = stream(seed, "seeker")  # guided flyout only

    n = th.n
    kill_time = np.full(n, np.inf)
    leak_time = np.full(n, np.inf)
    first_detect = np.full(n, np.inf)
    first_track = np.full(n, np.inf)
    engaged = np.zeros(n, dtype=bool)
    # First missile launch at each threat (inf: never): starts its evasive break.
    evade_start = np.full(n, np.inf)
    launchers = Launchers.from_params(bat)
    asset_value = params.assets.value.copy()
    tracks = TrackState.empty()
    inflight = InFlight.empty()
    # guided flyout: the missiles' physical state, row for row with `inflight`
    guided = params.flyout == "guided"
    flights = GuidedFlights.empty()
    # Outcomes the command post is waiting to learn: one row per resolved missile.
    pending_track = np.zeros(0, dtype=np.int64)
    pending_until = np.zeros(0)
    pending_kill = np.zeros(0, dtype=bool)
    log = EventLog()
    next_scan = np.zeros(rad.n)
    next_decision = 0.0
    ids = np.arange(n)
    n_launched = 0
    truth_rec: list[dict[str, NDArray[np.generic]]] = []
    track_rec: list[dict[str, NDArray[np.generic]]] = []
    next_record = 0.0
    det_rec: list[Detections] = []

    t_prev = 0.0
    n_steps = int(np.ceil(params.duration_s / params.step_s - 1e-9))
    report_every = max(1, n_steps // 100)
    for k in range(1, n_steps + 1):
        t = min(k * params.step_s, params.duration_s)

        # 1. assess arrivals; the command post learns outcomes after a delay
        if inflight.n:
            if guided:
                assert mis.physics is not None  # checked when the scenario loads
                flights, ended = advance(
                    flights, t_prev, t, params.guidance_step_s, mis.physics, mis.max_tof_s,
                    th, kill_time, tracks, inflight.track_id, evade_start, seeker_rng,
                )  # fmt: skip
                arrived = np.zeros(inflight.n, dtype=bool)
                arrived[ended.row] = True
            else:
                arrived = inflight.t_intercept_s <= t
            if arrived.any():
                if guided:
                    due = replace(inflight.take(ended.row), t_intercept_s=ended.t_end_s)
                    out = assess_guided(
                        due, ended, th, kill_time, mis, engage_rng, evade_start_s=evade_start
                    )
                else:
                    due = midcourse_update(inflight.take(arrived), tracks)
                    out = assess(due, th, kill_time, mis, engage_rng, evade_start_s=evade_start)
                inflight = inflight.take(~arrived)
                kill_time = out.kill_time_s
                _log_outcomes(log, due, out)
                pending_track = np.r_[pending_track, due.track_id]
                pending_until = np.r_[pending_until, due.t_intercept_s + doc.kill_assessment_s]
                pending_kill = np.r_[pending_kill, out.code == KILL]
        if pending_track.size:
            known = pending_until <= t
            killed_tracks = pending_track[known & pending_kill]
            if killed_tracks.size:
                tracks = tracks.select(~np.isin(tracks.track_id, killed_tracks))
            pending_track = pending_track[~known]
            pending_until = pending_until[~known]
            pending_kill = pending_kill[~known]

        # 2. leaks
        leaking = np.isinf(leak_time) & (th.end_s <= t) & (kill_time > th.end_s)
        if leaking.any():
            li = np.flatnonzero(leaking)
            leak_time[li] = th.end_s[li]
            pos, _ = th.state_at(th.end_s[li], li, evade_start_s=evade_start)
            log.add("leak", th.end_s[li], n=li.size, threat_id=li, pos_m=pos)
            survive = np.ones_like(asset_value)
            np.multiply.at(survive, th.target[li], 1.0 - th.damage[li])
            asset_value *= survive

        # 3-4. sense and track
        due_radars = np.flatnonzero(next_scan <= t + 1e-9)
        if due_radars.size:
            in_sky = (th.launch_s <= t) & (t < th.end_s) & (kill_time > t)
            pos, _ = th.state_at(t, evade_start_s=evade_start)
            on_air = in_sky & (th.jam_erp_w > 0.0)  # jammers radiate while airborne
            jam = Jammers(pos[on_air], th.jam_erp_w[on_air], th.jam_bandwidth_hz[on_air])
            for r in due_radars:
                det = detect(
                    rad, int(r), t, pos, th.rcs_m2, ids, radar_rng[r], in_sky, th.swerling, jam
                )
                if record_detections:
                    det_rec.append(det)
                real = det.truth[det.truth >= 0]  # -1: false alarms
                fresh = real[np.isinf(first_detect[real])]
                if fresh.size:
                    first_detect[fresh] = t
                    log.add(
                        "detect", t, n=fresh.size, threat_id=fresh, radar=int(r),
                        pos_m=th.state_at(t, fresh, evade_start_s=evade_start)[0],
                    )  # fmt: skip
                radar_pos = rad.pos_m[r : r + 1]

                def covered(
                    p: F64, r: int = int(r), radar_pos: F64 = radar_pos
                ) -> NDArray[np.bool_]:
                    g = radar_geometry(radar_pos, p)
                    return dwell_mask(rad, r, g.slant_m[0], coverage_mask(rad, r, g))

                tracks, rep = tracker.step(tracks, det, covered)
                _log_scan(log, t, rep.confirmed_ids, rep.confirmed_truth, "track")
                _log_scan(log, t, rep.deleted_ids, rep.deleted_truth, "track_lost")
                seen = rep.confirmed_truth[rep.confirmed_truth >= 0]
                first_track[seen] = np.minimum(first_track[seen], t)
                next_scan[r] += rad.scan_period_s[r]

        # 5. evaluate, assign, fly out
        if t + 1e-9 >= next_decision:
            next_decision += doc.decision_period_s
            launchers, reloading = start_reloads(launchers, bat, t)
            if reloading.size:
                log.add(
                    "reload", t, n=reloading.size, battery=launchers.battery[reloading],
                )  # fmt: skip
            waiting = pending_track[pending_until > t]
            new, launchers, score, rank = _plan(
                params, t, tracks, inflight, waiting, launchers, n_launched
            )
            n_launched += new.n
            if new.n:
                inflight = inflight.concat(new)
                if guided:
                    assert mis.physics is not None
                    flights = flights.concat(
                        launch_guided(new, tracks, bat.pos_m[new.battery], mis.physics)
                    )
                engaged[new.threat[new.threat >= 0]] = True
                hit = new.threat >= 0  # illuminated: an evading threat breaks at launch
                np.minimum.at(evade_start, new.threat[hit], new.t_launch_s[hit])
                log.add(
                    "launch", new.t_launch_s, n=new.n, threat_id=new.threat,
                    track_id=new.track_id, missile_id=new.missile_id, battery=new.battery,
                    missile_type=new.mtype, pos_m=new.pip_m, score=score, rank=rank,
                )  # fmt: skip

        if record_every_s is not None and t + 1e-9 >= next_record:
            next_record += record_every_s
            in_sky = (th.launch_s <= t) & (t < th.end_s) & (kill_time > t)
            truth_rec.append(_truth_sample(th, t, np.flatnonzero(in_sky), evade_start))
            track_rec.append(_track_sample(tracks, t))

        if progress is not None and (k % report_every == 0 or k == n_steps):
            progress(k / n_steps)
        t_prev = t

    return RunResult(
        params=params,
        seed=seed,
        events=log.finish(),
        kill_time_s=kill_time,
        leak_time_s=leak_time,
        first_detect_s=first_detect,
        first_track_s=first_track,
        engaged=engaged,
        inventory_end=launchers.battery_stock(bat.pos_m.shape[0]) + launchers.reserve,
        asset_value_end=asset_value,
        truth_samples=_concat(truth_rec, _truth_sample(th, 0.0, np.zeros(0, dtype=np.int64))),
        track_samples=_concat(track_rec, _track_sample(TrackState.empty(), 0.0)),
        detections=tuple(det_rec),
    )


def _truth_sample(
    th: Threats, t: float, idx: I64, evade_start_s: F64 | None = None
) -> dict[str, NDArray[np.generic]]:
    pos, _ = th.state_at(t, idx, evade_start_s=evade_start_s)
    return {
        "time_s": np.full(idx.size, t),
        "threat_id": idx.astype(np.int64),
        "x_m": pos[:, 0],
        "y_m": pos[:, 1],
        "z_m": pos[:, 2],
    }


def _track_sample(tr: TrackState, t: float) -> dict[str, NDArray[np.generic]]:
    x = tr.x
    if tr.n and t > tr.time_s:
        F, _ = cv_model(t - tr.time_s, 0.0)
        x = x @ F.T
    sigma = np.sqrt(np.trace(tr.P[:, :3, :3], axis1=1, axis2=2) / 3.0)
    return {
        "time_s": np.full(tr.n, t),
        "track_id": tr.track_id.copy(),
        "threat_id": tr.truth.copy(),
        "confirmed": tr.confirmed.copy(),
        "x_m": x[:, 0],
        "y_m": x[:, 1],
        "z_m": x[:, 2],
        "vx_mps": x[:, 3],
        "vy_mps": x[:, 4],
        "vz_mps": x[:, 5],
        "sigma_m": sigma,
    }


def _concat(
    parts: list[dict[str, NDArray[np.generic]]], empty: dict[str, NDArray[np.generic]]
) -> dict[str, NDArray[np.generic]]:
    if not parts:
        return empty
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _log_scan(log: EventLog, t: float, track_ids: I64, truth: I64, kind: str) -> None:
    log.add(kind, t, n=track_ids.size, threat_id=truth, track_id=track_ids)


def _log_outcomes(log: EventLog, due: InFlight, out: Outcome) -> None:
    kill = out.code == KILL
    for kind, sel in (("kill", kill), ("miss", ~kill)):
        log.add(
            kind,
            due.t_intercept_s[sel],
            n=int(sel.sum()),
            threat_id=out.threat[sel],
            track_id=due.track_id[sel],
            missile_id=due.missile_id[sel],
            battery=due.battery[sel],
            missile_type=due.mtype[sel],
            note=np.where(kill, 0, out.code)[sel],
            miss_distance_m=out.miss_m[sel],
            pos_m=out.threat_pos_m[sel],
        )


def _fire_control_ok(params: SimParams, grid: InterceptGrid) -> NDArray[np.bool_]:
    """(N, B, M): the battery's fire-control radar (if any) sees the intercept point."""
    bat, rad = params.batteries, params.radars
    n, _, m = grid.feasible.shape
    ok: NDArray[np.bool_] = np.ones(grid.feasible.shape, dtype=bool)
    for b in np.flatnonzero(bat.fc_radar >= 0):  # batteries: a handful
        r = int(bat.fc_radar[b])
        pip = grid.pip_m[:, b].reshape(-1, 3)
        finite: NDArray[np.bool_] = np.asarray(np.isfinite(pip).all(axis=1), dtype=bool)
        geom = radar_geometry(rad.pos_m[r : r + 1], np.where(finite[:, None], pip, 0.0))
        seen = np.asarray(coverage_mask(rad, r, geom) & finite, dtype=bool)
        ok[:, b] = seen.reshape(n, m)
    return ok


def _plan(
    params: SimParams,
    t: float,
    tracks: TrackState,
    inflight: InFlight,
    waiting: I64,
    launchers: Launchers,
    first_missile_id: int,
) -> tuple[InFlight, Launchers, F64, I64]:
    """One decision cycle: evaluate threats, assign, allocate launch slots. Pure.

    Args:
        params: the scenario.
        t: decision time, s.
        tracks: the air picture.
        inflight: missiles in the air.
        waiting: track ids whose last intercept's outcome is not yet known.
        launchers: launcher magazines and ready times.
        first_missile_id: id of the first missile launched now.

    Returns:
        The missiles launched, the launchers after launching, and each missile's
        threat score and priority rank (0 = most urgent) at this decision.
    """
    bat, mis, doc = params.batteries, params.missiles, params.doctrine
    nothing = (InFlight.empty(), launchers, np.zeros(0), np.zeros(0, dtype=np.int64))
    n_b, n_m = bat.load.shape
    stock = launchers.battery_stock(n_b)
    if not stock.any():
        return nothing
    in_air = _count_per_track(tracks.track_id, inflight.track_id)
    if doc.policy == "shoot_look_shoot":
        room = np.where((in_air == 0) & ~np.isin(tracks.track_id, waiting), doc.salvo_size, 0)
    else:
        room = np.maximum(doc.max_missiles_per_target - in_air, 0)
    salvo = np.minimum(room, doc.salvo_size)
    fresh = t - tracks.last_update_s <= doc.max_track_age_s
    cand = np.flatnonzero(tracks.confirmed & fresh & (salvo > 0))
    if cand.size == 0:
        return nothing
    salvo = salvo[cand]
    x = tracks.x[cand]
    dt = t - tracks.time_s
    if dt > 0.0:
        F, _ = cv_model(dt, params.tracker.q_mps2)
        x = x @ F.T
    pos, vel = x[:, :3], x[:, 3:]
    truth = tracks.truth[cand]
    weight = np.where(truth >= 0, doc.type_weight[np.maximum(truth, 0)], 1.0)
    ta = evaluate_threats(pos, vel, params.assets, doc.tgo_softening_s)
    score = ta.score * weight
    threatening = ta.cpa_m <= params.assets.radius_m[ta.asset]
    deadline = np.where(threatening & np.isfinite(ta.tgo_s), ta.tgo_s, params.duration_s)
    grid = intercept_grid(pos, vel, bat, mis, deadline)
    feasible = grid.feasible & _fire_control_ok(params, grid) & (stock > 0)[None, :, :]
    if doc.engage_order == "time_to_go":
        order = np.lexsort((-score, ta.tgo_s))
    elif doc.engage_order == "range":
        order = np.lexsort((-score, ta.range_m))
    else:
        order = np.lexsort((np.arange(cand.size), -score))
    rank = np.empty(cand.size, dtype=np.int64)
    rank[order] = np.arange(cand.size)

    guided = np.bincount(inflight.battery, minlength=n_b)
    # Distinct (battery, track) pairs in the air; a 1-D key (np.unique with
    # axis=1 costs ~10x more at these sizes).
    span = int(inflight.track_id.max()) + 1 if inflight.n else 1
    pairs = np.unique(inflight.battery * span + inflight.track_id)
    engaged_targets = np.bincount(pairs // span, minlength=n_b) if pairs.size else np.zeros(n_b)
    tch = np.maximum(bat.target_channels - engaged_targets, 0)
    mch = np.maximum(bat.missile_channels - guided, 0)
    if doc.planner == "wta":
        rows, opt, count = _assign_wta(params, score, salvo, feasible, stock, tch, mch)
    else:
        res = greedy_assign(
            priority_order=order,
            feasible=(feasible & (stock >= doc.salvo_size)[None]).reshape(cand.size, -1),
            preference=(mis.cost[None, None, :] + 1e-6 * grid.t_intercept_rel_s).reshape(
                cand.size, -1
            ),
            option_battery=np.repeat(np.arange(n_b), n_m),
            option_inventory=stock.reshape(-1),
            target_channels_free=tch,
            missile_channels_free=mch,
            salvo_size=doc.salvo_size,
        )
        rows = np.flatnonzero(res.option >= 0)
        opt, count = res.option[rows], salvo[rows]
    if rows.size == 0:
        return nothing
    rows = np.repeat(rows, count)
    opt = np.repeat(opt, count)
    b, m = opt // n_m, opt % n_m
    launcher, t_launch = allocate_slots(launchers, bat, b, m, t + bat.reaction_s[b])
    has_slot = launcher >= 0
    delay = np.where(has_slot, t_launch - t, 0.0)
    t_launch, t_int, pip = kinematic_flyout(
        t, pos[rows], vel[rows], bat.pos_m[b], delay, mis.speed_mps[m]
    )
    ok = (
        has_slot
        & np.isfinite(t_int)
        & (t_int - t <= deadline[rows])
        & (t_int - t_launch <= mis.max_tof_s[m])
    )
    launchers = commit_launches(launchers, bat, launcher[ok], m[ok], t_launch[ok])
    new = InFlight(
        missile_id=first_missile_id + np.arange(int(ok.sum()), dtype=np.int64),
        battery=b[ok],
        mtype=m[ok],
        track_id=tracks.track_id[cand[rows[ok]]],
        threat=truth[rows[ok]],
        t_launch_s=t_launch[ok],
        t_intercept_s=t_int[ok],
        pip_m=pip[ok],
    )
    return new, launchers, score[rows[ok]], rank[rows[ok]]


def _count_per_track(track_ids: I64, missile_tracks: I64) -> I64:
    """(N,) missiles in the air at each track."""
    if missile_tracks.size == 0 or track_ids.size == 0:
        return np.zeros(track_ids.size, dtype=np.int64)
    # Track ids are small non-negative integers: a histogram beats np.unique here.
    counts = np.bincount(missile_tracks, minlength=int(track_ids.max()) + 1)
    return counts[track_ids].astype(np.int64)


def _assign_wta(
    params: SimParams,
    score: F64,
    salvo: I64,
    feasible: NDArray[np.bool_],
    stock: I64,
    tch: I64,
    mch: I64,
) -> tuple[I64, I64, I64]:
    """Weapon-target assignment for one decision: value at risk against missile cost.

    Weapons are (battery, type) options with counts (stock, capped by the
    battery's free missile channels); a track's value is its threat score times
    `tgo_softening_s` -- the value at risk of an imminent threat -- so far
    threats weigh less and can wait for a cheaper shot. Target channels and
    battery-wide missile channels are then enforced by keeping each battery's
    most valuable engagements.

    Returns:
        (rows, option, count): each engaged track row, the option used and how
        many missiles (one option per track: the one given most missiles).
    """
    mis, doc = params.missiles, params.doctrine
    n, n_b, n_m = feasible.shape
    pk = np.where(feasible, mis.pk[None, None, :], 0.0).reshape(n, n_b * n_m).T
    counts = np.minimum(stock, mch[:, None]).reshape(-1)
    problem = WtaProblem(
        values=score * doc.tgo_softening_s,
        pk=pk,
        counts=counts.astype(np.int64),
        cost=np.tile(mis.cost, n_b) * doc.missile_cost_weight,
        max_per_target=int(salvo.max()),
    )
    x = solve(problem, doc.wta_solver, doc.wta_time_limit_s).x  # (O, N)
    opt = np.argmax(x, axis=0)
    count = np.minimum(x[opt, np.arange(n)], salvo)
    rows = np.flatnonzero(count > 0)
    if rows.size == 0:
        return rows, rows, rows
    opt, count = opt[rows], count[rows]
    # Channels: per battery, keep the most valuable engagements while the
    # cumulative targets, missiles and stock (in value order) still fit.
    order = np.lexsort((rows, -score[rows]))
    rows, opt, count = rows[order], opt[order], count[order]
    bat_of = opt // n_m
    fits = (
        (rank_within_groups(bat_of) < tch[bat_of])
        & (grouped_cumsum(bat_of, count) <= mch[bat_of])
        & (grouped_cumsum(opt, count) <= stock.reshape(-1)[opt])
    )
    return rows[fits], opt[fits], count[fits]
