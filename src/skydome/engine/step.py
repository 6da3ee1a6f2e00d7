"""One tick of the kill chain: `step(pipeline, state, t, rngs) -> (state, events)`.

Each call runs, in order:

1. **resolve**  -- the flyout flies the missiles to `t`; those that arrived are
   assessed; the command post learns outcomes `kill_assessment_s` after them
   and drops the tracks of threats it knows are dead;
2. **leak**     -- threats that reached their release point or impact leak;
3. **sense**    -- radars whose revisit is due scan the threats in the sky;
4. **track**    -- each scan updates the air picture;
5. **identify, evaluate, plan, launch** -- at each decision time, empty
   launchers start reloading, confirmed tracks are identified, scored,
   matched to batteries and missile types by the planner (intercept points and
   times from the pipeline's intercept model), and missiles take the earliest
   launch slots of their battery's launchers.

Under shoot-look-shoot a track is engaged again only after its last outcome
is known. Events with exact times (intercepts, leaks) keep those times, so
results depend on the tick only through radar and decision timing. `step`
changes nothing it is given except the random streams it draws from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, find_ids
from skydome.engagement import fire_control as fc
from skydome.engagement.assessment import KILL, Outcome
from skydome.engagement.flyout import InFlight
from skydome.engagement.geometry import InterceptGrid
from skydome.engagement.launchers import (
    Launchers,
    allocate_slots,
    commit_launches,
    start_reloads,
)
from skydome.engagement.params import DoctrineParams
from skydome.engine import battle, emcon
from skydome.engine.battle import fire_control_cover
from skydome.engine.identification import (
    HOLD_IDENTITY,
    ContestedIdentification,
    identify_for_decision,
    log_fratricide,
)
from skydome.engine.network import RadarTrackTimes, engage_mask, record_scan, remote_cover
from skydome.engine.pipeline import Pipeline, Plan, PlanRequest
from skydome.engine.state import C2State, SimState, Tally
from skydome.events import NOTES, EventLog
from skydome.scenario.compile import SimParams
from skydome.seeding import stream
from skydome.sensors.base import Detections
from skydome.sensors.jamming import Jammers
from skydome.tracking.base import TrackState

__all__ = ["Rngs", "StepEvents", "step"]

_KEEP = -1
"""`_decide`'s hold reason of a confirmed track too old to be considered: unchanged."""

_HELD_NOTE = np.array(
    [0]
    + [
        NOTES.index(f"held: {w}")
        for w in (
            "track quality",
            "out of envelope",
            "no launcher",
            "reserve",
            "rules of engagement",
        )
    ],
    dtype=np.int64,
)
"""`note` of a held event, indexed by `fire_control.HOLD_*` (and `identification.HOLD_IDENTITY`)."""

TARGET_SWITCH = NOTES.index("target switch")
"""`note` of a kill of another threat than the one the missile was launched at."""


@dataclass(frozen=True)
class Rngs:
    """The replication's random streams, one per stochastic stage (`skydome.seeding`).

    Attributes:
        radar: (R,) one stream per radar (detection, clutter).
        engagement: kill assessment draws.
        seeker: guided flyout seeker noise.
        arm: anti-radiation missiles' hits on radars.
        identification: decoy recognition and IFF draws (`skydome.engine.identification`);
            None: a scenario without identification needs none.
    """

    radar: tuple[np.random.Generator, ...]
    engagement: np.random.Generator
    seeker: np.random.Generator
    arm: np.random.Generator
    identification: np.random.Generator | None = None

    @staticmethod
    def from_seed(seed: int, radar_names: tuple[str, ...] | list[str]) -> Rngs:
        """The named streams of replication `seed`."""
        return Rngs(
            radar=tuple(stream(seed, "radar", name) for name in radar_names),
            engagement=stream(seed, "engagement"),
            seeker=stream(seed, "seeker"),
            arm=stream(seed, "arm"),
            identification=stream(seed, "identification"),
        )


@dataclass(frozen=True)
class StepEvents:
    """What one step produced besides the new state.

    Attributes:
        log: the step's events (`EventLog.finish` sorts a run's logs into `Events`).
        detections: every scan made during the step, in scan order.
    """

    log: EventLog
    detections: tuple[Detections, ...]


def step(pipe: Pipeline, state: SimState, t_s: float, rngs: Rngs) -> tuple[SimState, StepEvents]:
    """Advance `state` from `state.t_s` to `t_s` through the kill chain.

    Args:
        pipe: the scenario and its stages.
        state: the state at the previous tick.
        t_s: the new time, s (after `state.t_s`).
        rngs: the replication's random streams (advanced by the draws made).

    Returns:
        The state at `t_s` and the step's events.
    """
    p = pipe.params
    th, doc = p.threats, p.doctrine
    t = t_s
    world, picture, c2, missiles, tally = (
        state.world, state.picture, state.c2, state.missiles, state.tally,
    )  # fmt: skip
    # C2 and tally fields change often: kept as locals, packed once at the end.
    pending_track, pending_until, pending_kill = (
        c2.pending_track, c2.pending_until_s, c2.pending_kill,
    )  # fmt: skip
    launchers, next_scan, next_decision, n_launched = (
        c2.launchers, c2.next_scan_s, c2.next_decision_s, c2.n_launched,
    )  # fmt: skip
    held_track, held_logged = c2.held_track, c2.held_logged
    radar_seen = c2.radar_seen
    ident_state = c2.ident
    first_detect, first_track, engaged = (
        tally.first_detect_s, tally.first_track_s, tally.engaged,
    )  # fmt: skip
    log = EventLog()
    scans: list[Detections] = []

    # 1. resolve arrivals; the command post learns outcomes after a delay
    if missiles.n:
        # Midcourse aims at the tracker's own prediction of each track to now
        # (its motion model: a ballistic track follows its arc), not at a
        # constant-velocity extrapolation of the last update.
        # A flyout may say it will not read the picture this step (the kinematic
        # one reads it only when a missile arrives): no extrapolation then.
        reads = getattr(pipe.flyout, "reads_picture", None)
        aim = picture
        if picture.n and t > picture.time_s and (reads is None or reads(missiles, t)):
            aim = replace(picture, x=pipe.predict(picture, t, np.arange(picture.n)), time_s=t)
        missiles, arrivals = pipe.flyout.advance(missiles, state.t_s, t, world, aim, rngs.seeker)
        if arrivals is not None:
            due = arrivals.due
            out = pipe.assessment.assess(arrivals, world, rngs.engagement)
            world = replace(world, kill_time_s=out.kill_time_s)
            _log_outcomes(log, due, out)
            if p.identity is not None:
                log_fratricide(log, p.identity, due, out)
            pending_track = np.concatenate([pending_track, due.track_id])
            pending_until = np.concatenate(
                [pending_until, due.t_intercept_s + doc.kill_assessment_s]
            )
            pending_kill = np.concatenate([pending_kill, out.code == KILL])
    if pending_track.size:
        known = pending_until <= t
        killed_tracks = pending_track[known & pending_kill]
        if killed_tracks.size:
            picture = picture.select(~np.isin(picture.track_id, killed_tracks))
        pending_track = pending_track[~known]
        pending_until = pending_until[~known]
        pending_kill = pending_kill[~known]

    # 2. leaks (a threat that attacks nothing, damage 0, is no leaker: a stand-off
    # jammer or an escort just ends its route)
    # No threat that does damage ends before `first_leak_s`: nothing to check.
    if t >= th.first_leak_s:
        leaking = (
            np.isinf(world.leak_time_s)
            & (th.end_s <= t)
            & (world.kill_time_s > th.end_s)
            & (th.damage > 0.0)
        )
        if leaking.any():
            li = np.flatnonzero(leaking)
            leak_time = world.leak_time_s.copy()
            leak_time[li] = th.end_s[li]
            pos, _ = th.state_at(th.end_s[li], li, evade_start_s=world.evade_start_s)
            log.add("leak", th.end_s[li], n=li.size, threat_id=li, pos_m=pos)
            survive = np.ones_like(world.asset_value)
            np.multiply.at(survive, th.target[li], 1.0 - th.damage[li])
            world = replace(world, leak_time_s=leak_time, asset_value=world.asset_value * survive)

    # 2b. anti-radiation missiles at their radars; emission switches (skydome.engine.emcon)
    em = state.emission
    if em is not None:
        world, em = emcon.arrivals(p, world, em, state.t_s, t, log, rngs.arm)

    # 3-4. sense and track
    due_radars = np.flatnonzero(next_scan <= t + 1e-9)
    if due_radars.size:
        quiet = None if em is None else emcon.quiet(p, em, t)
        in_sky = (th.launch_s <= t) & (t < th.end_s) & (world.kill_time_s > t)
        pos, _ = th.state_at(t, evade_start_s=world.evade_start_s)
        on_air = in_sky & (th.jam_erp_w > 0.0)  # jammers radiate while airborne
        jam = Jammers(pos[on_air], th.jam_erp_w[on_air], th.jam_bandwidth_hz[on_air])
        first_detect = first_detect.copy()
        first_track = first_track.copy()
        next_scan = next_scan.copy()
        period = pipe.sensor.scan_period_s
        for r in due_radars:
            if quiet is not None and quiet[r]:  # silent or destroyed: no look, tracks coast
                none = emcon.no_look(t, int(r))
                picture, rep = pipe.tracker.step(picture, none, emcon.no_coverage)
                _log_scan(log, t, rep.deleted_ids, rep.deleted_truth, "track_lost")
                next_scan[r] += period[r]
                continue
            det = pipe.sensor.detect(int(r), t, pos, in_sky, jam, rngs.radar[r])
            scans.append(det)
            real = det.truth[det.truth >= 0]  # -1: false alarms
            fresh = real[np.isinf(first_detect[real])]
            if fresh.size:
                first_detect[fresh] = t
                log.add(
                    "detect", t, n=fresh.size, threat_id=fresh, radar=int(r), pos_m=pos[fresh],
                )  # fmt: skip
            before_ids, before_hits = picture.track_id, picture.hits
            picture, rep = pipe.tracker.step(picture, det, pipe.sensor.coverage(int(r)))
            if radar_seen is not None:
                radar_seen = record_scan(
                    radar_seen, before_ids, before_hits, picture, int(r), t
                )  # fmt: skip
            _log_scan(log, t, rep.confirmed_ids, rep.confirmed_truth, "track")
            _log_scan(log, t, rep.deleted_ids, rep.deleted_truth, "track_lost")
            seen = rep.confirmed_truth[rep.confirmed_truth >= 0]
            first_track[seen] = np.minimum(first_track[seen], t)
            next_scan[r] += period[r]
    if em is not None:
        em = emcon.after_sense(pipe, world, em, picture, t, log)

    # 5. identify, evaluate, plan, launch
    if t + 1e-9 >= next_decision:
        next_decision += doc.decision_period_s
        launchers, reloading = start_reloads(launchers, p.batteries, t)
        if reloading.size:
            log.add("reload", t, n=reloading.size, battery=launchers.battery[reloading])
        waiting = pending_track[pending_until > t]
        tracked_by_type: I64 | None = None
        if doc.planner == "lookahead":
            tracked_by_type = np.bincount(
                th.type_index[np.isfinite(first_track)], minlength=doc.expected_threats.size
            )
        allow = None  # (T, B) rules of engagement per track and battery; None: all
        if p.identity is not None:
            ident_state, allow = identify_for_decision(
                _contested(pipe), t, picture, ident_state, _ident_rng(rngs), pipe.predict, log
            )
        new, launchers, score, rank, reason = _decide(
            pipe,
            t,
            picture,
            missiles.flight,
            waiting,
            launchers,
            n_launched,
            tracked_by_type,
            radar_seen,
            None if em is None else emcon.quiet(p, em, t),
            allow,
        )
        held_track, held_logged = _log_held(log, pipe, t, picture, reason, held_track, held_logged)
        n_launched += new.n
        if new.n:
            missiles = pipe.flyout.launch(missiles, new, picture)
            engaged = engaged.copy()
            engaged[new.threat[new.threat >= 0]] = True
            # Engaged: an evading threat breaks at the launch (trigger launch) or
            # its time to go before the predicted intercept (trigger time_to_go).
            hit = new.threat >= 0
            tgo = th.evade_tgo_s[new.threat[hit]]
            brk = np.where(
                np.isfinite(tgo),
                np.maximum(new.t_launch_s[hit], new.t_intercept_s[hit] - tgo),
                new.t_launch_s[hit],
            )
            evade_start = world.evade_start_s.copy()
            np.minimum.at(evade_start, new.threat[hit], brk)
            world = replace(world, evade_start_s=evade_start)
            log.add(
                "launch", new.t_launch_s, n=new.n, threat_id=new.threat,
                track_id=new.track_id, missile_id=new.missile_id, battery=new.battery,
                missile_type=new.mtype, pos_m=new.pip_m, score=score, rank=rank,
            )  # fmt: skip

    c2 = C2State(
        launchers, pending_track, pending_until, pending_kill, next_scan, next_decision,
        n_launched, held_track, held_logged, radar_seen, ident_state,
    )  # fmt: skip
    tally = Tally(first_detect, first_track, engaged)
    new_state = SimState(t, world, picture, c2, missiles, tally, em)
    return new_state, StepEvents(log, tuple(scans))


def _contested(pipe: Pipeline) -> ContestedIdentification:
    """The pipeline's identification stage, or the built-in one if it cannot classify."""
    stage = pipe.identification
    if isinstance(stage, ContestedIdentification):
        return stage
    assert pipe.params.identity is not None
    return ContestedIdentification(pipe.params.identity, pipe.params.assets)


def _ident_rng(rngs: Rngs) -> np.random.Generator:
    if rngs.identification is None:
        raise ValueError("this scenario identifies tracks: Rngs needs its identification stream")
    return rngs.identification


def _log_scan(log: EventLog, t: float, track_ids: I64, truth: I64, kind: str) -> None:
    log.add(kind, t, n=track_ids.size, threat_id=truth, track_id=track_ids)


def _log_held(
    log: EventLog,
    pipe: Pipeline,
    t: float,
    picture: TrackState,
    reason: I64,
    prev_track: I64,
    prev_logged: I64,
) -> tuple[I64, I64]:
    """Log `held` events for confirmed tracks held for a reason not yet logged.

    A reason is logged once per track until the track is engaged (which clears
    its reasons); a track too old to be considered (`_KEEP`) logs nothing, unless
    it is new to the log (held for track quality).

    Args:
        log: the step's events.
        pipe: the stages (the tracker places each held track at `t`).
        t: decision time, s.
        picture: the air picture the decision saw.
        reason: (T,) `_decide`'s reason per picture row.
        prev_track: (H,) the confirmed tracks at the last decision.
        prev_logged: (H,) the reasons logged for them (bit masks).

    Returns:
        (H',) the confirmed tracks now and their logged reasons (tracks gone are dropped).
    """
    rows = np.flatnonzero(picture.confirmed)
    ids, r = picture.track_id[rows], reason[rows]
    known, at = find_ids(prev_track, ids)
    logged = np.zeros(ids.size, dtype=np.int64)
    logged[known] = prev_logged[at[known]]
    r = np.where((r == _KEEP) & ~known, fc.HOLD_QUALITY, r)
    held = r > fc.HOLD_NONE
    bit = np.left_shift(1, np.maximum(r, 0))
    new = held & (logged & bit == 0)
    if new.any():
        sel = rows[new]
        log.add(
            "held", t, n=sel.size, threat_id=picture.truth[sel], track_id=ids[new],
            note=_HELD_NOTE[r[new]], pos_m=pipe.predict(picture, t, sel)[:, :3],
        )  # fmt: skip
    logged = np.where(r == fc.HOLD_NONE, 0, np.where(held, logged | bit, logged))
    return ids, logged


def _log_outcomes(log: EventLog, due: InFlight, out: Outcome) -> None:
    kill = out.code == KILL
    switched = np.zeros(due.n, dtype=bool) if out.switched is None else out.switched
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
            note=np.where(kill, np.where(switched, TARGET_SWITCH, 0), out.code)[sel],
            miss_distance_m=out.miss_m[sel],
            pos_m=out.threat_pos_m[sel],
        )


def _decide(
    pipe: Pipeline,
    t: float,
    tracks: TrackState,
    inflight: InFlight,
    waiting: I64,
    launchers: Launchers,
    first_missile_id: int,
    seen_by_type: I64 | None = None,
    radar_seen: RadarTrackTimes | None = None,
    quiet_radars: NDArray[np.bool_] | None = None,
    allow: NDArray[np.bool_] | None = None,
) -> tuple[InFlight, Launchers, F64, I64, I64]:
    """One decision cycle: identify, evaluate, gate, plan, allocate launch slots. Pure.

    Args:
        pipe: the scenario and its stages.
        t: decision time, s.
        tracks: the air picture.
        inflight: missiles in the air.
        waiting: track ids whose last intercept's outcome is not yet known.
        launchers: launcher magazines and ready times.
        first_missile_id: id of the first missile launched now.
        seen_by_type: (K,) threats of each type tracked so far (the lookahead
            planner's count against the raid intelligence); None: not needed.
        radar_seen: when each radar updated each track: batteries engage only the
            tracks their network rule allows (`skydome.engine.network`); None: all.
        quiet_radars: (R,) radars silent or destroyed now (`engine.emcon.quiet`): a
            battery whose fire-control radar is quiet cannot guide, and a quiet
            radar guides nothing on remote; None: every radar emits.
        allow: (T, B) battery b may engage track row t (identity and rules of
            engagement, `skydome.engine.identification`); None: every track.

    Returns:
        The missiles launched, the launchers after launching, each missile's
        threat score and priority rank (0 = most urgent) at this decision, and
        (T,) why each track of the picture was held (`fire_control.HOLD_*`;
        `HOLD_NONE` for tracks engaged or not confirmed, `_KEEP` for confirmed
        tracks too old to be considered: their previous reason stands).
    """
    params = pipe.params
    bat, mis, doc = params.batteries, params.missiles, params.doctrine
    reason = np.zeros(tracks.n, dtype=np.int64)
    nothing = (InFlight.empty(), launchers, np.zeros(0), np.zeros(0, dtype=np.int64), reason)
    n_b = bat.load.shape[0]
    stock = launchers.battery_stock(n_b)
    in_air = _count_per_track(tracks.track_id, inflight.track_id)
    if doc.policy == "shoot_shoot":
        room = np.maximum(doc.max_missiles_per_target - in_air, 0)
    else:  # shoot_look_shoot, adaptive: wait for the assessment
        free = in_air == 0
        if waiting.size:  # np.isin costs tens of microseconds even on empty input
            free &= ~np.isin(tracks.track_id, waiting)
        room = np.where(free, doc.salvo_size, 0)
    salvo = np.minimum(room, doc.salvo_size)
    open_ = tracks.confirmed & (salvo > 0)  # confirmed and not in an engagement
    if allow is not None:  # friends, recognised decoys, what the rules forbid: held, not considered
        barred = open_ & ~allow.any(axis=1)
        recent = t - tracks.last_update_s[barred] <= doc.max_track_age_s
        reason[barred] = np.where(recent, HOLD_IDENTITY, _KEEP)
        open_ &= ~barred
    fresh = t - tracks.last_update_s <= doc.max_track_age_s
    mature = tracks.hits >= doc.min_track_updates
    reason[open_ & ~fresh] = _KEEP
    reason[open_ & fresh & ~mature] = fc.HOLD_QUALITY
    cand = np.flatnonzero(open_ & fresh & mature)
    if cand.size == 0:
        return nothing
    if not stock.any():
        reason[cand] = fc.HOLD_LAUNCHER
        return nothing
    n_c = cand.size
    lookahead = doc.planner == "lookahead"
    if lookahead:
        # The lookahead planner also sees the tracks it cannot fire at yet (too
        # few updates, or stale between surveillance scans): later targets, after
        # the candidates (rows n_c: never feasible now).
        cand = np.concatenate([cand, np.flatnonzero(open_ & ~(fresh & mature))])
    salvo = salvo[cand]
    x = pipe.predict(tracks, t, cand)
    pos, vel = x[:, :3], x[:, 3:]
    truth = tracks.truth[cand]  # bookkeeping only: which threat a launch is at
    ident = pipe.identification.identify(tracks, cand)
    ta = pipe.evaluation.evaluate(pos, vel, ident)
    score = ta.score
    threatening = ta.cpa_m <= params.assets.radius_m[ta.asset]
    deadline = np.where(threatening & np.isfinite(ta.tgo_s), ta.tgo_s, params.duration_s)
    # The identified threat type of each track: its speed limit and Pk per missile type.
    ttype = np.where(ident >= 0, params.threats.type_index[np.maximum(ident, 0)], -1)
    grid = pipe.intercept.grid(pos, vel, bat, deadline, ttype)
    cover = fire_control_cover(params, grid)
    if quiet_radars is not None:  # a silent or destroyed fire-control radar guides nothing
        grounded = (bat.fc_radar >= 0) & quiet_radars[np.maximum(bat.fc_radar, 0)]
        cover[:, grounded, :] = False
    if doc.network == "engage_on_remote":
        cover |= remote_cover(params, grid, quiet_radars)
    reachable = grid.feasible & cover
    if radar_seen is not None:
        allowed_by_net = engage_mask(
            radar_seen, tracks.track_id[cand], bat, doc.network == "autonomous", t,
            doc.max_track_age_s,
        )  # fmt: skip
        reachable &= allowed_by_net[:, :, None]
    correctable = _quality_gate(params, tracks, cand, t, grid)
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
    feasible = reachable & correctable & (stock > 0)[None, :, :]
    if allow is not None:
        feasible &= allow[cand][:, :, None]
    feasible[n_c:] = False
    pk = mis.pk_of(np.arange(mis.pk.size)[None, :], ttype[:, None])  # (N, M)
    value = later = future_value = future_pk = None
    reloads = launchers.reserve
    adaptive = doc.policy == "adaptive"
    can_fire = True  # for the lookahead planner: something can be fired at now
    if lookahead or adaptive or _has_rules(doc):
        value = battle.threat_values(params, ta, ttype, ident)
        allowed = battle.allowed_types(params, value, ttype)
        feasible = battle.doctrine_rules(params, feasible, allowed, salvo, stock, reloads)
        can_fire = bool(feasible.any())
        # What can only wait needs no plan this cycle (nothing can fire now).
        if (lookahead or adaptive) and can_fire:
            first = np.where(feasible, grid.t_intercept_rel_s, np.inf).min(axis=(1, 2))
            usable = allowed[:, None, :] & (stock + reloads > 0)[None, :, :]
            later, look = battle.later_options(pipe, pos, vel, deadline, ttype, first, usable)
            if adaptive:  # one round when a second after the look still fits
                salvo = np.where(look, np.minimum(salvo, 1), salvo)
        if lookahead and can_fire and seen_by_type is not None:
            future_value, future_pk = battle.expected_threats(
                params, seen_by_type, stock + reloads, t
            )
    if lookahead and not can_fire:
        plan = Plan(cand[:0], cand[:0], cand[:0])
    else:
        plan = pipe.planner.plan(
            PlanRequest(
                score,
                order,
                salvo,
                feasible,
                grid.t_intercept_rel_s,
                stock,
                tch,
                mch,
                pk,
                value,
                later,
                future_value,
                future_pk,
                reloads,
            )  # fmt: skip
        )
    served = np.zeros(cand.size, dtype=bool)
    if plan.rows.size == 0:
        left = _left(stock, tch, mch, salvo)
        reason[cand[:n_c]] = fc.hold_reason(
            mature[cand[:n_c]], reachable[:n_c], correctable[:n_c], left[:n_c], served[:n_c]
        )
        return nothing
    n_m = bat.load.shape[1]
    rows = np.repeat(plan.rows, plan.count)
    opt = np.repeat(plan.option, plan.count)
    b, m = opt // n_m, opt % n_m
    launcher, t_launch = allocate_slots(launchers, bat, b, m, t + bat.reaction_s[b])
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
    # What this decision's launches leave: a track not served while a salvo and
    # channels were left for one of its good cells was held back by the planner.
    used = np.zeros_like(stock)
    np.add.at(used, (b[ok], m[ok]), 1)
    new_targets = np.bincount(np.unique(b[ok] * cand.size + rows[ok]) // cand.size, minlength=n_b)
    left = _left(stock - used, tch - new_targets, mch - np.bincount(b[ok], minlength=n_b), salvo)
    reason[cand[:n_c]] = fc.hold_reason(
        mature[cand[:n_c]], reachable[:n_c], correctable[:n_c], left[:n_c], served[:n_c]
    )
    # Planned but not launched: no launch slot, else the launch-time flyout left the envelope.
    planned = np.zeros(cand.size, dtype=bool)
    planned[rows] = True
    no_slot = np.zeros(cand.size, dtype=bool)
    no_slot[rows[~has_slot]] = True
    failed = planned & ~served
    reason[cand[failed]] = np.where(no_slot[failed], fc.HOLD_LAUNCHER, fc.HOLD_ENVELOPE)
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
    return new, launchers, score[rows[ok]], rank[rows[ok]], reason


def _has_rules(doc: DoctrineParams) -> bool:
    """The doctrine restricts options by type, value or reserve."""
    return bool(
        (doc.engage_with.size and not doc.engage_with.all())
        or doc.min_threat_value.any()
        or doc.reserve_share.any()
    )


def _left(stock: I64, tch: I64, mch: I64, salvo: I64) -> NDArray[np.bool_]:
    """(N, B, M) a salvo of each type and its channels are free at each battery.

    Args:
        stock: (B, M) missiles on the launchers.
        tch: (B,) free target channels.
        mch: (B,) free missile channels.
        salvo: (N,) missiles each candidate track would receive.
    """
    s = salvo[:, None, None]
    ok: NDArray[np.bool_] = (
        (stock[None, :, :] >= s) & (tch[None, :, None] >= 1) & (mch[None, :, None] >= s)
    )
    return ok


def _quality_gate(
    params: SimParams, tracks: TrackState, cand: I64, t: float, grid: InterceptGrid
) -> NDArray[np.bool_]:
    """(N, B, M) the fire-control quality gate (`skydome.engagement.fire_control`).

    The candidates' covariances (at the picture's time) are extrapolated to each
    predicted intercept; k sigma must fit the type's terminal correction (homing
    basket, or in a guided run its seeker's acquisition range) plus what midcourse
    updates remove over the distance from the battery to the intercept point.
    """
    doc, mis = params.doctrine, params.missiles
    if doc.quality_sigmas <= 0.0:
        return np.ones(grid.feasible.shape, dtype=bool)
    horizon = (t - tracks.time_s) + grid.t_intercept_rel_s
    sigma = fc.position_sigma_m(tracks.P[cand], horizon, params.tracker.q_mps2, doc.max_track_age_s)
    guided = params.flyout == "guided" and mis.physics is not None
    terminal = mis.physics.seeker_m if guided and mis.physics is not None else mis.basket_m
    d = grid.pip_m - params.batteries.pos_m[None, :, None, :]
    flight = np.sqrt(np.sum(d * d, axis=-1))  # np.linalg.norm's arithmetic, without its wrapper
    reach = fc.correctable_error_m(terminal, doc.midcourse_share, flight)
    return fc.quality_ok(sigma, reach, doc.quality_sigmas, tracks.hits[cand], 0)


def _count_per_track(track_ids: I64, missile_tracks: I64) -> I64:
    """(N,) missiles in the air at each track."""
    if missile_tracks.size == 0 or track_ids.size == 0:
        return np.zeros(track_ids.size, dtype=np.int64)
    # Track ids are small non-negative integers: a histogram beats np.unique here.
    counts = np.bincount(missile_tracks, minlength=int(track_ids.max()) + 1)
    return counts[track_ids].astype(np.int64)
