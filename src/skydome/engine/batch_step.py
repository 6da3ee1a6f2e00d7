"""The batched kill chain: `step` for R replications at once (`simulate_batch`).

`BatchState` is `SimState` with a replication axis: per-threat arrays are
rep-major (R*N,) (row k*N + i is threat i of replication k), tables of tracks,
missiles and pending outcomes hold every replication's rows sorted by
replication, each with a `rep` column, and launchers carry global battery ids
k*B + b (the batteries tiled R times). Id columns (threat, track, missile,
battery in missiles and events) keep the single run's local values.

Every replication of a plain scenario scans and decides at the same times
(the schedules depend on the scenario only), so one clock drives them all;
`step_batch` follows `skydome.engine.step.step` section by section and calls
the stages' batched kernels, which draw from each replication's own streams
exactly what a single run draws. `unsupported` names what a scenario uses
that the batched step does not cover; `simulate_batch` runs those one
replication at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, rep_key
from skydome.engagement.assessment import KILL, Outcome
from skydome.engagement.flyout import InFlight
from skydome.engagement.launchers import Launchers, start_reloads
from skydome.engagement.params import BatteryParams
from skydome.engine import sense_batch
from skydome.engine.decide_batch import log_held_batch, tile_batteries
from skydome.engine.network import network_active
from skydome.engine.pipeline import Pipeline
from skydome.engine.simulate import ProgressFn, RunResult
from skydome.engine.state import Missiles, SimState, Tally, WorldState
from skydome.engine.step import TARGET_SWITCH, Rngs
from skydome.events import EventLog, Events
from skydome.scenario.compile import SimParams
from skydome.tracking.base import TrackState
from skydome.tracking.gnn_batch import BatchTracks

__all__ = ["BatchEventLog", "BatchState", "run", "step_batch", "unsupported"]

B = NDArray[np.bool_]


@dataclass
class BatchEventLog:
    """An `EventLog` whose rows also carry their replication."""

    log: EventLog
    reps: list[I64]

    @staticmethod
    def new() -> BatchEventLog:
        """An empty log."""
        return BatchEventLog(EventLog(), [])

    def add(
        self, kind: str, time_s: F64 | float, *, rep: I64 | int, n: int, **cols: object
    ) -> None:
        """Append `n` events of one kind (`EventLog.add`), each of replication `rep`."""
        if n == 0:
            return
        self.log.add(kind, time_s, n=n, **cols)  # type: ignore[arg-type]
        r = np.asarray(rep, dtype=np.int64)
        self.reps.append(np.full(n, r, dtype=np.int64) if r.ndim == 0 else r.copy())

    def split(self, n_reps: int) -> list[Events]:
        """Each replication's events, sorted as `EventLog.finish` sorts a single run's."""
        parts = self.log._parts
        names = list(parts[0]) if parts else []
        cols = {k: np.concatenate([p[k] for p in parts]) for k in names}
        rep = np.concatenate(self.reps) if self.reps else np.zeros(0, dtype=np.int64)
        if not parts:
            return [EventLog().finish() for _ in range(n_reps)]
        # The replication first, then `finish`'s keys: a stable sort, so each
        # replication's rows come out in the order `finish` gives a single run.
        order = np.lexsort(
            (cols["missile_id"], cols["track_id"], cols["threat_id"], cols["kind"],
             cols["time_s"], rep)
        )  # fmt: skip
        cut = np.searchsorted(rep[order], np.arange(n_reps + 1))
        out = []
        for k in range(n_reps):
            sel = order[cut[k] : cut[k + 1]]
            out.append(Events(**{name: cols[name][sel] for name in Events.__dataclass_fields__}))
        return out


def unsupported(pipe: Pipeline) -> str | None:
    """What the scenario uses that the batched step does not cover (None: nothing)."""
    return unsupported_params(pipe.params)


@dataclass(frozen=True)
class Kernels:
    """The batched form of each stage: a module of kernels with `batch_loop`'s signatures.

    Attributes:
        flyout: `reads_picture_batch`, `advance_batch`, `assess_batch`, `launch_batch`.
        decide: `decide_batch`.
        sense: `detect_batch` (truth and jammers are the sensor's input: `sense_batch`).
        track: `step_batch`.
        looped: the stages without a vectorised kernel (a custom stage, an IMM
            tracker, ...): their `batch_loop` reference runs each replication's
            rows through the single-run stage, correct but not faster.
    """

    flyout: Any
    decide: Any
    sense: Any
    track: Any
    looped: tuple[str, ...]


def kernels(pipe: Pipeline) -> Kernels:
    """Each stage's vectorised kernels where they cover it, else its reference loop."""
    from skydome.engine import batch_loop, decide_batch, flyout_batch
    from skydome.tracking import gnn_batch

    looped = []

    def pick(name: str, fast: Any, ok: bool) -> Any:
        if ok:
            return fast
        looped.append(name)
        return batch_loop

    fly = pick("flyout", flyout_batch, flyout_batch.supports_batch(pipe.flyout, pipe.assessment))
    dec = pick("decision", decide_batch, decide_batch.supports_batch(pipe))
    sen = pick("sensor", sense_batch, sense_batch.supports_batch(pipe.sensor))
    trk = pick("tracker", gnn_batch, gnn_batch.supports_batch(pipe.tracker))
    return Kernels(fly, dec, sen, trk, tuple(looped))


def unsupported_params(p: SimParams) -> str | None:
    """What the scenario's parameters ask for that the batched step does not cover."""
    if p.identity is not None:
        return "identification (decoys, friendlies, IFF)"
    if p.emission is not None or p.arms is not None:
        return "emission control or anti-radiation missiles"
    if p.doctrine.planner == "lookahead":
        return "the lookahead planner"
    if network_active(p.batteries, p.doctrine.network == "autonomous"):
        return "networked batteries (per-radar track records)"
    return None


@dataclass(frozen=True)
class BatchState:
    """R replications' states at `t_s` (`SimState` with a replication axis).

    Attributes:
        t_s: simulated time, s (common).
        n_reps: R.
        world: truth; per-threat arrays (R*N,), `asset_value` (R*A,), rep-major.
        picture: every replication's air picture (`gnn_batch.BatchTracks`).
        launchers: every replication's launchers, global battery ids k*B + b;
            `reserve` (R*B, M).
        pending_track: (P,) track engaged by each resolved missile whose outcome
            its command post has not learnt yet (`C2State`), with
        pending_until_s: (P,) when it learns it, s,
        pending_kill: (P,) whether it was a kill, and
        pending_rep: (P,) its replication.
        next_scan_s: (S,) next scan time of each radar, s (common).
        next_decision_s: next decision cycle, s (common).
        n_launched: (R,) missiles launched so far per replication.
        held_track, held_logged, held_rep: `C2State.held_*` of every replication
            (rows sorted by replication) and their replication.
        missiles: missiles in the air, rows sorted by replication, with
        missile_rep: (K,) their replication.
        tally: per-threat tallies, (R*N,) each.
    """

    t_s: float
    n_reps: int
    world: WorldState
    picture: BatchTracks
    launchers: Launchers
    pending_track: I64
    pending_until_s: F64
    pending_kill: B
    pending_rep: I64
    next_scan_s: F64
    next_decision_s: float
    n_launched: I64
    held_track: I64
    held_logged: I64
    held_rep: I64
    missiles: Missiles
    missile_rep: I64
    tally: Tally

    @staticmethod
    def initial(pipe: Pipeline, n_reps: int, bat_tiled: BatteryParams) -> BatchState:
        """Every replication's `SimState.initial`, stacked."""
        one = SimState.initial(pipe.params, pipe.flyout.empty())

        def tile(a: NDArray[Any]) -> NDArray[Any]:
            return np.tile(a, n_reps)

        w, ta = one.world, one.tally
        none = np.zeros(0, dtype=np.int64)
        return BatchState(
            t_s=0.0,
            n_reps=n_reps,
            world=WorldState(
                tile(w.kill_time_s),
                tile(w.leak_time_s),
                tile(w.evade_start_s),
                tile(w.asset_value),
            ),  # fmt: skip
            picture=BatchTracks.empty(n_reps),
            launchers=Launchers.from_params(bat_tiled),
            pending_track=none,
            pending_until_s=np.zeros(0),
            pending_kill=np.zeros(0, dtype=bool),
            pending_rep=none,
            next_scan_s=one.c2.next_scan_s.copy(),
            next_decision_s=one.c2.next_decision_s,
            n_launched=np.zeros(n_reps, dtype=np.int64),
            held_track=none,
            held_logged=none,
            held_rep=none,
            missiles=one.missiles,
            missile_rep=none,
            tally=Tally(tile(ta.first_detect_s), tile(ta.first_track_s), tile(ta.engaged)),
        )


def run(
    pipe: Pipeline, seeds: Sequence[int], progress: ProgressFn | None = None
) -> list[RunResult]:
    """`simulate_batch` for a pipeline `unsupported` has nothing against."""
    p = pipe.params
    n_reps = len(seeds)
    rngs = [Rngs.from_seed(s, p.radars.names) for s in seeds]
    bat_tiled = tile_batteries(p.batteries, n_reps)
    state = BatchState.initial(pipe, n_reps, bat_tiled)
    kern = kernels(pipe)
    log = BatchEventLog.new()
    n_steps = int(np.ceil(p.duration_s / p.step_s - 1e-9))
    report_every = max(1, n_steps // 100)
    for k in range(1, n_steps + 1):
        t = min(k * p.step_s, p.duration_s)
        state = step_batch(pipe, state, t, rngs, bat_tiled, log, kern)
        if progress is not None and (k % report_every == 0 or k == n_steps):
            progress(k / n_steps)
    return _results(pipe, seeds, state, log)


def _results(
    pipe: Pipeline, seeds: Sequence[int], state: BatchState, log: BatchEventLog
) -> list[RunResult]:
    """Each replication's `RunResult`, as `simulate` packs a single run's."""
    from skydome.engine.simulate import _concat, _track_sample, _truth_sample

    p = pipe.params
    n, n_a, n_b = p.threats.n, p.assets.value.shape[0], p.batteries.pos_m.shape[0]
    events = log.split(state.n_reps)
    ln = state.launchers
    inv = (ln.battery_stock(n_b * state.n_reps) + ln.reserve).reshape(state.n_reps, n_b, -1)
    empty_truth = _truth_sample(p.threats, 0.0, np.zeros(0, dtype=np.int64))
    empty_tracks = _track_sample(pipe, TrackState.empty(), 0.0)
    w, ta = state.world, state.tally
    out = []
    for k, seed in enumerate(seeds):
        th = slice(k * n, (k + 1) * n)
        out.append(
            RunResult(
                params=p,
                seed=int(seed),
                events=events[k],
                kill_time_s=w.kill_time_s[th].copy(),
                leak_time_s=w.leak_time_s[th].copy(),
                first_detect_s=ta.first_detect_s[th].copy(),
                first_track_s=ta.first_track_s[th].copy(),
                engaged=ta.engaged[th].copy(),
                inventory_end=inv[k].copy(),
                asset_value_end=w.asset_value[k * n_a : (k + 1) * n_a].copy(),
                truth_samples=_concat([], empty_truth),
                track_samples=_concat([], empty_tracks),
            )
        )
    return out


def step_batch(
    pipe: Pipeline,
    s: BatchState,
    t_s: float,
    rngs: Sequence[Rngs],
    bat_tiled: BatteryParams,
    log: BatchEventLog,
    kern: Kernels | None = None,
) -> BatchState:
    """Advance every replication from `s.t_s` to `t_s` (`skydome.engine.step.step`).

    Args:
        pipe: the scenario and its stages (`unsupported(pipe)` is None).
        s: the batch's state at the previous tick.
        t_s: the new time, s.
        rngs: (R,) each replication's random streams (advanced by the draws made).
        bat_tiled: the batteries tiled R times (`decide_batch.tile_batteries`).
        log: receives the step's events.
        kern: the stages' batched kernels (`kernels(pipe)` if None).

    Returns:
        The batch's state at `t_s`.
    """
    kern = kernels(pipe) if kern is None else kern
    fb, db, rb, gb = kern.flyout, kern.decide, kern.sense, kern.track

    p = pipe.params
    th, doc = p.threats, p.doctrine
    t = t_s
    n_reps, n = s.n_reps, th.n
    n_b = p.batteries.pos_m.shape[0]
    world, picture, missiles, mrep = s.world, s.picture, s.missiles, s.missile_rep
    pending_track, pending_until, pending_kill, pending_rep = (
        s.pending_track, s.pending_until_s, s.pending_kill, s.pending_rep,
    )  # fmt: skip
    launchers, next_scan, next_decision, n_launched = (
        s.launchers, s.next_scan_s, s.next_decision_s, s.n_launched,
    )  # fmt: skip
    held_track, held_logged, held_rep = s.held_track, s.held_logged, s.held_rep
    first_detect, first_track, engaged = (
        s.tally.first_detect_s, s.tally.first_track_s, s.tally.engaged,
    )  # fmt: skip

    # 1. resolve arrivals; each command post learns its outcomes after a delay
    if missiles.n:
        aim = picture
        tr = picture.tracks
        if tr.n and t > tr.time_s and fb.reads_picture_batch(pipe.flyout, missiles, mrep, t):
            # A replication whose flyout would not read the picture never looks
            # at it: predicting every row changes nothing there.
            aim = replace(
                picture, tracks=replace(tr, x=pipe.predict(tr, t, np.arange(tr.n)), time_s=t)
            )
        missiles, mrep, arrivals, arep = fb.advance_batch(
            pipe.flyout, missiles, mrep, s.t_s, t, world, aim.tracks, aim.rep,
            [r.seeker for r in rngs], n_reps,
        )  # fmt: skip
        if arrivals is not None and arep is not None:
            due = arrivals.due
            out = fb.assess_batch(
                pipe.assessment, arrivals, arep, world, [r.engagement for r in rngs], n_reps
            )
            world = replace(world, kill_time_s=out.kill_time_s)
            _log_outcomes(log, due, arep, out)
            pending_track = np.concatenate([pending_track, due.track_id])
            pending_until = np.concatenate(
                [pending_until, due.t_intercept_s + doc.kill_assessment_s]
            )
            pending_kill = np.concatenate([pending_kill, out.code == KILL])
            pending_rep = np.concatenate([pending_rep, arep])
    if pending_track.size:
        known = pending_until <= t
        dead = known & pending_kill
        if dead.any():
            gone = np.isin(
                rep_key(picture.rep, picture.tracks.track_id),
                rep_key(pending_rep[dead], pending_track[dead]),
            )
            picture = picture.select(~gone)
        pending_track, pending_until = pending_track[~known], pending_until[~known]
        pending_kill, pending_rep = pending_kill[~known], pending_rep[~known]

    # 2. leaks
    if t >= th.first_leak_s:
        end_s, damage = np.tile(th.end_s, n_reps), np.tile(th.damage, n_reps)
        leaking = (
            np.isinf(world.leak_time_s)
            & (end_s <= t)
            & (world.kill_time_s > end_s)
            & (damage > 0.0)
        )
        if leaking.any():
            gi = np.flatnonzero(leaking)
            leak_time = world.leak_time_s.copy()
            leak_time[gi] = end_s[gi]
            rep, li = gi // n, gi % n
            pos = np.empty((gi.size, 3))
            for k in np.unique(rep):  # a few leaks, in a few steps
                mine = rep == k
                ev = world.evade_start_s[k * n : (k + 1) * n]
                pos[mine], _ = th.state_at(th.end_s[li[mine]], li[mine], evade_start_s=ev)
            log.add("leak", th.end_s[li], rep=rep, n=li.size, threat_id=li, pos_m=pos)
            n_a = p.assets.value.shape[0]
            survive = np.ones_like(world.asset_value)
            np.multiply.at(survive, rep * n_a + th.target[li], 1.0 - th.damage[li])
            world = replace(world, leak_time_s=leak_time, asset_value=world.asset_value * survive)

    # 3-4. sense and track
    due_radars = np.flatnonzero(next_scan <= t + 1e-9)
    if due_radars.size:
        in_sky = np.tile((th.launch_s <= t) & (t < th.end_s), n_reps) & (world.kill_time_s > t)
        pos, _ = sense_batch.truth_batch(th, t, world.evade_start_s, n_reps)
        jam, jam_rep = sense_batch.jammers_batch(th, pos, in_sky, n_reps)
        first_detect = first_detect.copy()
        first_track = first_track.copy()
        next_scan = next_scan.copy()
        period = pipe.sensor.scan_period_s
        for r in due_radars:
            det, drep = rb.detect_batch(
                pipe.sensor, int(r), t, pos, in_sky, jam, jam_rep, [g.radar[r] for g in rngs],
                n_reps,
            )  # fmt: skip
            real = det.truth >= 0  # -1: false alarms
            g = drep[real] * n + det.truth[real]
            fresh_rows = np.isinf(first_detect[g])
            fresh = g[fresh_rows]
            if fresh.size:
                first_detect[fresh] = t
                log.add(
                    "detect", t, rep=fresh // n, n=fresh.size, threat_id=fresh % n,
                    radar=int(r), pos_m=pos[fresh],
                )  # fmt: skip
            picture, rep_ = gb.step_batch(
                pipe.tracker, picture, det, drep, pipe.sensor.coverage(int(r))
            )
            log.add(
                "track", t, rep=rep_.confirmed_rep, n=rep_.confirmed_ids.size,
                threat_id=rep_.confirmed_truth, track_id=rep_.confirmed_ids,
            )  # fmt: skip
            log.add(
                "track_lost", t, rep=rep_.deleted_rep, n=rep_.deleted_ids.size,
                threat_id=rep_.deleted_truth, track_id=rep_.deleted_ids,
            )  # fmt: skip
            ok = rep_.confirmed_truth >= 0
            seen = rep_.confirmed_rep[ok] * n + rep_.confirmed_truth[ok]
            first_track[seen] = np.minimum(first_track[seen], t)
            next_scan[r] += period[r]

    # 5. evaluate, plan, launch
    if t + 1e-9 >= next_decision:
        next_decision += doc.decision_period_s
        launchers, reloading = start_reloads(launchers, bat_tiled, t)
        if reloading.size:
            gbat = launchers.battery[reloading]
            log.add("reload", t, rep=gbat // n_b, n=reloading.size, battery=gbat % n_b)
        waiting = pending_until > t
        tracks = picture.tracks
        new, nrep, launchers, score, rank, reason = db.decide_batch(
            pipe, t, tracks, picture.rep, missiles.flight, mrep, pending_track[waiting],
            pending_rep[waiting], launchers, bat_tiled, n_launched, n_reps,
        )  # fmt: skip
        held, held_track, held_logged, held_rep = log_held_batch(
            pipe, t, tracks, picture.rep, reason, held_track, held_logged, held_rep
        )
        log.add(
            "held", t, rep=held.rep, n=held.rep.size, threat_id=held.threat_id,
            track_id=held.track_id, note=held.note, pos_m=held.pos_m,
        )  # fmt: skip
        if new.n:
            n_launched = n_launched + np.bincount(nrep, minlength=n_reps)
            missiles, mrep = fb.launch_batch(
                pipe.flyout, missiles, mrep, new, nrep, tracks, picture.rep
            )
            engaged = engaged.copy()
            hit = new.threat >= 0
            g = nrep[hit] * n + new.threat[hit]
            engaged[g] = True
            tgo = th.evade_tgo_s[new.threat[hit]]
            brk = np.where(
                np.isfinite(tgo),
                np.maximum(new.t_launch_s[hit], new.t_intercept_s[hit] - tgo),
                new.t_launch_s[hit],
            )
            evade_start = world.evade_start_s.copy()
            np.minimum.at(evade_start, g, brk)
            world = replace(world, evade_start_s=evade_start)
            log.add(
                "launch", new.t_launch_s, rep=nrep, n=new.n, threat_id=new.threat,
                track_id=new.track_id, missile_id=new.missile_id, battery=new.battery,
                missile_type=new.mtype, pos_m=new.pip_m, score=score, rank=rank,
            )  # fmt: skip

    return BatchState(
        t, n_reps, world, picture, launchers, pending_track, pending_until, pending_kill,
        pending_rep, next_scan, next_decision, n_launched, held_track, held_logged, held_rep,
        missiles, mrep, Tally(first_detect, first_track, engaged),
    )  # fmt: skip


def _log_outcomes(log: BatchEventLog, due: InFlight, rep: I64, out: Outcome) -> None:
    """`step._log_outcomes` with each row's replication."""
    kill = out.code == KILL
    switched = np.zeros(due.n, dtype=bool) if out.switched is None else out.switched
    for kind, sel in (("kill", kill), ("miss", ~kill)):
        log.add(
            kind,
            due.t_intercept_s[sel],
            rep=rep[sel],
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
