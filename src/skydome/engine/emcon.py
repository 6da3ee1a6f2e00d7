"""The engine's hooks for emission control and anti-radiation missiles (ARMs).

`step` calls these only when the scenario has emission control or ARMs
(`SimState.emission` is not None), so every other scenario runs exactly as
before. Order within a step (see `skydome.engine.step`):

1. after the leaks: `arrivals` -- ARMs that reached their radar end (a `leak`
   event naming the radar), their hits are drawn (`radar_destroyed`), and the
   emission switches of the step are logged (`radar_off`, `radar_on`);
2. in the sense phase: `quiet` radars (silent or destroyed) make no scan: the
   tracker gets an empty look with no coverage (`no_look`), so their tracks coast
   and are deleted by its own rules (`max_coast_s`);
3. after the sense phase: `after_sense` -- the ARMs' seekers look for their
   (emitting) radars, and blink radars go silent when the picture shows an ARM.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from skydome.arrays import F64, I64
from skydome.engine.pipeline import Pipeline
from skydome.engine.state import WorldState
from skydome.events import EVENT_KINDS, EventLog
from skydome.scenario.compile import SimParams
from skydome.sensors.antiradiation import acquire, resolve_hits
from skydome.sensors.base import Detections
from skydome.sensors.emission import (
    BLINK,
    MODES,
    EmissionParams,
    EmissionState,
    blink_trigger,
    emitting,
    last_emission_s,
    switches,
)
from skydome.tracking.base import TrackState

__all__ = [
    "after_sense",
    "arrivals",
    "no_coverage",
    "no_look",
    "quiet",
    "radar_summary",
    "silences",
]


def _emission(p: SimParams) -> EmissionParams:
    return p.emission if p.emission is not None else EmissionParams.always(p.radars.n)


def arrivals(
    p: SimParams,
    world: WorldState,
    em: EmissionState,
    t0_s: float,
    t1_s: float,
    log: EventLog,
    rng: np.random.Generator,
) -> tuple[WorldState, EmissionState]:
    """ARMs reaching their radars in (t0, t1], their hits, and the step's emission switches.

    An ARM not killed before its route's end ends there once, as a leak naming
    its radar (the asset value is untouched: it attacks a radar). Its miss is
    drawn from the radar's emission history (`skydome.sensors.antiradiation`);
    a hit destroys the radar at the arrival time (the first hit if several ARMs
    hit it in one step).

    Args:
        p: the compiled scenario.
        world: truth after the step's leaks.
        em: radar state.
        t0_s: the step's start (the previous tick), s.
        t1_s: the step's end (now), s.
        log: the step's events (appended to).
        rng: the ARMs' random stream.
    """
    th, arms, ep = p.threats, p.arms, _emission(p)
    if arms is not None and arms.n:
        i = arms.threat
        end = th.end_s[i]
        due = np.isinf(world.leak_time_s[i]) & (end <= t1_s) & (world.kill_time_s[i] > end)
        if due.any():
            rows = np.flatnonzero(due)
            rows = rows[np.argsort(end[rows], kind="stable")]
            ti, t_arr, radar = i[rows], end[rows], arms.radar[rows]
            last = last_emission_s(ep, em, t_arr, radar)
            hits = resolve_hits(arms, rows, t_arr, last, em.arm_acquired[rows], rng)
            leak_time = world.leak_time_s.copy()
            leak_time[ti] = t_arr
            world = replace(world, leak_time_s=leak_time)
            pos, _ = th.state_at(t_arr, ti, evade_start_s=world.evade_start_s)
            log.add(
                "leak", t_arr, n=rows.size, threat_id=ti, radar=radar,
                miss_distance_m=hits.miss_m, pos_m=pos,
            )  # fmt: skip
            # The first hit on each radar still alive destroys it.
            hit_t = np.where(hits.destroyed, t_arr, np.inf)
            first = np.full(p.radars.n, np.inf)
            np.minimum.at(first, radar, hit_t)
            killed = np.flatnonzero(np.isfinite(first) & (first < em.destroyed_s))
            if killed.size:
                # The ARM that killed each (one per radar: R is small).
                k = np.array(
                    [np.flatnonzero((radar == r) & (hit_t == first[r]))[0] for r in killed]
                )
                destroyed = em.destroyed_s.copy()
                destroyed[killed] = first[killed]
                em = replace(em, destroyed_s=destroyed)
                log.add(
                    "radar_destroyed", t_arr[k], n=k.size, threat_id=ti[k], radar=killed,
                    miss_distance_m=hits.miss_m[k], pos_m=p.radars.pos_m[killed],
                )  # fmt: skip
    sw = switches(ep, em, t0_s, t1_s)
    for kind, sel in (("radar_on", sw.on), ("radar_off", ~sw.on)):
        if sel.any():
            log.add(kind, sw.time_s[sel], n=int(sel.sum()), radar=sw.radar[sel])
    return world, em


def quiet(p: SimParams, em: EmissionState, t_s: float) -> np.ndarray:
    """(R,) radars that do not emit at t_s (silent under emission control, or destroyed)."""
    return ~emitting(_emission(p), em, t_s)


def no_look(t_s: float, radar: int) -> Detections:
    """The empty scan of a silent radar: no detection."""
    return Detections(
        time_s=t_s,
        radar=radar,
        pos_m=np.zeros((0, 3)),
        cov_m2=np.zeros((0, 3, 3)),
        polar=np.zeros((0, 3)),
        truth=np.zeros(0, dtype=np.int64),
    )


def no_coverage(pos_m: F64) -> np.ndarray:
    """A silent radar covers nothing: no track expects a detection (no miss is counted)."""
    return np.zeros(pos_m.shape[0], dtype=bool)


def after_sense(
    pipe: Pipeline,
    world: WorldState,
    em: EmissionState,
    picture: TrackState,
    t_s: float,
    log: EventLog,
) -> EmissionState:
    """ARM seekers look for their radars at t_s; blink radars react to ARM tracks.

    Args:
        pipe: the scenario and its stages (the identification stage says which
            confirmed tracks are ARMs).
        world: truth (which ARMs are still flying).
        em: radar state.
        picture: the air picture after the step's scans.
        t_s: now, s.
        log: the step's events (`radar_off` of the radars silenced now).
    """
    p = pipe.params
    th, arms, ep = p.threats, p.arms, _emission(p)
    if arms is not None and arms.n:
        i = arms.threat
        airborne = (th.launch_s[i] <= t_s) & (t_s < th.end_s[i]) & (world.kill_time_s[i] > t_s)
        if airborne.any():
            pos, _ = th.state_at(t_s, i, evade_start_s=world.evade_start_s)
            on = emitting(ep, em, t_s)
            acq = acquire(arms, em.arm_acquired, pos, airborne, p.radars.pos_m, on)
            em = replace(em, arm_acquired=acq)
    if arms is not None and (ep.mode == BLINK).any() and picture.n:
        rows = np.flatnonzero(picture.confirmed)
        if rows.size:
            ident = pipe.identification.identify(picture, rows)
            is_arm = np.zeros(th.n + 1, dtype=bool)
            is_arm[arms.threat] = True
            seen = is_arm[np.where(ident >= 0, ident, th.n)]
            em, go = blink_trigger(ep, em, t_s, picture.last_update_s[rows[seen]])
            if go.size:
                log.add("radar_off", t_s, n=go.size, radar=go)
    return em


def silences(off_s: F64, on_s: F64, end_s: float) -> F64:
    """(S, 2) a radar's silences, from its `radar_off` and `radar_on` event times.

    Each silence runs from a `radar_off` to the first `radar_on` after it (events
    are in time order), or to `end_s` (the radar's destruction, the run's end) if
    earlier.
    """
    stop = np.r_[on_s, end_s][np.searchsorted(on_s, off_s, side="left")]
    out: F64 = np.column_stack([off_s, np.minimum(stop, end_s)])
    return out


def radar_summary(p: SimParams, kind: I64, time_s: F64, radar: I64) -> dict[str, Any]:
    """The run summary's `radars` section, from the event columns.

    `destroyed` counts the radars destroyed; per radar: its emission `mode`,
    `destroyed_s` (null: survived), `off_s` (time silent under emission control:
    from each `radar_off` to the next `radar_on`, the radar's destruction or the
    run's end), `switched_off` (number of silences) and `arms` (ARMs aimed at it).

    Args:
        p: the compiled scenario.
        kind: (E,) event kinds (`EVENT_KINDS` indices).
        time_s: (E,) event times, s.
        radar: (E,) event radars.
    """
    ep = _emission(p)
    dead_ev = kind == EVENT_KINDS.index("radar_destroyed")
    dead = np.full(p.radars.n, np.inf)
    np.minimum.at(dead, radar[dead_ev], time_s[dead_ev])
    arms = np.zeros(p.radars.n, dtype=np.int64)
    if p.arms is not None:
        arms = np.bincount(p.arms.radar, minlength=p.radars.n)
    off_k, on_k = EVENT_KINDS.index("radar_off"), EVENT_KINDS.index("radar_on")
    rows = []
    for r, name in enumerate(p.radars.names):  # R is small; a summary, not a hot path
        mine = (radar == r) & ((kind == off_k) | (kind == on_k))
        t, k = time_s[mine], kind[mine]
        end = min(float(dead[r]), p.duration_s)
        offs = t[k == off_k]
        span = silences(offs, t[k == on_k], end)
        off_s = float(np.sum(span[:, 1] - np.minimum(offs, end)))
        rows.append(
            {
                "name": name,
                "mode": MODES[int(ep.mode[r])],
                "destroyed_s": round(float(dead[r]), 6) if np.isfinite(dead[r]) else None,
                "off_s": round(off_s, 6),
                "switched_off": int(offs.size),
                "arms": int(arms[r]),
            }
        )
    destroyed = [x["name"] for x in rows if x["destroyed_s"] is not None]
    return {"destroyed": len(destroyed), "destroyed_names": destroyed, "by_radar": rows}
