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
* `solve_lns` (`wta_lns`) -- large-neighbourhood search (after Ahuja, Kumar, Jha &
  Orlin 2007's very-large-scale neighbourhoods): from the heuristic's plan it
  repeatedly frees the weapons on a few targets, or of a few weapon types,
  re-solves that part, and keeps the best plan found until the deadline.
* `solve` -- ``auto`` spends its budget: the heuristic, then the exact solver
  and the search, returning the best plan and the best bound known.

``heuristic`` is deterministic and stops at its local optimum (the engine's
default: same seed, same run on any host). ``lns``, ``auto`` and ``exact``
use the wall-time budget, so their plans can depend on the host's speed.

"""

from __future__ import annotations

import time
from dataclasses import replace

from skydome.engagement.wta_exact import EXACT_MARGIN_S, lagrangian_bound, solve_exact
from skydome.engagement.wta_heuristic import solve_heuristic
from skydome.engagement.wta_lns import solve_lns
from skydome.engagement.wta_problem import (
    STATUSES,
    WtaProblem,
    WtaResult,
    objective,
    solve_brute_force,
    target_caps,
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
    "solve_lns",
    "target_caps",
    "unit_assignment",
    "useful_counts",
]

SOLVERS = ("auto", "exact", "heuristic", "lns")
"""Solver names accepted by `solve`."""

_EXACT_MAX_PAIRS = 80 * 80
"""Up to this many weapon-target pairs `auto` runs the exact solver (its MILPs stay small)."""

_AUTO_PROBE_SHARE = 0.1
"""`auto`, small instances: the first exact attempt's share of the budget (proves most)."""

_AUTO_PROBE_S = 1.0
"""... and its length at most, seconds."""

_AUTO_LNS_SHARE = 0.7
"""`auto`, small instances not proven by the probe: the search's share of the rest; the
exact solver, seeded with the search's plan, gets the remainder (0: the exact solver
alone gets the whole budget, with no probe). On 50 x 100 instances with 3 units per
type the search came closer to the optimum in 10 s than the MILP (bench_wta)."""

_AUTO_EXACT_RESERVE_S = 0.25
"""`auto`: seconds held back from the second exact run (HiGHS overruns its limit)."""

_AUTO_BOUND_SHARE = 0.1
"""`auto`, large instances: at most this share of the budget for the Lagrangian bound."""


def solve(
    p: WtaProblem, solver: str = "auto", time_limit_s: float = 10.0, seed: int = 0
) -> WtaResult:
    """Solve with `exact`, `heuristic`, `lns` or `auto` within `time_limit_s` in all.

    * ``heuristic``: construct and improve to a local optimum; deterministic, not
      driven by the clock (the budget only cuts it short on huge instances).
    * ``exact``: warm-starts from the heuristic inside the same budget.
    * ``lns``: the heuristic, then large-neighbourhood search for the rest of
      the budget (random stream from `seed`).
    * ``auto``: the heuristic (at most 0.5 s); then, up to 80 x 80
      weapon-target pairs, the exact solver seeded with it -- first on a short
      probe (`_AUTO_PROBE_SHARE` of the budget, or half of it up to 0.5 s if
      more, and at most `_AUTO_PROBE_S`), which proves most small instances;
      if not proven, the search on `_AUTO_LNS_SHARE` of the rest and the exact
      solver again, seeded with the best plan, to the end (and the search for
      any time the MILP leaves). Above that size, the search for 90 % of the
      budget (it runs the heuristic itself on half of that) and a Lagrangian
      lower bound (`lagrangian_bound`; weak, valid). Returns the best plan found
      and the best bound known; never worse than the heuristic it ran.

    ``lns``, ``exact`` and ``auto`` run until a proof or the deadline: their
    plans can depend on the wall time, hence on the host.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    if solver == "exact":
        return solve_exact(p, time_limit_s)
    if solver == "lns":
        return solve_lns(p, time_limit_s, seed=seed)
    if solver not in ("auto", "heuristic"):
        raise ValueError(f"unknown solver {solver!r}; expected one of {', '.join(SOLVERS)}")
    if solver == "heuristic":
        return solve_heuristic(p, time_limit_s)
    if p.n_weapons * p.n_targets > _EXACT_MAX_PAIRS:
        # Large: the search runs the heuristic itself on half its budget (on
        # 500 x 1000 with 3 units the heuristic needs ~9 s to converge; 0.5 s of
        # it left the search a poor start).
        ln = solve_lns(p, (1.0 - _AUTO_BOUND_SHARE) * time_limit_s, seed=seed)
        lb = lagrangian_bound(p, ln.x, deadline)
        return replace(ln, lower_bound=lb, solver="auto(lns)", seconds=time.perf_counter() - t0)
    heur = solve_heuristic(p, min(time_limit_s, 0.5))
    left = deadline - time.perf_counter()
    if left <= EXACT_MARGIN_S:
        return replace(heur, status="time_limit", seconds=time.perf_counter() - t0)
    # Short budgets (the engine's 0.2 s) give the probe half: it proves
    # engine-sized instances, which then return as soon as proven.
    probe = min(max(_AUTO_PROBE_SHARE * left, min(0.5 * left, 0.5)), _AUTO_PROBE_S)
    probe = probe if _AUTO_LNS_SHARE > 0 else left
    ex = solve_exact(p, probe, incumbent=heur.x)
    bound = ex.lower_bound
    left = deadline - time.perf_counter()
    if not ex.optimal and _AUTO_LNS_SHARE > 0 and left > EXACT_MARGIN_S:
        ln = solve_lns(p, _AUTO_LNS_SHARE * left, seed=seed, incumbent=ex.x)
        left = deadline - time.perf_counter()
        if left > EXACT_MARGIN_S + _AUTO_EXACT_RESERVE_S:
            # The exact solver never returns worse than its incumbent. HiGHS
            # can overrun its limit by a few tenths: hold some back (the
            # search takes what is left, to the deadline).
            ex = solve_exact(p, left - _AUTO_EXACT_RESERVE_S, incumbent=ln.x)
            bounds = [b for b in (bound, ex.lower_bound) if b is not None]
            bound = max(bounds) if bounds else None
        elif ln.objective < ex.objective:
            ex = ln
    left = deadline - time.perf_counter()
    if not ex.optimal and left > EXACT_MARGIN_S:
        # The MILP gave up early (solver error, tolerance): search the rest.
        ln = solve_lns(p, left, seed=seed, incumbent=ex.x)
        if ln.objective < ex.objective:
            ex = ln
    return replace(
        ex,
        lower_bound=bound,
        optimal=ex.optimal,
        solver="auto(exact)" if ex.solver == "exact" else "auto(lns)",
        seconds=time.perf_counter() - t0,
    )
