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

from skydome.engagement.flyout import InFlight
from skydome.scenario.params import MissileParams
from skydome.threats import Threats

__all__ = ["KILL", "MISS_BASKET", "MISS_PK", "NO_TARGET", "Outcome", "assess"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

KILL, MISS_PK, MISS_BASKET, NO_TARGET = 0, 1, 2, 3
"""Outcome codes."""


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
) -> Outcome:
    """Resolve every missile in `due` at its own intercept time.

    Args:
        due: missiles arriving now.
        threats: threat truth.
        kill_time_s: (N,) current time of death of each threat (inf: alive).
        missiles: the missile library.
        rng: the engagement's random stream.

    Returns:
        The outcomes; `kill_time_s` includes the kills made here.
    """
    k = due.n
    u = rng.random(k)
    t = due.t_intercept_s
    n = threats.n
    # Every threat's position at every arriving missile's own time: (K, N).
    tid_all = np.tile(np.arange(n), k)
    pos_all, _ = threats.state_at(np.repeat(t, n), tid_all)
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
    # The earliest success on each threat kills it (ties: the first listed);
    # every other missile arriving at or after that instant finds no target.
    cand = np.flatnonzero(success)
    order = cand[np.lexsort((cand, t[cand], tid[cand]))]
    _, first = np.unique(tid[order], return_index=True)
    killer = np.zeros(k, dtype=bool)
    killer[order[first]] = True
    new_kill = kill_time_s.copy()
    new_kill[tid[killer]] = t[killer]
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
