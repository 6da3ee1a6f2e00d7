"""Kill assessment: did each arriving missile kill a threat?

At its intercept time a missile's terminal seeker acquires the threat nearest
its aim point among those still in the sky. It kills when that threat is within
the type's homing basket and a uniform draw falls below the type's single-shot
Pk. The seeker does not know which threat the command post meant: after a track
swap it may kill a different threat, and `threat_id` of the kill or miss event
names the threat actually acquired (the nearest one, for a basket miss). When
several missiles reach one threat, the earliest success kills it and later
arrivals find no target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engagement.flyout import InFlight
from skydome.engagement.guided import CPA, Ended
from skydome.engagement.guided import SPENT as SPENT_FLIGHT
from skydome.engagement.params import MissileParams
from skydome.threats import Threats

__all__ = [
    "KILL",
    "MISS_BASKET",
    "MISS_PK",
    "NO_TARGET",
    "SPENT",
    "Outcome",
    "assess",
    "assess_guided",
]


KILL, MISS_PK, MISS_BASKET, NO_TARGET, SPENT = 0, 1, 2, 3, 4
"""Outcome codes (SPENT: a guided missile fell, timed out or ran out of speed)."""


@dataclass(frozen=True)
class Outcome:
    """Per-missile result (K missiles) and the threats' updated kill times.

    Attributes:
        code: (K,) KILL, MISS_PK, MISS_BASKET or NO_TARGET.
        threat: (K,) threat acquired (nearest to the aim point; -1: none in the sky).
        miss_m: (K,) distance from the aim point to that threat (nan: none).
        threat_pos_m: (K, 3) the threat's true position at intercept time.
        kill_time_s: (N,) per threat, time of death (inf while alive).
    """

    code: I64
    threat: I64
    miss_m: F64
    threat_pos_m: F64
    kill_time_s: F64


def assess(
    due: InFlight,
    threats: Threats,
    kill_time_s: F64,
    missiles: MissileParams,
    rng: np.random.Generator,
    *,
    evade_start_s: F64 | None = None,
) -> Outcome:
    """Resolve every missile in `due` at its own intercept time.

    Args:
        due: missiles arriving now.
        threats: threat truth.
        kill_time_s: (N,) current time of death of each threat (inf: alive).
        missiles: the missile library.
        rng: the engagement's random stream.
        evade_start_s: (N,) start of each threat's evasive break (engine state;
            inf: never); None: no threat evades.

    Returns:
        The outcomes; `kill_time_s` includes the kills made here.
    """
    k = due.n
    u = rng.random(k)
    t = due.t_intercept_s
    n = threats.n
    # Every threat's position at every arriving missile's own time: (K, N).
    tid_all = np.tile(np.arange(n), k)
    pos_all, _ = threats.state_at(np.repeat(t, n), tid_all, evade_start_s=evade_start_s)
    pos_all = pos_all.reshape(k, n, 3)
    in_sky = (
        (t[:, None] >= threats.launch_s[None, :])
        & (t[:, None] < threats.end_s[None, :])
        & (t[:, None] < kill_time_s[None, :])
    )
    dist = np.linalg.norm(pos_all - due.pip_m[:, None, :], axis=2)
    dist = np.where(in_sky, dist, np.inf)
    tid = np.argmin(dist, axis=1)  # a scenario always has at least one threat
    rows = np.arange(k)
    has = np.isfinite(dist[rows, tid])
    miss = np.where(has, dist[rows, tid], np.nan)
    pos = pos_all[rows, tid]
    in_basket = has & (miss <= missiles.basket_m[due.mtype])
    success = in_basket & (u < missiles.pk[due.mtype])
    killer, new_kill = _first_successes(success, tid, t, kill_time_s)
    late = has & ~killer & (t >= new_kill[tid])
    code = np.where(
        ~has | late,
        NO_TARGET,
        np.where(killer, KILL, np.where(in_basket, MISS_PK, MISS_BASKET)),
    ).astype(np.int64)
    return Outcome(
        code=code,
        threat=np.where(has, tid, -1).astype(np.int64),
        miss_m=miss,
        threat_pos_m=pos,
        kill_time_s=new_kill,
    )


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
) -> Outcome:
    """Resolve guided flights that ended (lethal-radius model).

    A flight that ended at closest approach to a live threat within its type's
    lethal radius kills with probability `pk`; a larger miss is a distance miss
    (code MISS_BASKET); a spent missile is SPENT; a missile whose target was
    never acquired, or died or leaked first, found NO_TARGET.

    Args:
        due: the ended missiles' bookkeeping, `t_intercept_s` = end of flight.
        ended: how each flight ended (rows aligned with `due`).
        threats: threat truth.
        kill_time_s: (N,) current time of death of each threat (inf: alive).
        missiles: the missile library (needs `physics`).
        rng: the engagement's random stream.
        evade_start_s: (N,) start of each threat's evasive break (engine state;
            inf: never); None: no threat evades.

    Returns:
        The outcomes; `kill_time_s` includes the kills made here.
    """
    assert missiles.physics is not None
    k = due.n
    u = rng.random(k)
    t = due.t_intercept_s
    tid = np.maximum(ended.target, 0)
    has = ended.target >= 0
    alive = has & (t < threats.end_s[tid]) & (t < kill_time_s[tid])
    cpa = alive & (ended.how == CPA)
    within = cpa & (ended.miss_m <= missiles.physics.lethal_m[due.mtype])
    success = within & (u < missiles.pk[due.mtype])
    killer, new_kill = _first_successes(success, tid, t, kill_time_s)
    late = has & ~killer & (t >= new_kill[tid])
    pos, _ = threats.state_at(t, tid, evade_start_s=evade_start_s)
    code = np.select(
        [killer, ended.how == SPENT_FLIGHT, late | ~alive, within, cpa],
        [KILL, SPENT, NO_TARGET, MISS_PK, MISS_BASKET],
        NO_TARGET,
    ).astype(np.int64)
    return Outcome(
        code=code,
        threat=np.where(has, ended.target, -1).astype(np.int64),
        miss_m=np.where(cpa, ended.miss_m, np.nan),
        threat_pos_m=np.where(has[:, None], pos, ended.pos_m),
        kill_time_s=new_kill,
    )
