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
  HiGHS through `scipy.optimize.milp`, warm-started from the heuristic. With
  s_j = sum_i a_ij x_ij and a_ij = -ln(1 - p_ij), each target's survival
  V_j exp(-s_j) is convex in s_j, so its tangents are valid under-estimators;
  the MILP over tangent cuts gives a lower bound, the true objective of its
  solution an upper bound, and cuts are added at each new solution until the
  bounds meet: proven optimal. It never returns worse than its incumbent.
* `solve_heuristic` -- two constructions, the maximum-marginal-return greedy
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

import itertools
import pickle
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse import coo_array, csr_array, vstack

from skydome.arrays import F64, I64

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

_SWAP_MAX_CELLS = 3000
"""Above this many occupied (row, target) cells the C x C swap neighbourhood is skipped."""

_LSA_BLOCK = 512
"""Targets per assignment in a layer above `_LSA_FULL` (each a dense `linear_sum_assignment`)."""

_LSA_FULL = 1024
"""Up to this many targets a layer is one optimal assignment; above, blocks of `_LSA_BLOCK`."""

_LSA_MAX_CELLS = 2_000_000
"""Rows x columns of one layer assignment at most (unit copies per type are limited to fit)."""

_A_MAX = 40.0
"""Cap on -ln(1 - p): p = 1 becomes survival exp(-40) ~ 4e-18 (keeps the MILP finite)."""

_LN_RESOLUTION = 52.0 * np.log(2.0)
"""-ln(2^-52): shots beyond survival 2^-52 change V_j S_j by less than V_j's last bit."""

_EXACT_MARGIN_S = 0.05
"""Held back from the MILP's time limit for building the model and reading the result."""

_MILP_INPROCESS_NNZ = 200_000
"""MILPs with more constraint nonzeros run in a process killed at the deadline."""


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
    if p.max_per_target is not None:
        k = np.minimum(k, float(p.max_per_target))
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


# ----------------------------------------------------------------------------- heuristic


def _mmr_greedy(p: WtaProblem, deadline: float = np.inf) -> tuple[I64, bool]:
    """Maximum marginal return: repeatedly fire the weapon with the largest net gain.

    A weapon of row i on target j gains V_j S_j p_ij - c_i, where S_j is the
    target's current survival. Assigning to j only lowers column j, so only rows
    whose best target was j need their best recomputed. One weapon per
    iteration (at most sum of counts, capped by `useful_counts` upstream); the
    deadline is checked every 32 iterations and the plan so far returned -- every
    weapon in it had a positive gain, so it is feasible and better than none.

    Returns:
        (x, finished): the plan, and False if the deadline cut it short.
    """
    w, t = p.n_weapons, p.n_targets
    x = np.zeros((w, t), dtype=np.int64)
    if w == 0 or t == 0:
        return x, True
    left = p.counts.astype(np.int64).copy()
    cap = np.full(t, np.iinfo(np.int64).max if p.max_per_target is None else p.max_per_target)
    wv = p.values.astype(np.float64).copy()  # V_j S_j
    gain = p.pk * wv[None, :] - p.cost[:, None]
    gain[:, cap <= 0] = -np.inf
    best_t = np.argmax(gain, axis=1)
    best_g = gain[np.arange(w), best_t]
    best_g[left <= 0] = -np.inf
    for it in itertools.count():
        if it % 32 == 31 and time.perf_counter() >= deadline:
            return x, False
        i = int(np.argmax(best_g))
        if best_g[i] <= 0.0:
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
    return x, True


def _max_assignment(gain: F64) -> tuple[I64, I64]:
    """One-to-one assignment maximising the total of positive gains (rows x columns).

    Dense `linear_sum_assignment` (a shortest augmenting path method: finite,
    and indifferent to duplicated rows -- the sparse LAPJVsp of
    `min_weight_full_bipartite_matching` is not and can loop forever on them).
    Gains are clipped at 0 (a pair with gain <= 0 is dropped afterwards, so the
    result is the best assignment in which any row may stay idle) and reduced by
    the side every optimal assignment covers -- column maxima when rows >=
    columns, row maxima otherwise -- which leaves the optimum unchanged and
    makes HiGHS-like narrow-range gains (V p) 10x faster to assign.
    """
    n, m = gain.shape
    if n == 0 or m == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e
    h = np.maximum(gain, 0.0)
    h = h - h.max(axis=0)[None, :] if n >= m else h - h.max(axis=1)[:, None]
    r, c = linear_sum_assignment(h, maximize=True)
    keep = gain[r, c] > 0.0
    return r[keep].astype(np.int64), c[keep].astype(np.int64)


def _layered_assignment(p: WtaProblem, deadline: float = np.inf) -> tuple[I64, bool]:
    """Fill targets in layers, each layer a one-weapon-per-target assignment.

    Layer k gives each target at most one more weapon, chosen to maximise
    sum_j V_j S_j p_ij - c_i over the weapons left (S_j: survival after the
    earlier layers). With as many weapons as targets and one weapon per target
    at the optimum -- the usual case of the literature's random instances --
    the first layer is already optimal, which a marginal-return greedy rarely
    finds. A type with n left takes min(n, columns) identical rows (fewer if the
    layer would exceed `_LSA_MAX_CELLS`); above `_LSA_FULL` targets a layer is
    assigned in blocks of `_LSA_BLOCK` targets, most valuable first. The deadline
    is checked before every assignment; a layer cut short keeps what it placed.

    Returns:
        (x, finished): the plan, and False if the deadline cut it short.
    """
    w, t = p.n_weapons, p.n_targets
    x = np.zeros((w, t), dtype=np.int64)
    left = p.counts.astype(np.int64).copy()
    wv = p.values.astype(np.float64).copy()
    cap = np.full(t, np.iinfo(np.int64).max if p.max_per_target is None else p.max_per_target)
    block = t if t <= _LSA_FULL else _LSA_BLOCK
    step_s = 0.0  # duration of the last assignment: do not start one that cannot finish
    while True:
        placed = 0
        open_t = np.flatnonzero(cap > 0)
        order = open_t[np.argsort(-wv[open_t], kind="stable")]
        for s in range(0, order.size, block):
            now = time.perf_counter()
            if now + step_s >= deadline:
                return x, False
            cols = order[s : s + block]
            types = np.flatnonzero(left > 0)
            if types.size == 0:
                break
            per = np.minimum(left[types], cols.size)
            most = max(_LSA_MAX_CELLS // max(cols.size, 1) // types.size, 1)
            rows = np.repeat(types, np.minimum(per, most))
            gain = p.pk[np.ix_(rows, cols)] * wv[cols][None, :] - p.cost[rows][:, None]
            r, c = _max_assignment(gain)
            step_s = time.perf_counter() - now
            if r.size == 0:
                continue
            i, j = rows[r], cols[c]
            np.add.at(x, (i, j), 1)
            np.subtract.at(left, i, 1)
            wv[j] *= 1.0 - p.pk[i, j]
            cap[j] -= 1
            placed += r.size
        if placed == 0:
            return x, True


def _two_smallest(m: F64) -> tuple[I64, F64, I64, F64]:
    """Per row of m (>= 2 columns): column and value of the smallest and second smallest."""
    ar = np.arange(m.shape[0])
    j1 = np.argmin(m, axis=1)
    v1 = m[ar, j1]
    m[ar, j1] = np.inf
    j2 = np.argmin(m, axis=1)
    v2 = m[ar, j2]
    m[ar, j1] = v1
    return j1, v1, j2, v2


def _local_search(p: WtaProblem, x0: I64, deadline: float) -> tuple[I64, bool]:
    """Improve by single-weapon moves (including fire / hold) and pairwise swaps.

    The state is x with a virtual target T (value 0, p = 0, no cost) holding the
    unfired weapons, so "fire" and "hold" are moves too. Identical weapons of a
    row are one occupied (row, target) cell, so the work grows with the cells,
    not the weapon counts. With L_ia the change in F from taking one weapon of
    row i off target a (occupied cells only) and D_ib from adding one at b, a
    move a -> b changes F by L_ia + D_ib (a != b), found per row from the two
    best a and b in O(W T); when no move improves, a swap of a weapon of row i
    at a with one of row k at b is evaluated for all pairs of occupied cells as
    one C x C matrix (up to `_SWAP_MAX_CELLS`). Each iteration applies the best
    improving move, or else the best improving swap; the loop
    stops at a local optimum, or before an iteration the last one's duration
    says cannot finish by the deadline.

    Returns:
        (x, converged): the improved plan, and False if the deadline stopped it.
    """
    w, t = p.n_weapons, p.n_targets
    if w == 0 or t == 0:
        return x0, True
    x = np.hstack([x0, (p.counts - x0.sum(axis=1))[:, None]])  # (W, T+1)
    # q floored so a certain kill (p = 1) stays invertible; F(x) is recomputed exactly.
    q = np.hstack([np.maximum(1.0 - p.pk, 1e-12), np.ones((w, 1))])  # (W, T+1)
    logq = np.log(q)
    vals = np.r_[p.values, 0.0]
    real = np.r_[np.ones(t), 0.0]  # 1 for a real target, 0 for the virtual one
    cost_real = p.cost[:, None] * real[None, :]
    d_base = q - 1.0
    cap = np.inf if p.max_per_target is None else float(p.max_per_target)
    eps = 1e-12 * max(float(vals.sum()), 1.0)
    step_s = 0.0  # duration of the last iteration: do not start one that cannot finish
    while True:
        now = time.perf_counter()
        if now + step_s >= deadline:
            return x[:, :t].copy(), False
        ci, ca = np.nonzero(x)  # occupied cells, row-major
        n_c = x[ci, ca]
        lq = logq[ci, ca]
        logs = np.bincount(ca, weights=n_c * lq, minlength=t + 1)  # ln S_j
        a = vals * np.exp(logs)  # V_j S_j
        adu = vals[ca] * np.exp(logs[ca] - lq)  # V_a S_a without one weapon of cell u
        # Take one weapon of cell u (row i, target a) off: F changes by lu.
        lu = adu - a[ca] - cost_real[ci, ca]
        # Per row, the two best cells to take from (cells are grouped by row).
        o = np.lexsort((lu, ci))
        co = ci[o]
        first = np.ones(o.size, dtype=bool)
        first[1:] = co[1:] != co[:-1]
        head = o[first]
        second = np.full(w, -1)
        nxt = np.flatnonzero(first) + 1
        has2 = nxt < o.size
        has2[has2] &= ~first[nxt[has2]]
        second[ci[head[has2]]] = o[nxt[has2]]
        a1 = np.full(w, t)
        l1 = np.full(w, np.inf)
        a1[ci[head]] = ca[head]
        l1[ci[head]] = lu[head]
        a2 = np.full(w, t)
        l2 = np.full(w, np.inf)
        two = second >= 0
        a2[two] = ca[second[two]]
        l2[two] = lu[second[two]]
        # Add one weapon of row i at b: F changes by D_ib.
        D = a[None, :] * d_base + cost_real
        if np.isfinite(cap):
            load = np.bincount(ca, weights=n_c * real[ca], minlength=t + 1)
            D[:, np.r_[load[:t] >= cap, False]] = np.inf
        b1, d1, b2, d2 = _two_smallest(D)
        same = a1 == b1
        alt = l1 + d2 <= l2 + d1
        move = np.where(same, np.where(alt, l1 + d2, l2 + d1), l1 + d1)
        src = np.where(same & ~alt, a2, a1)
        dst = np.where(same & alt, b2, b1)
        move = np.where(np.isfinite(move), move, np.inf)
        im = int(np.argmin(move))
        best_move = float(move[im])
        best_swap, su, sv = np.inf, 0, 0
        if best_move >= -eps and 1 < ci.size <= _SWAP_MAX_CELLS:
            # Swap one weapon of cell u (row i at a) with one of cell v (row k at b):
            # a loses i and gains k, b loses k and gains i.
            G = q[np.ix_(ci, ca)]  # G[u, v] = q[row_u, tgt_v]
            cu = p.cost[ci]
            ru = -a[ca] - cost_real[ci, ca]
            swap = adu[:, None] * G.T
            swap += G * adu[None, :]
            swap += cu[:, None] * real[ca][None, :]  # row_u now at tgt_v
            swap += real[ca][:, None] * cu[None, :]  # row_v now at tgt_u
            swap += ru[:, None]
            swap += ru[None, :]
            swap[(ca[:, None] == ca[None, :]) | (ci[:, None] == ci[None, :])] = np.inf
            k = int(np.argmin(swap))
            su, sv = divmod(k, ci.size)
            best_swap = float(swap[su, sv])
        if min(best_move, best_swap) >= -eps:
            return x[:, :t].copy(), True
        if best_move <= best_swap:
            x[im, src[im]] -= 1
            x[im, dst[im]] += 1
        else:
            i, k_, ta, tb = ci[su], ci[sv], ca[su], ca[sv]
            x[i, ta] -= 1
            x[i, tb] += 1
            x[k_, tb] -= 1
            x[k_, ta] += 1
        step_s = time.perf_counter() - now


def solve_heuristic(p: WtaProblem, time_limit_s: float = 0.5) -> WtaResult:
    """Construct two ways, improve each by local search, return the best of the four.

    The greedy runs first (it is the baseline the result never falls below),
    then the layered construction, then local search from each with an equal
    share of what is left. Every stage checks the deadline, so the call returns
    within the budget plus one assignment or one local-search iteration.
    Counts are capped by `useful_counts` first.

    Returns:
        status ``local_optimum`` if every stage finished, ``time_limit`` if not.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    q = _capped(p)
    xg, done_g = _mmr_greedy(q, deadline)
    xl, done_l = _layered_assignment(q, deadline)
    starts = [xg, xl]
    plans = list(starts)
    finished = done_g and done_l
    for k, x0 in enumerate(starts):
        now = time.perf_counter()
        share = max(deadline - now, 0.0) / (len(starts) - k)
        y, conv = _local_search(q, x0, now + share)
        plans.append(y)
        finished &= conv
    f = [objective(q, y) for y in plans]
    kbest = int(np.argmin(f))
    x = plans[kbest]
    _check_feasible(p, x)
    return WtaResult(
        x,
        f[kbest],
        None,
        False,
        "heuristic",
        time.perf_counter() - t0,
        "local_optimum" if finished else "time_limit",
    )


# ----------------------------------------------------------------------------- exact


@dataclass(frozen=True)
class _Milp:
    c: F64
    integrality: I64
    bounds: Bounds
    constraints: list[LinearConstraint]

    @property
    def nnz(self) -> int:
        return sum(int(getattr(k.A, "nnz", 0)) for k in self.constraints)


@dataclass(frozen=True)
class _MilpOut:
    status: int  # scipy.optimize.milp: 0 optimal, 1 limit, 2 infeasible, 3 unbounded, 4 error
    x: F64 | None
    fun: float | None
    bound: float | None


def _milp_in_process(m: _Milp, options: dict[str, Any]) -> _MilpOut:
    opts: Any = options
    res = milp(
        m.c, integrality=m.integrality, bounds=m.bounds, constraints=m.constraints, options=opts
    )
    bound = getattr(res, "mip_dual_bound", None)
    fun = None if res.fun is None else float(res.fun)
    return _MilpOut(int(res.status), res.x, fun, None if bound is None else float(bound))


_MILP_WORKER = (
    "import pickle, sys\n"
    "from skydome.engagement.wta import _milp_in_process\n"
    "m, o = pickle.load(sys.stdin.buffer)\n"
    "pickle.dump(_milp_in_process(m, o), sys.stdout.buffer)\n"
)


def _run_milp(m: _Milp, options: dict[str, Any], left_s: float) -> _MilpOut:
    """`milp` within a hard wall-time limit.

    HiGHS honours `time_limit` only between its phases: on models of about a
    million nonzeros it has overrun a 5 s limit by 10 s. Models above
    `_MILP_INPROCESS_NNZ` are therefore solved in a child Python process that
    is killed at the deadline (status 1, no solution); small ones, where
    HiGHS's own limit holds and a process start would dominate, in this one.
    """
    if m.nnz <= _MILP_INPROCESS_NNZ:
        return _milp_in_process(m, options)
    proc = subprocess.Popen(
        [sys.executable, "-c", _MILP_WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        raw, _ = proc.communicate(pickle.dumps((m, options)), timeout=max(left_s, 0.0))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return _MilpOut(1, None, None, None)
    if proc.returncode != 0 or not raw:  # the child died (e.g. out of memory)
        return _MilpOut(4, None, None, None)
    out: _MilpOut = pickle.loads(raw)  # noqa: S301 -- our own child's output
    return out


def solve_exact(
    p: WtaProblem,
    time_limit_s: float = 10.0,
    incumbent: I64 | None = None,
    rel_tol: float = 1e-6,
) -> WtaResult:
    """Outer approximation with HiGHS MILPs; proven optimal when the bounds meet.

    Variables: x_ij (integer, 0..min(n_i, cap); only pairs with p_ij > 0) and
    0 <= z_j <= V_j. Minimise sum_j z_j + sum_ij c_i x_ij subject to
    sum_j x_ij <= n_i, the optional cap sum_i x_ij <= cap, and tangent cuts
    z_j >= V_j e^{-s0} (1 + s0) - V_j e^{-s0} sum_i a_ij x_ij at points s0.
    z_j <= V_j is valid (every tangent is <= V_j at s >= 0) and necessary: with
    free z HiGHS 1.x fails ("Solve error", no solution) on small instances,
    which once made this solver return "fire nothing".

    Without an incumbent the heuristic runs first on a quarter of the budget
    (it stops sooner at a local optimum, as on every instance the MILP can
    prove); each MILP gets the remaining budget as its time
    limit, and the result is never worse than the incumbent.

    Args:
        p: the instance.
        time_limit_s: overall wall-time budget, the heuristic's share included.
        incumbent: a known feasible solution (e.g. the heuristic's).
        rel_tol: relative gap at which the solution counts as optimal.

    Returns:
        The best solution found, with its bound and `status`.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    q = _capped(p)
    w, t = q.n_weapons, q.n_targets
    if incumbent is None:
        incumbent = solve_heuristic(q, 0.25 * time_limit_s).x
    else:
        incumbent = np.asarray(incumbent, dtype=np.int64)
        _check_feasible(p, incumbent)
    # The incumbent may use more of a row than is useful: keep it as the plan to
    # beat, but the MILP works with the capped counts.
    best_x = incumbent.copy()
    best = objective(p, best_x)
    a = _a(q)
    pi, pj = np.nonzero(q.pk > 0.0)
    nx = pi.size
    nv = nx + t
    c = np.r_[q.cost[pi], np.ones(t)]
    integrality = np.r_[np.ones(nx, dtype=np.int64), np.zeros(t, dtype=np.int64)]
    ub = np.r_[q.counts[pi].astype(np.float64), q.values.astype(np.float64)]
    if q.max_per_target is not None:
        ub[:nx] = np.minimum(ub[:nx], q.max_per_target)
    bounds = Bounds(np.zeros(nv), ub)
    rows_w = coo_array((np.ones(nx), (pi, np.arange(nx))), shape=(w, nv)).tocsr()
    cons = [LinearConstraint(rows_w, -np.inf, q.counts.astype(np.float64))]
    if q.max_per_target is not None:
        rows_t = coo_array((np.ones(nx), (pj, np.arange(nx))), shape=(t, nv)).tocsr()
        cons.append(LinearConstraint(rows_t, -np.inf, float(q.max_per_target)))

    cut_rows: list[csr_array] = []
    cut_lb: list[F64] = []
    cut_at: list[F64] = []  # (T,) tangent points of each add_cuts call, NaN where none

    def add_cuts(s0: F64, which: I64) -> None:
        # z_j + V e^{-s0} sum_i a_ij x_ij >= V e^{-s0} (1 + s0), for targets `which`.
        # A tangent already in the model is skipped: HiGHS's presolve fails
        # ("Solve error") on some models with duplicated rows.
        if cut_at:
            seen = np.vstack(cut_at)[:, which]
            dup = (np.abs(seen - s0[None, :]) <= 1e-9 * (1.0 + np.abs(s0))[None, :]).any(axis=0)
            which, s0 = which[~dup], s0[~dup]
        if which.size == 0:
            return
        pts = np.full(t, np.nan)
        pts[which] = s0
        cut_at.append(pts)
        ve = q.values[which] * np.exp(-s0)
        sel = np.isin(pj, which)
        pos = np.searchsorted(which, pj[sel])
        r = np.r_[pos, np.arange(which.size)]
        col = np.r_[np.flatnonzero(sel), nx + which]
        val = np.r_[ve[pos] * a[pi[sel], pj[sel]], np.ones(which.size)]
        cut_rows.append(coo_array((val, (r, col)), shape=(which.size, nv)).tocsr())
        cut_lb.append(ve * (1.0 + s0))

    targets = np.arange(t)
    usable = q.pk > 0.0
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
    # Tangents at the incumbent make the first MILP exact around it.
    add_cuts((a * np.minimum(best_x, q.counts[:, None])).sum(axis=0), targets)
    lower = -np.inf
    status = "time_limit"
    while True:
        left = deadline - time.perf_counter() - _EXACT_MARGIN_S
        if left <= 0.0:
            break
        A = vstack(cut_rows).tocsr()
        lb = np.concatenate(cut_lb)
        model = _Milp(c, integrality, bounds, [*cons, LinearConstraint(A, lb, np.inf)])
        res = _run_milp(model, {"time_limit": left, "mip_rel_gap": rel_tol / 4}, left)
        left = deadline - time.perf_counter() - _EXACT_MARGIN_S
        if res.status == 4 and left > 0.0:
            # HiGHS "Solve error": once more without presolve, where it has failed.
            opts = {"time_limit": left, "mip_rel_gap": rel_tol / 4, "presolve": False}
            res = _run_milp(model, opts, left)
        bound = res.bound
        if res.status == 0 and res.fun is not None:
            lower = max(lower, res.fun if bound is None else min(bound, res.fun))
        elif bound is not None and np.isfinite(bound):
            lower = max(lower, float(bound))
        if res.x is None:
            status = "time_limit" if res.status == 1 else "solver_error"
            break
        x = np.zeros((w, t), dtype=np.int64)
        np.add.at(x, (pi, pj), np.rint(res.x[:nx]).astype(np.int64))
        f = objective(q, x)
        if f < best:
            best, best_x = f, x
        if best - lower <= rel_tol * max(abs(best), 1.0):
            status = "optimal"
            break
        if res.status != 0:
            status = "time_limit" if res.status == 1 else "solver_error"
            break
        s = (a * x).sum(axis=0)
        z = res.x[nx:]
        under = np.flatnonzero(z < q.values * np.exp(-s) * (1.0 - 1e-12) - 1e-12)
        if under.size == 0:
            # The MILP optimum is exact on its own cuts yet above the bound: the
            # HiGHS gap tolerance; accept its bound.
            ok = best - lower <= 4.0 * rel_tol * max(abs(best), 1.0)
            status = "optimal" if ok else "tolerance"
            break
        add_cuts(s[under], under)
    _check_feasible(p, best_x)
    return WtaResult(
        best_x,
        best,
        float(min(lower, best)) if np.isfinite(lower) else None,
        status == "optimal",
        "exact",
        time.perf_counter() - t0,
        status,
    )


# ----------------------------------------------------------------------------- auto

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
    if left <= _EXACT_MARGIN_S:
        return replace(heur, status="time_limit", seconds=time.perf_counter() - t0)
    ex = solve_exact(p, left, incumbent=heur.x)
    return replace(ex, solver="auto(exact)", seconds=time.perf_counter() - t0)
