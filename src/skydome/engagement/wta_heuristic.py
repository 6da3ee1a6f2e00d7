"""WTA heuristic: marginal-return greedy and layered assignment, improved by local search.

`solve_heuristic` builds two plans -- the maximum-marginal-return greedy (den
Broeder et al. 1959) and layers of one-weapon-per-target assignments -- and
improves each by local search over single-weapon moves and pairwise swaps of
(weapon type, target) cells; the best of the four is returned, so it is never
worse than the greedy. Every loop checks the deadline.
"""

from __future__ import annotations

import itertools
import sys
import time
from types import ModuleType

import numpy as np
from scipy.optimize import linear_sum_assignment

from skydome.arrays import F64, I64
from skydome.engagement.wta_problem import (
    WtaProblem,
    WtaResult,
    _capped,
    _check_feasible,
    objective,
    target_caps,
)

__all__ = ["solve_heuristic", "warm_kernels"]

_SWAP_MAX_CELLS = 3000
"""Above this many occupied (row, target) cells the C x C swap neighbourhood is skipped."""

_LSA_BLOCK = 512
"""Targets per assignment in a layer above `_LSA_FULL` (each a dense `linear_sum_assignment`)."""

_LSA_FULL = 1024
"""Up to this many targets a layer is one optimal assignment; above, blocks of `_LSA_BLOCK`."""

_LSA_S_PER_OP = 2e-10
"""Seconds per unit of n m min(n, m) of a dense assignment, a floor for its duration
(measured ~4e-10 on 1500 x 1000 on the development host)."""

_LSA_MAX_CELLS = 2_000_000
"""Rows x columns of one layer assignment at most (unit copies per type are limited to fit)."""


_KERNEL_MAX_CELLS = 20_000
"""Up to this many (row, target) cells the greedy runs compiled (`wta_kernel`)..."""

_KERNEL_MAX_WEAPONS = 2_000
"""... with at most this many weapons: at most ~4e7 operations, ~40 ms, so no deadline check."""

_KERNEL_MAX_ITER = 100_000
"""The compiled local search's bound on moves (each strictly improves; never reached at
the sizes it runs: ~10 moves from the engine's starts)."""


_KERNEL_LOAD_S = 2.0
"""Budget left below which cold kernels are not loaded inside a solve (importing numba and
loading, or on a fresh checkout compiling, the kernels takes 0.3 s to a few seconds)."""


def _kernels(deadline: float) -> ModuleType | None:
    """The compiled kernels (`wta_kernel`) if loaded, or if the deadline leaves time to load."""
    mod = sys.modules.get("skydome.engagement.wta_kernel")
    if mod is None and deadline - time.perf_counter() >= _KERNEL_LOAD_S:
        mod = warm_kernels()
    return mod


def warm_kernels() -> ModuleType:
    """Import (numba) and load the compiled kernels now: call outside any solve's deadline.

    The engine's planners do so when the pipeline is built, so their solves
    never pay the load; their plans do not depend on it (the kernels' plans
    are the numpy forms', `tests/test_wta.py`).
    """
    from skydome.engagement import wta_kernel

    one = np.ones((1, 1))
    x = wta_kernel.mmr_greedy_kernel(one * 0.5, np.ones(1), np.ones(1, np.int64), np.zeros(1),
                                     np.ones(1, np.int64))  # fmt: skip
    wta_kernel.local_search_kernel(one * 0.5, np.ones(1), np.ones(1, np.int64), np.zeros(1),
                                   np.full(1, -1, np.int64), x, 16, 8)  # fmt: skip
    return wta_kernel


def _mmr_greedy(p: WtaProblem, deadline: float = np.inf) -> tuple[I64, bool]:
    """Maximum marginal return: repeatedly fire the weapon with the largest net gain.

    A weapon of row i on target j gains V_j S_j p_ij - c_i, where S_j is the
    target's current survival. Assigning to j only lowers column j, so only rows
    whose best target was j need their best recomputed. One weapon per
    iteration (at most sum of counts, capped by `useful_counts` upstream); the
    deadline is checked every 32 iterations and the plan so far returned -- every
    weapon in it had a positive gain, so it is feasible and better than none.
    Small instances (the engine's) run the same algorithm compiled
    (`wta_kernel.mmr_greedy_kernel`, identical plans) to the end.

    Returns:
        (x, finished): the plan, and False if the deadline cut it short.
    """
    w, t = p.n_weapons, p.n_targets
    x = np.zeros((w, t), dtype=np.int64)
    if w == 0 or t == 0:
        return x, True
    left = p.counts.astype(np.int64).copy()
    caps = target_caps(p)
    cap = np.full(t, np.iinfo(np.int64).max) if caps is None else caps.astype(np.int64)
    kern = _kernels(deadline) if w * t <= _KERNEL_MAX_CELLS else None
    if kern is not None and int(left.sum()) <= _KERNEL_MAX_WEAPONS:
        pk = np.ascontiguousarray(p.pk, dtype=np.float64)
        vals = p.values.astype(np.float64)
        return kern.mmr_greedy_kernel(pk, vals, left, p.cost.astype(np.float64), cap.copy()), True
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
    caps = target_caps(p)
    cap = np.full(t, np.iinfo(np.int64).max) if caps is None else caps
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
            if np.isfinite(deadline):
                # The first assignment has no measured duration: estimate it
                # (O(n m min(n, m)) shortest augmenting paths), so a short
                # budget does not start a 1500 x 1000 assignment.
                est = _LSA_S_PER_OP * rows.size * cols.size * min(rows.size, cols.size)
                if now + max(step_s, est) >= deadline:
                    return x, False
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
    says cannot finish by the deadline. Small instances (the engine's) run the
    same search compiled (`wta_kernel.local_search_kernel`) to its optimum.

    Returns:
        (x, converged): the improved plan, and False if the deadline stopped it.
    """
    w, t = p.n_weapons, p.n_targets
    if w == 0 or t == 0:
        return x0, True
    if time.perf_counter() >= deadline:  # no first iteration past the deadline
        return x0, False
    kern = _kernels(deadline) if w * (t + 1) <= _KERNEL_MAX_CELLS else None
    if kern is not None and int(p.counts.sum()) <= _KERNEL_MAX_WEAPONS:
        caps = target_caps(p)
        out: tuple[I64, bool] = kern.local_search_kernel(
            np.ascontiguousarray(p.pk, dtype=np.float64),
            p.values.astype(np.float64),
            p.counts.astype(np.int64),
            p.cost.astype(np.float64),
            np.full(1, -1, dtype=np.int64) if caps is None else caps.astype(np.int64),
            np.ascontiguousarray(x0, dtype=np.int64),
            _SWAP_MAX_CELLS,
            _KERNEL_MAX_ITER,
        )
        return out
    x = np.hstack([x0, (p.counts - x0.sum(axis=1))[:, None]])  # (W, T+1)
    # q floored so a certain kill (p = 1) stays invertible; F(x) is recomputed exactly.
    q = np.hstack([np.maximum(1.0 - p.pk, 1e-12), np.ones((w, 1))])  # (W, T+1)
    logq = np.log(q)
    vals = np.r_[p.values, 0.0]
    real = np.r_[np.ones(t), 0.0]  # 1 for a real target, 0 for the virtual one
    cost_real = p.cost[:, None] * real[None, :]
    d_base = q - 1.0
    caps = target_caps(p)
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
        if caps is not None:
            load = np.bincount(ca, weights=n_c * real[ca], minlength=t + 1)
            D[:, np.r_[load[:t] >= caps, False]] = np.inf
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


def solve_heuristic(
    p: WtaProblem, time_limit_s: float = 0.5, *, counts_capped: bool = False
) -> WtaResult:
    """Construct two ways, improve each by local search, return the best of the four.

    The greedy runs first (it is the baseline the result never falls below),
    then the layered construction, then local search from each with an equal
    share of what is left. Every stage checks the deadline, so the call returns
    within the budget plus one assignment or one local-search iteration.
    Counts are capped by `useful_counts` first (`counts_capped`: the caller
    already did -- it costs O(W T) logarithms, a quarter second at 500 x 1000).

    Returns:
        status ``local_optimum`` if every stage finished, ``time_limit`` if not.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    q = p if counts_capped else _capped(p)
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
