"""The static weapon-target assignment problem: instance, result, objective, bounds on use.

The standard problem (Manne 1958; Ahuja, Kumar, Jha & Orlin, "Exact and
heuristic algorithms for the weapon-target assignment problem", *Operations
Research* 55(6), 2007): W weapons (or weapon types with counts n_i), T targets
of value V_j, kill probabilities p_ij; choose integer x_ij >= 0 with
sum_j x_ij <= n_i to minimise the expected surviving value

    F(x) = sum_j V_j prod_i (1 - p_ij)^x_ij  +  sum_ij c_i x_ij,

where the optional per-weapon cost c_i makes "fire fewer missiles" part of the
objective (c = 0 gives the textbook problem), and an optional cap limits the
weapons per target. The solvers are in `wta_heuristic` and `wta_exact`;
`skydome.engagement.wta` is the one entry point (`solve`).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace

import numpy as np

from skydome.arrays import F64, I64

__all__ = [
    "STATUSES",
    "WtaProblem",
    "WtaResult",
    "objective",
    "solve_brute_force",
    "target_caps",
    "unit_assignment",
    "useful_counts",
]


STATUSES = ("optimal", "local_optimum", "time_limit", "solver_error", "tolerance")
"""Why a solver stopped (`WtaResult.status`):

* ``optimal`` -- proven optimal: the lower bound meets the objective (relative 1e-6).
* ``local_optimum`` -- the heuristic finished: no single-weapon move or pairwise
  swap improves the plan. No optimality claim.
* ``time_limit`` -- the budget ran out first; the best plan found is returned
  (for the exact solver: never worse than the heuristic's, with its best bound).
* ``solver_error`` -- the MILP solver failed; the best plan found so far (at
  least the heuristic's) is returned with any bound proven before the failure.
* ``tolerance`` -- the MILP is exact at its own solution yet its bound stays
  above the optimality gap: HiGHS's own tolerances stop progress.
"""

_A_MAX = 40.0
"""Cap on -ln(1 - p): p = 1 becomes survival exp(-40) ~ 4e-18 (keeps the MILP finite)."""

_LN_RESOLUTION = 52.0 * np.log(2.0)
"""-ln(2^-52): shots beyond survival 2^-52 change V_j S_j by less than V_j's last bit."""


@dataclass(frozen=True)
class WtaProblem:
    """A static WTA instance.

    Attributes:
        values: (T,) target values V_j >= 0.
        pk: (W, T) kill probabilities p_ij in [0, 1].
        counts: (W,) weapons of each row (1 for individual weapons).
        cost: (W,) cost of firing one weapon of each row (0: textbook WTA).
        max_per_target: at most this many weapons on one target: an int for every
            target, a (T,) integer array per target (0: do not engage), or None
            (no cap).
    """

    values: F64
    pk: F64
    counts: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cost: F64 = field(default_factory=lambda: np.zeros(0))
    max_per_target: int | I64 | None = None

    def __post_init__(self) -> None:
        w = self.pk.shape[0]
        if self.counts.size == 0:
            object.__setattr__(self, "counts", np.ones(w, dtype=np.int64))
        if self.cost.size == 0:
            object.__setattr__(self, "cost", np.zeros(w))
        cap = self.max_per_target
        if cap is not None and not isinstance(cap, (int, np.integer)):
            arr = np.asarray(cap)
            if arr.shape != (self.pk.shape[1],) or not np.issubdtype(arr.dtype, np.integer):
                raise ValueError(
                    f"max_per_target: expected an int or a ({self.pk.shape[1]},) integer "
                    f"array, got {arr.dtype} {arr.shape}"
                )
            if (arr < 0).any():
                raise ValueError("max_per_target: caps must be >= 0")
            object.__setattr__(self, "max_per_target", arr.astype(np.int64))

    @property
    def n_weapons(self) -> int:
        """Rows W (weapons, or weapon types)."""
        return int(self.pk.shape[0])

    @property
    def n_targets(self) -> int:
        """Targets T."""
        return int(self.pk.shape[1])


@dataclass(frozen=True)
class WtaResult:
    """A solution and what is known of its quality.

    Attributes:
        x: (W, T) weapons of row i assigned to target j.
        objective: F(x), surviving value plus weapon cost.
        lower_bound: a proven lower bound on the optimal F (None: none known).
        optimal: the solution is proven optimal (gap within 1e-6 relative by default).
        solver: which solver produced it.
        seconds: wall time spent.
        status: why the solver stopped, one of `STATUSES`.
    """

    x: I64
    objective: float
    lower_bound: float | None
    optimal: bool
    solver: str
    seconds: float
    status: str = "local_optimum"

    @property
    def gap(self) -> float | None:
        """Gap (objective - bound) / max(|objective|, 1); None without a bound.

        Relative for objectives above 1, absolute below, as the optimality test.
        """
        if self.lower_bound is None:
            return None
        return max(self.objective - self.lower_bound, 0.0) / max(abs(self.objective), 1.0)


def unit_assignment(p: WtaProblem, x: I64) -> list[list[int]]:
    """Per row, the target of each of its `counts[i]` weapons (-1: not fired).

    The list has sum(counts) entries: for individual weapons, or small counts.
    """
    out = []
    for i in range(p.n_weapons):
        tg = np.repeat(np.arange(p.n_targets), x[i]).tolist()
        out.append(tg + [-1] * int(p.counts[i] - x[i].sum()))
    return out


def objective(p: WtaProblem, x: I64) -> float:
    """F(x): expected surviving value plus weapon cost."""
    used = x > 0
    logq = np.zeros(x.shape)
    with np.errstate(divide="ignore"):
        logq[used] = np.log(1.0 - p.pk[used]) * x[used]  # -inf for a certain kill
    surv = np.exp(logq.sum(axis=0))
    return float(p.values @ surv + p.cost @ x.sum(axis=1))


def _a(p: WtaProblem) -> F64:
    with np.errstate(divide="ignore"):
        a: F64 = np.minimum(-np.log1p(-np.minimum(p.pk, 1.0)), _A_MAX)
    return a


def target_caps(p: WtaProblem) -> I64 | None:
    """(T,) weapons allowed per target (`max_per_target` broadcast), or None without a cap."""
    if p.max_per_target is None:
        return None
    return np.broadcast_to(np.asarray(p.max_per_target, dtype=np.int64), (p.n_targets,)).copy()


def _check_feasible(p: WtaProblem, x: I64) -> None:
    assert (x >= 0).all() and (x.sum(axis=1) <= p.counts).all()
    if p.max_per_target is not None:
        assert (x.sum(axis=0) <= p.max_per_target).all()


def useful_counts(p: WtaProblem) -> I64:
    """Per row, the most weapons an optimal plan can fire: counts capped by use.

    A k-th weapon of row i on target j lowers F by at most
    V_j (1 - p_ij)^(k-1) p_ij - c_i (other weapons only lower the survival
    further), and removing a weapon whose gain is below its cost improves F, so
    with c_i > 0 no optimum fires more than

        k_ij = 1 + floor(ln(c_i / (V_j p_ij)) / ln(1 - p_ij))   (0 if V_j p_ij <= c_i)

    weapons of row i at j. With c_i = 0 every weapon helps a little, but past
    k_ij = ceil(52 ln 2 / a_ij) shots (a_ij = -ln(1 - p_ij), capped at 40 as in
    the MILP) row i alone has taken target j's survival below 2^-52, and a
    further shot changes F by less than the last bit of V_j. Each k_ij is also
    at most `max_per_target`. The row's cap is min(n_i, sum_j k_ij): the optimum
    is unchanged (to within 2^-52 sum_j V_j where c_i = 0), and the work and
    memory of every solver follow the real size of the instance, not the counts.

    Returns:
        (W,) the capped counts, <= `p.counts`.
    """
    v = p.values[None, :]
    pk = np.minimum(p.pk, 1.0)
    a = _a(p)
    c = p.cost[:, None]
    live = (pk > 0.0) & (v * pk > c)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        k_res = np.ceil(_LN_RESOLUTION / np.where(live, a, 1.0))
        ratio = np.log(np.where(live, c / np.where(live, v * pk, 1.0), 1.0))
        # ln(c / Vp) / ln(1 - p) >= 0; for p = 1 the denominator is -inf and k = 1.
        k_cost = np.floor(ratio / np.log1p(-np.where(live, pk, 0.0)) * (1.0 + 1e-9) + 1e-9) + 1.0
    k = np.where(c > 0.0, np.minimum(k_cost, k_res), k_res)
    k = np.where(live & np.isfinite(k), k, np.where(live, k_res, 0.0))
    caps = target_caps(p)
    if caps is not None:
        k = np.minimum(k, caps.astype(np.float64)[None, :])
    n = p.counts.astype(np.float64)
    per_row = np.minimum(k, n[:, None]).sum(axis=1) if p.n_targets else np.zeros(p.n_weapons)
    return np.minimum(per_row, n).astype(np.int64)


def _capped(p: WtaProblem) -> WtaProblem:
    cap = useful_counts(p)
    return p if np.array_equal(cap, p.counts) else replace(p, counts=cap)


# ----------------------------------------------------------------------------- brute force


def solve_brute_force(p: WtaProblem) -> WtaResult:
    """Enumerate every assignment of individual weapons (for tests; W <= ~7).

    Rows with counts > 1 are expanded into individual weapons.
    """
    t0 = time.perf_counter()
    rows = np.repeat(np.arange(p.n_weapons), p.counts)
    best_x: I64 | None = None
    best = np.inf
    for choice in itertools.product(range(-1, p.n_targets), repeat=rows.size):
        x = np.zeros((p.n_weapons, p.n_targets), dtype=np.int64)
        c = np.asarray(choice, dtype=np.int64)
        used = c >= 0
        np.add.at(x, (rows[used], c[used]), 1)
        if p.max_per_target is not None and (x.sum(axis=0) > p.max_per_target).any():
            continue
        f = objective(p, x)
        if f < best - 1e-12:
            best, best_x = f, x
    assert best_x is not None
    return WtaResult(best_x, best, best, True, "brute-force", time.perf_counter() - t0, "optimal")
