"""Look-ahead battle management: fire a round now, or keep it for a later threat.

A myopic planner spends its rounds on whatever it can engage this cycle. The
look-ahead planner solves each decision as a two-stage problem -- engage now,
or keep the round for what comes later -- folded into one static
weapon-target assignment (`skydome.engagement.wta`) over an extended target set:

* **tracks of the picture** (N): option o = (battery b, type m) has its Pk
  p_nm where it can intercept track n now; where it cannot now but can later
  (after a look at an earlier shot, or deeper in the threat's approach) it has
  rho p_nm, rho the doctrine's `lookahead_discount` (the chance the later
  engagement happens); else 0;
* **expected threats** not yet tracked (F, from the doctrine's raid
  intelligence): p = rho p_km for every option whose type may engage type k.

Weapons are the options with all their rounds (on the launchers and in the
reloads), each round costing its type's cost times `missile_cost_weight`.
The solution's rounds on a track from options that can fire now are fired now;
rounds placed later (on a track, or on an expected threat) stay in the
magazines and are the reserve this decision keeps. Because the value of every
threat enters the same objective, a cheap round kept for a slow drone that a
cheaper short-range type can take later, or a long-range round kept for a
ballistic missile that only it can reach, is the optimum of one problem, not a
rule.

This is the classic two-stage approximation of the dynamic WTA (Hosein &
Athans, "Some analytical results for the dynamic weapon-target allocation
problem", MIT LIDS-P-1944, 1990; Murphey, "An approximate algorithm for a
weapon target assignment stochastic program", 2000): the second stage is
assumed to happen with probability rho and to see the same Pk, and the
first-stage decision is re-solved every cycle with the picture of that
moment (a rolling horizon), so a round kept now is re-examined at the next
decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engagement.wta_problem import WtaProblem

__all__ = ["LookaheadProblem", "fire_now", "lookahead_problem"]

B = NDArray[np.bool_]


@dataclass(frozen=True)
class LookaheadProblem:
    """The extended assignment of one decision (O options, N tracks, F expected threats).

    Attributes:
        problem: the static WTA instance, targets = N tracks then F expected threats.
        now: (O, N) option o can fire at track n now.
    """

    problem: WtaProblem
    now: B

    @property
    def n_tracks(self) -> int:
        """N: the first N targets are tracks of the picture."""
        return int(self.now.shape[1])


def lookahead_problem(
    value: F64,
    pk: F64,
    feasible: B,
    later: B,
    salvo: I64,
    rounds: I64,
    cost: F64,
    future_value: F64,
    future_pk: F64,
    future_salvo: int,
    discount: float,
) -> LookaheadProblem:
    """Build the engage-now-or-keep assignment of one decision cycle.

    Args:
        value: (N,) threat value of each track (asset-value units).
        pk: (N, M) single-shot Pk of each type against each track.
        feasible: (N, B, M) option (b, m) can intercept track n now.
        later: (N, B, M) option (b, m) can intercept track n later.
        salvo: (N,) most rounds each track may receive (now and later together).
        rounds: (B, M) rounds of each option: on the launchers plus reloads.
        cost: (M,) cost of one round of each type, in value units.
        future_value: (F,) values of the expected threats.
        future_pk: (F, M) Pk of each type against each expected threat (0: not allowed).
        future_salvo: most rounds one expected threat may be given.
        discount: rho in [0, 1], the worth of a later kill relative to one now.

    Returns:
        The problem; `fire_now` reads its solution.
    """
    n, n_b, n_m = feasible.shape
    f = future_value.shape[0]
    pk3 = np.broadcast_to(pk[:, None, :], (n, n_b, n_m))
    p_tracks = np.where(feasible, pk3, np.where(later, discount * pk3, 0.0))
    p_tracks = p_tracks.reshape(n, n_b * n_m).T  # (O, N)
    has = (rounds > 0).reshape(-1)
    p_future = discount * np.tile(future_pk.T, (n_b, 1)) * has[:, None]  # (O, F)
    problem = WtaProblem(
        values=np.r_[value, future_value].astype(np.float64),
        pk=np.hstack([p_tracks, p_future]) if f else p_tracks,
        counts=rounds.reshape(-1).astype(np.int64),
        cost=np.tile(cost, n_b).astype(np.float64),
        max_per_target=np.r_[salvo, np.full(f, future_salvo)].astype(np.int64),
    )
    return LookaheadProblem(problem, feasible.reshape(n, n_b * n_m).T.copy())


def fire_now(lp: LookaheadProblem, x: I64) -> tuple[I64, I64, I64]:
    """The rounds of a solution that are fired this cycle: one option per track.

    Args:
        lp: the problem.
        x: (O, N + F) its solution.

    Returns:
        (rows, option, count): tracks fired at, the option each is given (the
        one the solution gives most rounds that can fire now; the lower option
        index on a tie) and its rounds.
    """
    xn = np.where(lp.now, x[:, : lp.n_tracks], 0)
    if xn.size == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    opt = np.argmax(xn, axis=0)
    count = xn[opt, np.arange(lp.n_tracks)]
    rows = np.flatnonzero(count > 0)
    return rows.astype(np.int64), opt[rows].astype(np.int64), count[rows].astype(np.int64)
