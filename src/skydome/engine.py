"""The simulation engine: the one place that knows the order of the stages.

Each tick of `step_s` runs the kill chain in order:

1. **assess**  -- missiles whose intercept time has come are resolved;
2. **leak**    -- threats that reached their release point or impact leak;
3. **sense**   -- radars whose revisit is due scan the threats in the sky;
4. **track**   -- each scan updates the air picture;
5. **evaluate, assign, fly out** -- at each decision time, confirmed tracks are
   ranked, matched to batteries and missile types, and missiles launched.

Events with exact times (intercepts, leaks) keep those times, so results do not
depend on the tick except through radar and decision timing. Every stochastic
stage draws from its own named stream (`skydome.seeding`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.engagement.assessment import KILL, Outcome, assess
from skydome.engagement.evaluation import evaluate_threats
from skydome.engagement.flyout import InFlight, kinematic_flyout, midcourse_update
from skydome.engagement.geometry import intercept_grid
from skydome.engagement.wta_greedy import greedy_assign, rank_within_groups
from skydome.events import EventLog, Events
from skydome.geo import radar_geometry
from skydome.scenario.params import SimParams
from skydome.seeding import stream
from skydome.sensors.radar import coverage_mask, detect
from skydome.tracking.base import Tracker, TrackState
from skydome.tracking.gnn import GnnTracker
from skydome.tracking.kalman import cv_model

__all__ = ["RunResult", "simulate"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

ProgressFn = Callable[[float], None]

_FRESH_MISSES = 3
"""A track is engaged only while it has missed fewer scans than this in a row."""


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


def simulate(
    params: SimParams,
    seed: int | None = None,
    tracker: Tracker | None = None,
    progress: ProgressFn | None = None,
) -> RunResult:
    """Run one replication of a compiled scenario.

    Args:
        params: the compiled scenario.
        seed: replication seed; the scenario's `run.seed` if None.
        tracker: any `Tracker`; the GNN tracker with the scenario's settings if None.
        progress: called now and then with the fraction of simulated time done.

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

    n = th.n
    kill_time = np.full(n, np.inf)
    leak_time = np.full(n, np.inf)
    first_detect = np.full(n, np.inf)
    first_track = np.full(n, np.inf)
    engaged = np.zeros(n, dtype=bool)
    inventory = bat.inventory.copy()
    asset_value = params.assets.value.copy()
    tracks = TrackState.empty()
    inflight = InFlight.empty()
    log = EventLog()
    next_scan = np.zeros(rad.n)
    next_decision = 0.0
    ids = np.arange(n)
    n_launched = 0

    n_steps = int(np.ceil(params.duration_s / params.step_s - 1e-9))
    report_every = max(1, n_steps // 100)
    for k in range(1, n_steps + 1):
        t = min(k * params.step_s, params.duration_s)

        # 1. assess arrivals
        if inflight.n:
            arrived = inflight.t_intercept_s <= t
            if arrived.any():
                due = midcourse_update(inflight.take(arrived), tracks)
                inflight = inflight.take(~arrived)
                out = assess(due, th, kill_time, mis, engage_rng)
                kill_time = out.kill_time_s
                _log_outcomes(log, due, out)
                killed_tracks = due.track_id[out.code == KILL]
                if killed_tracks.size:
                    # Kill assessment: the command post drops the track it killed.
                    tracks = tracks.select(~np.isin(tracks.track_id, killed_tracks))

        # 2. leaks
        leaking = np.isinf(leak_time) & (th.end_s <= t) & (kill_time > th.end_s)
        if leaking.any():
            li = np.flatnonzero(leaking)
            leak_time[li] = th.end_s[li]
            pos, _ = th.state_at(th.end_s[li], li)
            log.add("leak", th.end_s[li], n=li.size, threat_id=li, pos_m=pos)
            survive = np.ones_like(asset_value)
            np.multiply.at(survive, th.target[li], 1.0 - th.damage[li])
            asset_value *= survive

        # 3-4. sense and track
        due_radars = np.flatnonzero(next_scan <= t + 1e-9)
        if due_radars.size:
            in_sky = (th.launch_s <= t) & (t < th.end_s) & (kill_time > t)
            sky = ids[in_sky]
            pos, _ = th.state_at(t, sky)
            for r in due_radars:
                det = detect(rad, int(r), t, pos, th.rcs_m2[sky], sky, radar_rng[r])
                fresh = det.truth[np.isinf(first_detect[det.truth])]
                if fresh.size:
                    first_detect[fresh] = t
                    log.add(
                        "detect", t, n=fresh.size, threat_id=fresh, radar=int(r),
                        pos_m=th.state_at(t, fresh)[0],
                    )  # fmt: skip
                radar_pos = rad.pos_m[r : r + 1]

                def covered(
                    p: F64, r: int = int(r), radar_pos: F64 = radar_pos
                ) -> NDArray[np.bool_]:
                    return coverage_mask(rad, r, radar_geometry(radar_pos, p))

                tracks, rep = tracker.step(tracks, det, covered)
                _log_scan(log, t, rep.confirmed_ids, rep.confirmed_truth, "track")
                _log_scan(log, t, rep.deleted_ids, rep.deleted_truth, "track_lost")
                seen = rep.confirmed_truth[rep.confirmed_truth >= 0]
                first_track[seen] = np.minimum(first_track[seen], t)
                next_scan[r] += rad.scan_period_s[r]

        # 5. evaluate, assign, fly out
        if t + 1e-9 >= next_decision:
            next_decision += doc.decision_period_s
            new, inventory = _plan(params, t, tracks, inflight, inventory, n_launched)
            n_launched += new.n
            if new.n:
                inflight = inflight.concat(new)
                engaged[new.threat[new.threat >= 0]] = True
                log.add(
                    "launch", new.t_launch_s, n=new.n, threat_id=new.threat,
                    track_id=new.track_id, missile_id=new.missile_id, battery=new.battery,
                    missile_type=new.mtype,
                    pos_m=new.pip_m,
                )  # fmt: skip

        if progress is not None and (k % report_every == 0 or k == n_steps):
            progress(k / n_steps)

    return RunResult(
        params=params,
        seed=seed,
        events=log.finish(),
        kill_time_s=kill_time,
        leak_time_s=leak_time,
        first_detect_s=first_detect,
        first_track_s=first_track,
        engaged=engaged,
        inventory_end=inventory,
        asset_value_end=asset_value,
    )


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


def _plan(
    params: SimParams,
    t: float,
    tracks: TrackState,
    inflight: InFlight,
    inventory: I64,
    first_missile_id: int,
) -> tuple[InFlight, I64]:
    """One decision cycle: evaluate threats, assign, launch. Pure.

    Returns the missiles launched (ids from `first_missile_id` on) and the
    inventory after their launch.
    """
    bat, mis, doc = params.batteries, params.missiles, params.doctrine
    busy = np.isin(tracks.track_id, inflight.track_id)
    cand = np.flatnonzero(tracks.confirmed & (tracks.misses < _FRESH_MISSES) & ~busy)
    if cand.size == 0:
        return InFlight.empty(), inventory
    x = tracks.x[cand]
    dt = t - tracks.time_s
    if dt > 0.0:
        F, _ = cv_model(dt, params.tracker.q_mps2)
        x = x @ F.T
    pos, vel = x[:, :3], x[:, 3:]
    ta = evaluate_threats(pos, vel, params.assets)
    threatening = ta.cpa_m <= params.assets.radius_m[ta.asset]
    deadline = np.where(threatening & np.isfinite(ta.tgo_s), ta.tgo_s, params.duration_s)
    grid = intercept_grid(pos, vel, bat, mis, deadline)

    n_b, n_m = inventory.shape
    feasible = grid.feasible & (inventory >= doc.salvo_size)[None, :, :]
    pref = mis.cost[None, None, :] + 1e-6 * grid.t_intercept_rel_s
    if doc.engage_order == "time_to_go":
        order = np.lexsort((-ta.score, ta.tgo_s))
    elif doc.engage_order == "range":
        order = np.lexsort((-ta.score, ta.range_m))
    else:
        order = np.argsort(-ta.score, kind="stable")

    guided = np.bincount(inflight.battery, minlength=n_b)
    pairs = np.unique(np.stack([inflight.battery, inflight.track_id]), axis=1)
    engaged_targets = np.bincount(pairs[0], minlength=n_b) if pairs.size else np.zeros(n_b)
    res = greedy_assign(
        priority_order=order,
        feasible=feasible.reshape(cand.size, n_b * n_m),
        preference=pref.reshape(cand.size, n_b * n_m),
        option_battery=np.repeat(np.arange(n_b), n_m),
        option_inventory=inventory.reshape(-1),
        target_channels_free=np.maximum(bat.target_channels - engaged_targets, 0),
        missile_channels_free=np.maximum(bat.missile_channels - guided, 0),
        salvo_size=doc.salvo_size,
    )
    rows = np.flatnonzero(res.option >= 0)
    if rows.size == 0:
        return InFlight.empty(), inventory
    rows = np.repeat(rows, doc.salvo_size)
    opt = res.option[rows]
    b, m = opt // n_m, opt % n_m
    # Launchers fire in turn: the k-th missile of a battery this cycle waits for
    # k // launchers reload intervals.
    queue = rank_within_groups(b) // np.maximum(bat.launchers[b], 1)
    delay = bat.reaction_s[b] + queue * bat.launch_interval_s[b]
    t_launch, t_int, pip = kinematic_flyout(
        t, pos[rows], vel[rows], bat.pos_m[b], delay, mis.speed_mps[m]
    )
    ok = np.isfinite(t_int)
    new = InFlight(
        missile_id=first_missile_id + np.arange(int(ok.sum()), dtype=np.int64),
        battery=b[ok],
        mtype=m[ok],
        track_id=tracks.track_id[cand[rows[ok]]],
        threat=tracks.truth[cand[rows[ok]]],
        t_launch_s=t_launch[ok],
        t_intercept_s=t_int[ok],
        pip_m=pip[ok],
    )
    inventory = inventory.copy()
    np.subtract.at(inventory, (new.battery, new.mtype), 1)
    return new, inventory
