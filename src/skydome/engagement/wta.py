"""Static weapon-target assignment (WTA): exact and heuristic solvers.

The standard problem (Manne 1958; Ahuja, Kumar, Jha & Orlin, "Exact and
heuristic algorithms for the weapon-target assignment problem", *Operations
Research* 55(6), 2007): W weapons (or weapon types with counts n_i), T targets
of value V_j, kill probabilities p_ij; choose integer x_ij >= 0 with
sum_j x_ij <= n_i to minimise the expected surviving value

    F(x) = sum_j V_j prod_i (1 - p_ij)^x_ij  +  sum_ij c_i x_ij,

where the optional per-weapon cost c_i makes "fire fewer missiles" part of the
objective (c = 0 gives the textbook problem), and an optional cap limits the
weapons per target.

Solvers:

* `solve_exact` -- outer approximation (Duran & Grossmann 1986) solved with
  HiGHS through `scipy.optimize.milp`. With s_j = sum_i a_ij x_ij and
  a_ij = -ln(1 - p_ij), each target's survival V_j exp(-s_j) is convex in s_j,
  so its tangents are valid under-estimators; the MILP over tangent cuts gives a
  lower bound, the true objective of its solution an upper bound, and cuts are
  added at each new solution until the bounds meet: proven optimal.
* `solve_heuristic` -- maximum-marginal-return greedy (den Broeder et al. 1959),
  then local search over single-weapon moves and pairwise swaps, each
  neighbourhood evaluated as one numpy matrix.
* `solve` -- ``auto`` picks by size and time budget; every result carries its
  objective, a lower bound where one is known, and whether it is proven optimal.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse import coo_array, csr_array, vstack
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

__all__ = [
    "WtaProblem",
    "WtaResult",
    "objective",
    "solve",
    "solve_brute_force",
    "solve_exact",
    "solve_heuristic",
    "unit_assignment",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_SWAP_MAX_UNITS = 3000
"""Above this many weapons the U x U swap neighbourhood is skipped (memory)."""

_A_MAX = 40.0
"""Cap on -ln(1 - p): p = 1 becomes survival exp(-40) ~ 4e-18 (keeps the MILP finite)."""


@dataclass(frozen=True)
class WtaProblem:
    """A static WTA instance.

    Attributes:
        values: (T,) target values V_j >= 0.
        pk: (W, T) kill probabilities p_ij in [0, 1].
        counts: (W,) weapons of each row (1 for individual weapons).
        cost: (W,) cost of firing one weapon of each row (0: textbook WTA).
        max_per_target: at most this many weapons on one target (None: no cap).
    """

    values: F64
    pk: F64
    counts: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cost: F64 = field(default_factory=lambda: np.zeros(0))
    max_per_target: int | None = None

    def __post_init__(self) -> None:
        w = self.pk.shape[0]
        if self.counts.size == 0:
            object.__setattr__(self, "counts", np.ones(w, dtype=np.int64))
        if self.cost.size == 0:
            object.__setattr__(self, "cost", np.zeros(w))

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
        objective: F(x).
        lower_bound: a proven lower bound on the optimum (None: none known).
        optimal: the solution is proven optimal (gap within 1e-6 relative by default).
        solver: which solver produced it.
        seconds: wall time spent.
    """

    x: I64
    objective: float
    lower_bound: float | None
    optimal: bool
    solver: str
    seconds: float

    @property
    def gap(self) -> float | None:
        """Relative gap (objective - bound) / objective; None without a bound."""
        if self.lower_bound is None:
            return None
        return max(self.objective - self.lower_bound, 0.0) / max(abs(self.objective), 1e-12)


def unit_assignment(p: WtaProblem, x: I64) -> list[list[int]]:
    """Per row, the target of each of its `counts[i]` weapons (-1: not fired)."""
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


def _check_feasible(p: WtaProblem, x: I64) -> None:
    assert (x >= 0).all() and (x.sum(axis=1) <= p.counts).all()
    if p.max_per_target is not None:
        assert (x.sum(axis=0) <= p.max_per_target).all()


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
    return WtaResult(best_x, best, best, True, "brute-force", time.perf_counter() - t0)


# ----------------------------------------------------------------------------- heuristic


def _mmr_greedy(p: WtaProblem) -> I64:
    """Maximum marginal return: repeatedly fire the weapon with the largest net gain.

    A weapon of row i on target j gains V_j S_j p_ij - c_i, where S_j is the
    target's current survival. Assigning to j only lowers column j, so only rows
    whose best target was j need their best recomputed.
    """
    w, t = p.n_weapons, p.n_targets
    x = np.zeros((w, t), dtype=np.int64)
    left = p.counts.astype(np.int64).copy()
    cap = np.full(t, np.iinfo(np.int64).max if p.max_per_target is None else p.max_per_target)
    wv = p.values.astype(np.float64).copy()  # V_j S_j
    gain = p.pk * wv[None, :] - p.cost[:, None]
    gain[:, cap <= 0] = -np.inf
    best_t = np.argmax(gain, axis=1) if t else np.zeros(w, dtype=np.int64)
    best_g = gain[np.arange(w), best_t] if t else np.full(w, -np.inf)
    best_g[left <= 0] = -np.inf
    while True:
        i = int(np.argmax(best_g)) if w else 0
        if w == 0 or best_g[i] <= 0.0:
            break
        j = int(best_t[i])
        x[i, j] += 1
        left[i] -= 1
        wv[j] *= 1.0 - p.pk[i, j]
        cap[j] -= 1
        col = p.pk[:, j] * wv[j] - p.cost if cap[j] > 0 else np.full(w, -np.inf)
        gain[:, j] = col
        stale = np.flatnonzero(best_t == j)
        if stale.size:
            best_t[stale] = np.argmax(gain[stale], axis=1)
            best_g[stale] = gain[stale, best_t[stale]]
        better = col > best_g
        best_t[better] = j
        best_g[better] = col[better]
        best_g[left <= 0] = -np.inf
    return x


def _max_assignment(gain: F64) -> tuple[I64, I64]:
    """One-to-one assignment maximising total gain (rows x columns).

    Large problems are solved on a sparse graph that keeps each row's and each
    column's 20 best entries (LAPJVsp via `min_weight_full_bipartite_matching`),
    ~15x faster than the dense solver at 1000 x 1000 and equal to it on the
    literature's instances; the dense `linear_sum_assignment` is the fallback.
    """
    n, m = gain.shape
    k = 20
    if min(n, m) > 4 * k:
        ir = np.argpartition(-gain, k, axis=1)[:, :k]
        ic = np.argpartition(-gain, k, axis=0)[:k, :]
        keep = np.zeros(gain.shape, dtype=bool)
        keep[np.repeat(np.arange(n), k), ir.ravel()] = True
        keep[ic.ravel(), np.tile(np.arange(m), k)] = True
        rr, cc = np.nonzero(keep)
        # Strictly positive weights: zeros would read as missing edges.
        weight = (float(gain.max()) + 1.0) - gain[rr, cc]
        try:
            r, c = min_weight_full_bipartite_matching(csr_array((weight, (rr, cc)), shape=(n, m)))
            return r.astype(np.int64), c.astype(np.int64)
        except ValueError:  # no full matching on the sparse graph
            pass
    r, c = linear_sum_assignment(gain, maximize=True)
    return r.astype(np.int64), c.astype(np.int64)


def _layered_assignment(p: WtaProblem) -> I64:
    """Fill targets in layers, each layer an optimal one-weapon-per-target assignment.

    Layer k gives each target at most one more weapon, chosen by
    `linear_sum_assignment` to maximise sum_j V_j S_j p_ij - c_i over the weapons
    left (S_j: survival after the earlier layers). With as many weapons as
    targets and one weapon per target at the optimum -- the usual case of the
    literature's random instances -- the first layer is already optimal, which
    a marginal-return greedy rarely finds.
    """
    w, t = p.n_weapons, p.n_targets
    rows = np.repeat(np.arange(w), p.counts)
    x = np.zeros((w, t), dtype=np.int64)
    wv = p.values.astype(np.float64).copy()
    free = np.ones(rows.size, dtype=bool)
    layers = rows.size if p.max_per_target is None else min(rows.size, p.max_per_target)
    for _ in range(layers):
        units = np.flatnonzero(free)
        if units.size == 0:
            break
        gain = p.pk[rows[units]] * wv[None, :] - p.cost[rows[units]][:, None]
        r, c = _max_assignment(gain)
        keep = gain[r, c] > 0.0
        r, c = r[keep], c[keep]
        if r.size == 0:
            break
        np.add.at(x, (rows[units[r]], c), 1)
        wv[c] *= 1.0 - p.pk[rows[units[r]], c]
        free[units[r]] = False
    return x


def _local_search(p: WtaProblem, x: I64, deadline: float) -> I64:
    """Improve by single-weapon moves (including fire / hold) and pairwise swaps.

    Units are individual weapons; a virtual target T (value 0, p = 0, no cost)
    holds the unfired ones, so "fire" and "hold" are moves too. Each iteration
    evaluates every move (U x (T+1)) and every swap (U x U) as matrices and
    applies the best improvement.
    """
    w, t = p.n_weapons, p.n_targets
    rows = np.repeat(np.arange(w), p.counts)
    u = rows.size
    if u == 0 or t == 0:
        return x
    # Unit targets from x: fill each row's assigned targets, the rest virtual (t).
    tgt = np.full(u, t, dtype=np.int64)
    start = np.r_[0, np.cumsum(p.counts)[:-1]]
    for i in np.flatnonzero(x.sum(axis=1)):
        tg = np.repeat(np.arange(t), x[i])
        tgt[start[i] : start[i] + tg.size] = tg
    # q floored so a certain kill (p = 1) stays invertible; F(x) is recomputed exactly.
    q = np.hstack([np.maximum(1.0 - p.pk, 1e-12), np.ones((w, 1))])  # (W, T+1)
    vals = np.r_[p.values, 0.0]
    cost_real = np.hstack([np.repeat(p.cost[:, None], t, axis=1), np.zeros((w, 1))])
    cap = np.inf if p.max_per_target is None else float(p.max_per_target)
    eps = 1e-12
    while time.perf_counter() < deadline:
        qu = q[rows]  # (U, T+1)
        load = np.bincount(tgt, minlength=t + 1)
        logs = np.zeros(t + 1)
        np.add.at(logs, tgt, np.log(q[rows, tgt]))
        a = vals * np.exp(logs)  # V_j S_j
        q_own = q[rows, tgt]
        # Move unit k from its target to b: S_a / q_own is the survival without k.
        leave = a[tgt] * (1.0 / q_own - 1.0)
        move = leave[:, None] + a[None, :] * (qu - 1.0)
        move += cost_real[rows] - cost_real[rows, tgt][:, None]
        move[np.arange(u), tgt] = 0.0
        if np.isfinite(cap):
            full = np.r_[load[:t] >= cap, False]
            move[:, full] = 0.0
        km = np.unravel_index(int(np.argmin(move)), move.shape)
        best_move = float(move[km])
        best_swap, ks = 0.0, (0, 0)
        if u <= _SWAP_MAX_UNITS:
            # Swap units k (at a) and m (at b).
            G = q[rows][:, tgt]  # G[x, y] = q[row_x, tgt_y]
            ad = a[tgt] / q_own
            swap = (ad[:, None] * G.T - a[tgt][:, None]) + (G * ad[None, :] - a[tgt][None, :])
            cr = cost_real[rows][:, tgt]  # cr[x, y] = cost of row_x on tgt_y
            swap += cr.T + cr - np.diag(cr)[:, None] - np.diag(cr)[None, :]
            swap[tgt[:, None] == tgt[None, :]] = 0.0
            kflat = np.unravel_index(int(np.argmin(swap)), swap.shape)
            ks = (int(kflat[0]), int(kflat[1]))
            best_swap = float(swap[ks])
        scale = max(float(vals.sum()), 1.0)
        if min(best_move, best_swap) >= -eps * scale:
            break
        if best_move <= best_swap:
            tgt[km[0]] = km[1]
        else:
            tgt[ks[0]], tgt[ks[1]] = tgt[ks[1]], tgt[ks[0]]
    out = np.zeros((w, t), dtype=np.int64)
    real = tgt < t
    np.add.at(out, (rows[real], tgt[real]), 1)
    return out


def solve_heuristic(p: WtaProblem, time_limit_s: float = 0.5) -> WtaResult:
    """Construct two ways, improve each by local search, return the better.

    The constructions (layered assignment, marginal-return greedy) always run to
    completion (about 0.1 s at 1000 x 1000); the limit bounds the local search.
    """
    t0 = time.perf_counter()
    starts = [_layered_assignment(p), _mmr_greedy(p)]
    now = time.perf_counter()
    share = max(t0 + time_limit_s - now, 0.0) / len(starts)
    improved = [_local_search(p, x0, now + share * (k + 1)) for k, x0 in enumerate(starts)]
    x = min(improved, key=lambda y: objective(p, y))
    _check_feasible(p, x)
    return WtaResult(x, objective(p, x), None, False, "heuristic", time.perf_counter() - t0)


# ----------------------------------------------------------------------------- exact


def solve_exact(
    p: WtaProblem,
    time_limit_s: float = 10.0,
    incumbent: I64 | None = None,
    rel_tol: float = 1e-6,
) -> WtaResult:
    """Outer approximation with HiGHS MILPs; proven optimal when the bounds meet.

    Variables: x_ij (integer, 0..n_i; only pairs with p_ij > 0) and z_j >= 0.
    Minimise sum_j z_j + sum_ij c_i x_ij subject to sum_j x_ij <= n_i, the
    optional cap sum_i x_ij <= cap, and tangent cuts
    z_j >= V_j e^{-s0} (1 + s0) - V_j e^{-s0} sum_i a_ij x_ij at points s0.

    Args:
        p: the instance.
        time_limit_s: overall wall-time budget.
        incumbent: a known solution (e.g. the heuristic's) to start the upper bound.
        rel_tol: relative gap at which the solution counts as optimal.

    Returns:
        The best solution found; `optimal` if the gap closed within the budget.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    w, t = p.n_weapons, p.n_targets
    a = _a(p)
    pi, pj = np.nonzero(p.pk > 0.0)
    nx = pi.size
    nv = nx + t
    c = np.r_[p.cost[pi], np.ones(t)]
    integrality = np.r_[np.ones(nx), np.zeros(t)]
    ub = np.r_[p.counts[pi].astype(np.float64), np.full(t, np.inf)]
    if p.max_per_target is not None:
        ub[:nx] = np.minimum(ub[:nx], p.max_per_target)
    bounds = Bounds(np.zeros(nv), ub)
    rows_w = coo_array((np.ones(nx), (pi, np.arange(nx))), shape=(w, nv)).tocsr()
    cons = [LinearConstraint(rows_w, -np.inf, p.counts.astype(np.float64))]
    if p.max_per_target is not None:
        rows_t = coo_array((np.ones(nx), (pj, np.arange(nx))), shape=(t, nv)).tocsr()
        cons.append(LinearConstraint(rows_t, -np.inf, float(p.max_per_target)))

    cut_rows: list[csr_array] = []
    cut_lb: list[F64] = []

    def add_cuts(s0: F64, which: I64) -> None:
        # z_j + V e^{-s0} sum_i a_ij x_ij >= V e^{-s0} (1 + s0), for targets `which`.
        ve = p.values[which] * np.exp(-s0)
        sel = np.isin(pj, which)
        pos = np.searchsorted(which, pj[sel])
        r = np.r_[pos, np.arange(which.size)]
        col = np.r_[np.flatnonzero(sel), nx + which]
        val = np.r_[ve[pos] * a[pi[sel], pj[sel]], np.ones(which.size)]
        cut_rows.append(coo_array((val, (r, col)), shape=(which.size, nv)).tocsr())
        cut_lb.append(ve * (1.0 + s0))

    targets = np.arange(t)
    usable = p.pk > 0.0
    n_use = np.maximum(usable.sum(axis=0), 1)
    amean = (a * usable).sum(axis=0) / n_use
    amin = np.where(usable.any(axis=0), np.where(usable, a, np.inf).min(axis=0), 0.0)
    amax = a.max(axis=0) if w else np.zeros(t)
    # Tangents where solutions live: no weapon, one weapon (spread over the
    # range of single-weapon values), and several.
    for f in (0.0, 0.25, 0.5, 0.75, 1.0):
        add_cuts(amin + f * (amax - amin), targets)
    for k in (1.5, 2.0, 3.0, 4.0, 6.0):
        add_cuts(amean * k, targets)
    add_cuts(np.zeros(t), targets)

    best_x = np.zeros((w, t), dtype=np.int64) if incumbent is None else incumbent.copy()
    best = objective(p, best_x)
    if incumbent is not None:
        # Tangents at the incumbent make the first MILP exact around it.
        add_cuts((a * best_x).sum(axis=0), targets)
    iterations = 0
    lower = -np.inf
    optimal = False
    while True:
        left = deadline - time.perf_counter()
        if left <= 0.0:
            break
        iterations += 1
        A = vstack(cut_rows).tocsr()
        lb = np.concatenate(cut_lb)
        res = milp(
            c,
            integrality=integrality,
            bounds=bounds,
            constraints=[*cons, LinearConstraint(A, lb, np.inf)],
            options={"time_limit": left, "mip_rel_gap": rel_tol / 4},
        )
        if res.x is None:
            break
        bound = getattr(res, "mip_dual_bound", None)
        if res.status == 0:
            lower = max(lower, float(res.fun if bound is None else min(bound, res.fun)))
        elif bound is not None and np.isfinite(bound):
            lower = max(lower, float(bound))
        x = np.zeros((w, t), dtype=np.int64)
        np.add.at(x, (pi, pj), np.rint(res.x[:nx]).astype(np.int64))
        f = objective(p, x)
        if f < best:
            best, best_x = f, x
        if best - lower <= rel_tol * max(abs(best), 1.0):
            optimal = True
            break
        if res.status != 0:
            break
        s = (a * x).sum(axis=0)
        z = res.x[nx:]
        under = np.flatnonzero(z < p.values * np.exp(-s) * (1.0 - 1e-12) - 1e-12)
        if under.size == 0:
            # The MILP optimum is exact on its own cuts yet above the bound: the
            # HiGHS gap tolerance; accept its bound.
            optimal = best - lower <= 4.0 * rel_tol * max(abs(best), 1.0)
            break
        add_cuts(s[under], under)
    _check_feasible(p, best_x)
    return WtaResult(
        best_x,
        best,
        float(min(lower, best)) if np.isfinite(lower) else None,
        optimal,
        "exact",
        time.perf_counter() - t0,
    )


# ----------------------------------------------------------------------------- auto

_EXACT_MAX_PAIRS = 80 * 80


def solve(p: WtaProblem, solver: str = "auto", time_limit_s: float = 10.0) -> WtaResult:
    """Solve with `exact`, `heuristic`, or `auto`.

    `auto` runs the heuristic, then, for instances up to 80 x 80 weapon-target
    pairs, the exact solver seeded with the heuristic's solution for the rest of
    the budget, and returns the better of the two with the exact solver's bound.
    """
    t0 = time.perf_counter()
    if solver == "exact":
        return solve_exact(p, time_limit_s)
    heur = solve_heuristic(p, min(time_limit_s, 0.5) if solver == "auto" else time_limit_s)
    if solver == "heuristic":
        return heur
    if solver != "auto":
        raise ValueError(f"unknown solver {solver!r}")
    if p.n_weapons * p.n_targets > _EXACT_MAX_PAIRS:
        return heur
    left = time_limit_s - (time.perf_counter() - t0)
    ex = solve_exact(p, max(left, 0.1), incumbent=heur.x)
    return WtaResult(
        ex.x, ex.objective, ex.lower_bound, ex.optimal, "auto(exact)", time.perf_counter() - t0
    )
