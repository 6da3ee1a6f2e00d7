"""Kill assessment: did each arriving missile kill its threat?

A missile kills when its threat is still in the sky at the intercept time, the
PIP error (distance from the PIP to the threat's true position then) is within
the type's homing basket, and a uniform draw falls below the type's
single-shot Pk. When several missiles reach one threat, the earliest success
kills it and later arrivals find no target.
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
        miss_m: (K,) distance from the PIP to the threat at intercept time (nan: no threat).
        threat_pos_m: (K, 3) the threat's true position at intercept time.
        kill_time_s: (N,) per threat, time of death (inf while alive).
    """

    code: I64
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
    has = due.threat >= 0
    tid = np.where(has, due.threat, 0)
    pos, _ = threats.state_at(due.t_intercept_s, tid)
    miss = np.where(has, np.linalg.norm(pos - due.pip_m, axis=1), np.nan)
    t = due.t_intercept_s
    in_sky = has & (t >= threats.launch_s[tid]) & (t < threats.end_s[tid]) & (t < kill_time_s[tid])
    in_basket = in_sky & (miss <= missiles.basket_m[due.mtype])
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
        ~in_sky | late,
        NO_TARGET,
        np.where(killer, KILL, np.where(in_basket, MISS_PK, MISS_BASKET)),
    ).astype(np.int64)
    return Outcome(code=code, miss_m=miss, threat_pos_m=pos, kill_time_s=new_kill)
