"""Static weapon-target assignment (WTA): exact and heuristic solvers.

The problem -- expected surviving value plus the cost of the weapons fired,
over integer allocations within magazine counts and an optional per-target
cap -- is stated in `wta_problem` with its references.

Solvers (each in its module; this one is the entry point):

* `solve_exact` (`wta_exact`) -- outer approximation (Duran & Grossmann 1986) solved with
  HiGHS through `scipy.optimize.milp`, warm-started from the heuristic. With
  s_j = sum_i a_ij x_ij and a_ij = -ln(1 - p_ij), each target's survival
  V_j exp(-s_j) is convex in s_j, so its tangents are valid under-estimators;
  the MILP over tangent cuts gives a lower bound, the true objective of its
  solution an upper bound, and cuts are added at each new solution until the
  bounds meet: proven optimal. It never returns worse than its incumbent.
* `solve_heuristic` (`wta_heuristic`) -- two constructions, the maximum-marginal-return greedy
  (den Broeder et al. 1959) and layers of one-weapon-per-target assignments,
  each improved by local search over single-weapon moves and pairwise swaps of
  (weapon type, target) cells; the best of the four is returned, so it is never
  worse than the greedy.
* `solve` -- ``auto`` picks by size and time budget.

Every result carries its objective, a lower bound where one is known and a
`status` saying why the solver stopped (`STATUSES`). Weapon counts are first
capped at the shots that can be of use (`useful_counts`), so time and memory
follow the instance's real size, not the numbers written in it; every loop
checks the deadline.
"""

from __future__ import annotations

import time
from dataclasses import replace

from skydome.engagement.wta_exact import EXACT_MARGIN_S, solve_exact
from skydome.engagement.wta_heuristic import solve_heuristic
from skydome.engagement.wta_problem import (
    STATUSES,
    WtaProblem,
    WtaResult,
    objective,
    solve_brute_force,
    unit_assignment,
    useful_counts,
)

__all__ = [
    "STATUSES",
    "WtaProblem",
    "WtaResult",
    "objective",
    "solve",
    "solve_brute_force",
    "solve_exact",
    "solve_heuristic",
    "unit_assignment",
    "useful_counts",
]

_EXACT_MAX_PAIRS = 80 * 80


def solve(p: WtaProblem, solver: str = "auto", time_limit_s: float = 10.0) -> WtaResult:
    """Solve with `exact`, `heuristic`, or `auto` within `time_limit_s` in all.

    `exact` warm-starts from the heuristic inside the same budget. `auto` runs
    the heuristic (at most 0.5 s), then, for instances up to 80 x 80
    weapon-target pairs, the exact solver seeded with the heuristic's solution
    for the rest of the budget; the result is never worse than the heuristic's.
    """
    t0 = time.perf_counter()
    if solver == "exact":
        return solve_exact(p, time_limit_s)
    if solver not in ("auto", "heuristic"):
        raise ValueError(f"unknown solver {solver!r}")
    heur = solve_heuristic(p, min(time_limit_s, 0.5) if solver == "auto" else time_limit_s)
    if solver == "heuristic" or p.n_weapons * p.n_targets > _EXACT_MAX_PAIRS:
        return heur
    left = time_limit_s - (time.perf_counter() - t0)
    if left <= EXACT_MARGIN_S:
        return replace(heur, status="time_limit", seconds=time.perf_counter() - t0)
    ex = solve_exact(p, left, incumbent=heur.x)
    return replace(ex, solver="auto(exact)", seconds=time.perf_counter() - t0)
