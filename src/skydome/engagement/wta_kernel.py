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

__all__ = ["mmr_greedy_kernel"]


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
