"""Compiled marginal-return greedy for the engine's small WTA instances (numba).

The lookahead planner solves a few hundred assignments per run, each of 4-12
weapon rows and 10-100 targets; the numpy form of the greedy
(`wta_heuristic._mmr_greedy`) spends ~20 us of call overhead per weapon placed.
This is the same algorithm, statement for statement -- the same cached best
target per row, the same tie rules (first maximum; a column that only equals a
row's best does not take it over) and the same floating-point operations -- so
its plans are identical (`tests/test_wta.py` compares them). Importing this
module imports numba; `wta_heuristic` does so on first use only.
"""

from __future__ import annotations

import numba
import numpy as np

from skydome.arrays import F64, I64

__all__ = ["local_search_kernel", "mmr_greedy_kernel"]


@numba.njit(cache=True, error_model="numpy")
def mmr_greedy_kernel(pk: F64, values: F64, counts: I64, cost: F64, cap: I64) -> I64:
    """Maximum marginal return to the end (no deadline: callers bound the size).

    Args:
        pk: (W, T) kill probabilities.
        values: (T,) target values.
        counts: (W,) weapons per row.
        cost: (W,) cost per weapon.
        cap: (T,) weapons each target may still take (modified: pass a copy).

    Returns:
        (W, T) weapons of each row on each target.
    """
    w, t = pk.shape
    x = np.zeros((w, t), dtype=np.int64)
    left = counts.copy()
    wv = values.copy()
    gain = np.empty((w, t))
    for i in range(w):
        for j in range(t):
            gain[i, j] = -np.inf if cap[j] <= 0 else pk[i, j] * wv[j] - cost[i]
    best_t = np.zeros(w, dtype=np.int64)
    best_g = np.empty(w)
    for i in range(w):
        k = 0
        for j in range(1, t):
            if gain[i, j] > gain[i, k]:
                k = j
        best_t[i] = k
        best_g[i] = gain[i, k] if left[i] > 0 else -np.inf
    col = np.empty(w)
    while True:
        i = 0
        for r in range(1, w):
            if best_g[r] > best_g[i]:
                i = r
        if not best_g[i] > 0.0:
            break
        j = best_t[i]
        x[i, j] += 1
        left[i] -= 1
        wv[j] *= 1.0 - pk[i, j]
        cap[j] -= 1
        for r in range(w):
            col[r] = pk[r, j] * wv[j] - cost[r] if cap[j] > 0 else -np.inf
            gain[r, j] = col[r]
        for r in range(w):
            if best_t[r] == j:
                k = 0
                for c in range(1, t):
                    if gain[r, c] > gain[r, k]:
                        k = c
                best_t[r] = k
                best_g[r] = gain[r, k]
        for r in range(w):
            if col[r] > best_g[r]:
                best_t[r] = j
                best_g[r] = col[r]
            if left[r] <= 0:
                best_g[r] = -np.inf
    return x


@numba.njit(cache=True, error_model="numpy")
def local_search_kernel(
    pk: F64,
    values: F64,
    counts: I64,
    cost: F64,
    cap: I64,
    x0: I64,
    swap_max_cells: int,
    max_iter: int,
) -> tuple[I64, bool]:
    """`wta_heuristic._local_search` compiled: best move, else best swap, to a local optimum.

    The same state (a virtual target T holds the unfired weapons), the same
    quantities summed in the same order and the same tie rules (first minimum
    in row-major order; per row the lowest take-off change, the earlier cell on
    a tie), so the same moves in the same sequence.

    Args:
        pk: (W, T) kill probabilities.
        values: (T,) target values.
        counts: (W,) weapons per row.
        cost: (W,) cost per weapon.
        cap: (T,) most weapons per target (negative: no caps at all).
        x0: (W, T) the start.
        swap_max_cells: above this many occupied cells no swaps are evaluated.
        max_iter: at most this many moves (the loop is bounded).

    Returns:
        (x, converged): the plan, and False if `max_iter` stopped it.
    """
    w, t = pk.shape
    x = np.zeros((w, t + 1), dtype=np.int64)
    q = np.ones((w, t + 1))
    for i in range(w):
        s = 0
        for j in range(t):
            x[i, j] = x0[i, j]
            s += x0[i, j]
            q[i, j] = max(1.0 - pk[i, j], 1e-12)
        x[i, t] = counts[i] - s
    logq = np.log(q)
    vals = np.zeros(t + 1)
    vals[:t] = values
    real = np.zeros(t + 1)
    real[:t] = 1.0
    capped = cap.shape[0] > 0 and cap[0] >= 0
    total = 0.0
    for j in range(t + 1):
        total += vals[j]
    eps = 1e-12 * max(total, 1.0)
    n_max = w * (t + 1)
    ci = np.empty(n_max, dtype=np.int64)
    ca = np.empty(n_max, dtype=np.int64)
    logs = np.empty(t + 1)
    a = np.empty(t + 1)
    load = np.empty(t + 1)
    for _ in range(max_iter):
        n_cells = 0
        for i in range(w):
            for j in range(t + 1):
                if x[i, j] != 0:
                    ci[n_cells] = i
                    ca[n_cells] = j
                    n_cells += 1
        logs[:] = 0.0
        load[:] = 0.0
        for u in range(n_cells):
            logs[ca[u]] += x[ci[u], ca[u]] * logq[ci[u], ca[u]]
            load[ca[u]] += x[ci[u], ca[u]] * real[ca[u]]
        for j in range(t + 1):
            a[j] = vals[j] * np.exp(logs[j])
        adu = np.empty(n_cells)
        lu = np.empty(n_cells)
        for u in range(n_cells):
            i, j = ci[u], ca[u]
            adu[u] = vals[j] * np.exp(logs[j] - logq[i, j])
            lu[u] = adu[u] - a[j] - cost[i] * real[j]
        # Per row the two best cells to take from (cells come grouped by row).
        a1 = np.full(w, t)
        l1 = np.full(w, np.inf)
        a2 = np.full(w, t)
        l2 = np.full(w, np.inf)
        has1 = np.zeros(w, dtype=np.bool_)
        has2 = np.zeros(w, dtype=np.bool_)
        for u in range(n_cells):
            i = ci[u]
            if not has1[i] or lu[u] < l1[i]:
                if has1[i]:
                    a2[i], l2[i], has2[i] = a1[i], l1[i], True
                a1[i], l1[i], has1[i] = ca[u], lu[u], True
            elif not has2[i] or lu[u] < l2[i]:
                a2[i], l2[i], has2[i] = ca[u], lu[u], True
        best_move = np.inf
        im = 0
        src_m = 0
        dst_m = 0
        for i in range(w):
            # The two smallest additions D_ib (first minimum on ties).
            b1 = 0
            d1 = np.inf
            b2 = 0
            d2 = np.inf
            first = True
            for b in range(t + 1):
                d = a[b] * (q[i, b] - 1.0) + cost[i] * real[b]
                if capped and b < t and load[b] >= cap[b]:
                    d = np.inf
                if first or d < d1:
                    if not first:
                        b2, d2 = b1, d1
                    b1, d1 = b, d
                    first = False
                elif d < d2:
                    b2, d2 = b, d
            if a1[i] == b1:
                alt = l1[i] + d2 <= l2[i] + d1
                mv = l1[i] + d2 if alt else l2[i] + d1
                src = a1[i] if alt else a2[i]
                dst = b2 if alt else b1
            else:
                mv = l1[i] + d1
                src = a1[i]
                dst = b1
            if not np.isfinite(mv):
                mv = np.inf
            if mv < best_move or (i == 0 and mv == best_move):
                best_move, im, src_m, dst_m = mv, i, src, dst
        best_swap = np.inf
        su = 0
        sv = 0
        if best_move >= -eps and 1 < n_cells <= swap_max_cells:
            first_sw = True
            for u in range(n_cells):
                iu, ju = ci[u], ca[u]
                ru_u = -a[ju] - cost[iu] * real[ju]
                for v in range(n_cells):
                    iv, jv = ci[v], ca[v]
                    if ju == jv or iu == iv:
                        val = np.inf
                    else:
                        ru_v = -a[jv] - cost[iv] * real[jv]
                        val = adu[u] * q[iv, ju]
                        val += q[iu, jv] * adu[v]
                        val += cost[iu] * real[jv]
                        val += real[ju] * cost[iv]
                        val += ru_u
                        val += ru_v
                    if first_sw or val < best_swap:
                        best_swap, su, sv = val, u, v
                        first_sw = False
        if min(best_move, best_swap) >= -eps:
            return x[:, :t].copy(), True
        if best_move <= best_swap:
            x[im, src_m] -= 1
            x[im, dst_m] += 1
        else:
            i, k, ta, tb = ci[su], ci[sv], ca[su], ca[sv]
            x[i, ta] -= 1
            x[i, tb] += 1
            x[k, tb] -= 1
            x[k, ta] += 1
    return x[:, :t].copy(), False
