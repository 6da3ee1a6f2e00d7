"""Kill assessment: did each arriving missile kill a threat, and why (not)?

Every outcome has a cause a reader can follow (docs/models.md, "The kill
chain"). A missile is *guided on* the threat its fire-control track follows
when it arrives (`guided_on`; the track's truth label, bookkeeping only). At its
intercept time:

1. A missile whose track was dropped before its seeker acquired self-destructs
   at its last aim point (TRACK_LOST): no kill.
2. Kinematic flyout: a midcourse aim point outside the type's envelope (ground
   range beyond `max_range_m`, altitude above `max_alt_m`, from its battery)
   cannot be reached (OUT_OF_REACH). Guided flyout: the physics decides, and a
   closest approach outside that envelope is outside the engagement zone
   (OUT_OF_REACH). So no kill lies beyond the type's reach plus its homing
   basket.
3. The terminal seeker acquires the threat it is guided on if that threat is
   inside the homing basket of the aim point; otherwise, if the guided-on
   threat is still alive, the live threat nearest the aim point inside the
   basket (a seeker switch); otherwise nothing (a basket miss, MISS_BASKET).
   A kill of a threat other than the one the missile was launched at (a seeker
   switch, or a track that swapped threats in midcourse) is noted "target
   switch" on its event.
4. Kinematic flyout: the terminal homing leaves an end-game miss r drawn from
   a Rayleigh distribution of the type's `homing_sigma_m` (a circular normal
   miss in the plane normal to the closing velocity), and the warhead kills
   with the Carleton damage function P(kill | r) = exp(-r^2 / (2 L^2)), its
   lethal scale L set by L^2 = sigma^2 Pk / (1 - Pk) so that the kill
   probability over the miss distribution, L^2 / (L^2 + sigma^2), is the
   single-shot Pk of the missile type against the threat's type
   (`MissileParams.pk_of`; Driels, *Weaponeering*, 2nd ed., ch. on the
   Carleton damage function). Kills have smaller misses than Pk misses, and
   the event's `miss_distance_m` is that end-game miss, not the aim error.
   (Guided flyout: the physics gives the miss; a miss within the lethal
   radius kills with probability Pk.) When several missiles reach one threat, the earliest success
   kills it; the others (salvo partners, or a later missile whose target died
   before it arrived) are TARGET DESTROYED. A guided-on threat that leaked or
   is not in the sky is NO_TARGET.

Outcome codes are indices into `skydome.events.NOTES` (0: a kill).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engagement.flyout import InFlight
from skydome.engagement.guided import CPA, LOST, Ended
from skydome.engagement.guided import SPENT as SPENT_FLIGHT
from skydome.engagement.params import MissileParams
from skydome.threats import Threats

__all__ = [
    "DESTROYED",
    "KILL",
    "MISS_BASKET",
    "MISS_PK",
    "NO_TARGET",
    "OUTCOME_CODES",
    "OUT_OF_REACH",
    "SPENT",
    "TRACK_LOST",
    "Outcome",
    "assess",
    "assess_guided",
    "carleton_kill_probability",
]

B = NDArray[np.bool_]

KILL, MISS_PK, MISS_BASKET, NO_TARGET, SPENT, DESTROYED, TRACK_LOST, OUT_OF_REACH = range(8)
"""Outcome codes, equal to the miss event's index into `skydome.events.NOTES`."""
OUTCOME_CODES = (KILL, MISS_PK, MISS_BASKET, NO_TARGET, SPENT, DESTROYED, TRACK_LOST, OUT_OF_REACH)

_REACH_TOL_M = 1.0
"""Envelope tolerance of the aim point (rounding of the planner's grid)."""


@dataclass(frozen=True)
class Outcome:
    """Per-missile result (K missiles) and the threats' updated kill times.

    Attributes:
        code: (K,) one of `OUTCOME_CODES`.
        threat: (K,) threat acquired, or the threat guided on where none was
            acquired (-1: none).
        miss_m: (K,) kinematic: the end-game miss drawn from the homing model
            for a kill or Pk miss, the aim point's distance to the threat for
            a basket miss; guided: the closest approach (nan: none).
        threat_pos_m: (K, 3) the threat's true position at intercept time.
        kill_time_s: (N,) per threat, time of death (inf while alive).
        switched: (K,) the threat acquired is not the one the missile was
            launched at (`InFlight.threat`): a seeker switch or a track swap (a
            kill of it is noted "target switch").
    """

    code: I64
    threat: I64
    miss_m: F64
    threat_pos_m: F64
    kill_time_s: F64
    switched: B | None = None


def assess(
    due: InFlight,
    threats: Threats,
    kill_time_s: F64,
    missiles: MissileParams,
    rng: np.random.Generator,
    *,
    evade_start_s: F64 | None = None,
    held: B | None = None,
    guided_on: I64 | None = None,
    launch_pos_m: F64 | None = None,
) -> Outcome:
    """Resolve every missile in `due` at its own intercept time (kinematic flyout).

    Args:
        due: missiles arriving now (`pip_m`: the last midcourse aim point).
        threats: threat truth.
        kill_time_s: (N,) current time of death of each threat (inf: alive).
        missiles: the missile library.
        rng: the engagement's random stream (one draw per missile).
        evade_start_s: (N,) start of each threat's evasive break (engine state;
            inf: never); None: no threat evades.
        held: (K,) the fire-control track is still held; None: all are.
        guided_on: (K,) threat the track follows now (-1: a false track);
            None: `due.threat`, the one it followed at launch.
        launch_pos_m: (K, 3) each missile's launch point, for the envelope
            check; None: no check.

    Returns:
        The outcomes; `kill_time_s` includes the kills made here.
    """
    k = due.n
    u = rng.random(k)
    # The end-game miss of terminal homing (Rayleigh): drawn for every missile,
    # so the stream does not depend on which missiles acquire.
    r_end = missiles.homing_sigma_m[due.mtype] * np.sqrt(-2.0 * np.log1p(-rng.random(k)))
    t = due.t_intercept_s
    n = threats.n
    rows = np.arange(k)
    held = np.ones(k, dtype=bool) if held is None else held
    aim = due.threat if guided_on is None else guided_on
    # Every threat's position at every arriving missile's own time: (K, N).
    tid_all = np.tile(np.arange(n), k)
    pos_all, _ = threats.state_at(np.repeat(t, n), tid_all, evade_start_s=evade_start_s)
    pos_all = pos_all.reshape(k, n, 3)
    in_sky = (
        (t[:, None] >= threats.launch_s[None, :])
        & (t[:, None] < threats.end_s[None, :])
        & (t[:, None] < kill_time_s[None, :])
    )
    dist = np.where(in_sky, np.linalg.norm(pos_all - due.pip_m[:, None, :], axis=2), np.inf)
    basket = missiles.basket_m[due.mtype]
    has_aim = aim >= 0
    a = np.maximum(aim, 0)
    aim_dead = has_aim & (kill_time_s[a] <= t)
    aim_d = np.where(has_aim, dist[rows, a], np.inf)
    on_aim = aim_d <= basket
    near = np.argmin(dist, axis=1)  # a scenario always has at least one threat
    near_d = dist[rows, near]
    switch = ~on_aim & ~aim_dead & (near_d <= basket)
    tid = np.where(on_aim | switch, np.where(on_aim, a, near), np.where(has_aim, a, near))
    seen = np.isfinite(dist[rows, tid])
    reach = _in_envelope(due.pip_m, launch_pos_m, due.mtype, missiles)
    acquired = held & reach & (on_aim | switch)
    pk = missiles.pk_of(due.mtype, threats.type_index[tid])  # against what was acquired
    sigma = missiles.homing_sigma_m[due.mtype]
    success = acquired & (u < carleton_kill_probability(r_end, sigma, pk))
    killer, new_kill = _first_successes(success, tid, t, kill_time_s)
    destroyed = ~killer & ((has_aim & (new_kill[a] <= t)) | (acquired & (new_kill[tid] <= t)))
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


def _in_envelope(
    pos_m: F64, launch_pos_m: F64 | None, mtype: I64, missiles: MissileParams
) -> NDArray[np.bool_]:
    """(K,) points within their type's declared range and ceiling of their launch points.

    Ground range <= `max_range_m` and altitude <= `max_alt_m` (plus `_REACH_TOL_M`);
    all True without launch points.
    """
    if launch_pos_m is None:
        return np.ones(pos_m.shape[0], dtype=bool)
    ground = np.hypot(*(pos_m[:, :2] - launch_pos_m[:, :2]).T)
    out: NDArray[np.bool_] = (ground <= missiles.max_range_m[mtype] + _REACH_TOL_M) & (
        pos_m[:, 2] <= missiles.max_alt_m[mtype] + _REACH_TOL_M
    )
    return out


def carleton_kill_probability(miss_m: F64, sigma_m: F64, pk: F64) -> F64:
    """P(kill | miss r) = exp(-r^2 / (2 L^2)) with L^2 = sigma^2 pk / (1 - pk).

    The Carleton damage function whose lethal scale L makes the kill
    probability over a Rayleigh(sigma) miss equal `pk`:
    E[exp(-r^2 / (2 L^2))] = L^2 / (L^2 + sigma^2) = pk. pk 1: always; pk 0: never.

    Args:
        miss_m: (K,) end-game miss distances, m.
        sigma_m: (K,) the Rayleigh scale of the miss, m (> 0).
        pk: (K,) single-shot kill probabilities in [0, 1].
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = miss_m * miss_m * (1.0 - pk) / (2.0 * sigma_m * sigma_m * pk)
        out: F64 = np.where(pk >= 1.0, 1.0, np.where(pk <= 0.0, 0.0, np.exp(-z)))
    return out


def _first_successes(
    success: NDArray[np.bool_], tid: I64, t: F64, kill_time_s: F64
) -> tuple[NDArray[np.bool_], F64]:
    """The earliest success on each threat kills it (ties: the first listed).

    Returns:
        (killer, kill_time_s): which missiles killed, and the threats' updated
        times of death; every other missile at or after that instant finds no target.
    """
    cand = np.flatnonzero(success)
    order = cand[np.lexsort((cand, t[cand], tid[cand]))]
    _, first = np.unique(tid[order], return_index=True)
    killer = np.zeros(success.shape[0], dtype=bool)
    killer[order[first]] = True
    new_kill = kill_time_s.copy()
    new_kill[tid[killer]] = t[killer]
    return killer, new_kill


def assess_guided(
    due: InFlight,
    ended: Ended,
    threats: Threats,
    kill_time_s: F64,
    missiles: MissileParams,
    rng: np.random.Generator,
    *,
    evade_start_s: F64 | None = None,
    held: B | None = None,
    guided_on: I64 | None = None,
    launch_pos_m: F64 | None = None,
) -> Outcome:
    """Resolve guided flights that ended (lethal-radius model).

    A flight that ended at closest approach to a live threat within its type's
    lethal radius kills with probability `pk`; a larger miss is a distance miss
    (code MISS_BASKET); a spent missile is SPENT. A missile whose target was
    killed first is DESTROYED; one that passed its aim point unacquired after
    its track was dropped is TRACK_LOST; other flights with nothing to home on
    found NO_TARGET. The seeker's target (`ended.target`) may differ from the
    threat the missile was launched at: a target switch, noted.

    Args:
        due: the ended missiles' bookkeeping, `t_intercept_s` = end of flight.
        ended: how each flight ended (rows aligned with `due`).
        threats: threat truth.
        kill_time_s: (N,) current time of death of each threat (inf: alive).
        missiles: the missile library (needs `physics`).
        rng: the engagement's random stream.
        evade_start_s: (N,) start of each threat's evasive break (engine state;
            inf: never); None: no threat evades.
        held: (K,) the fire-control track is still held; None: all are.
        guided_on: (K,) threat the track follows now (-1: a false track);
            None: `due.threat`.
        launch_pos_m: (K, 3) each missile's launch point: a closest approach
            beyond the type's declared range or ceiling from it is outside the
            engagement zone, where fire control does not guide (OUT_OF_REACH:
            the physics may carry a little farther than the declared figure);
            None: no check.

    Returns:
        The outcomes; `kill_time_s` includes the kills made here.
    """
    assert missiles.physics is not None
    k = due.n
    u = rng.random(k)
    t = due.t_intercept_s
    held = np.ones(k, dtype=bool) if held is None else held
    aim = due.threat if guided_on is None else guided_on
    tid = np.maximum(ended.target, 0)
    has = ended.target >= 0
    alive = has & (t < threats.end_s[tid]) & (t < kill_time_s[tid])
    cpa = alive & (ended.how == CPA)
    reach = _in_envelope(ended.pos_m, launch_pos_m, due.mtype, missiles)
    within = cpa & reach & (ended.miss_m <= missiles.physics.lethal_m[due.mtype])
    success = within & (u < missiles.pk_of(due.mtype, threats.type_index[tid]))
    killer, new_kill = _first_successes(success, tid, t, kill_time_s)
    a = np.maximum(aim, 0)
    destroyed = ~killer & ((has & (new_kill[tid] <= t)) | (~has & (aim >= 0) & (new_kill[a] <= t)))
    lost = ~has & ~held & (ended.how == LOST)
    pos, _ = threats.state_at(t, tid, evade_start_s=evade_start_s)
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
