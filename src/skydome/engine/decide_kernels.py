"""Compiled kernels of the batched decision cycle (numba): greedy plans and launch slots.

Both are the single-replication algorithms statement for statement, looped over
replications (or launch groups) inside one compiled call:

* `greedy_kernel` -- `wta_greedy.greedy_assign` (the `GreedyPlanner`) for every
  replication: threats served one at a time in priority order, each taking its
  cheapest usable option (first index among equal preferences), which is what
  the vectorised rounds of `greedy_assign` compute;
* `slots_kernel` -- `launchers.allocate_slots` over every (battery, type) group:
  a group's missiles take its k earliest slots, ties by launcher then slot
  index (the `lexsort((j, lid, t_slot))` of the numpy form), as a k-way merge of
  the launchers' slot sequences, each ascending in time.

Importing this module imports numba.
"""

from __future__ import annotations

import numba
import numpy as np

from skydome.arrays import F64, I64

__all__ = ["greedy_kernel", "slots_kernel"]


@numba.njit(cache=True)
def greedy_kernel(
    order: I64,
    cut: I64,
    feasible: np.ndarray,
    preference: F64,
    option_battery: I64,
    inventory: I64,
    target_channels: I64,
    missile_channels: I64,
    salvo_size: int,
) -> I64:
    """`greedy_assign` of every replication (R), one option or -1 per candidate row.

    Args:
        order: (N,) candidate rows, replication blocks in order, most urgent first
            within each block.
        cut: (R + 1,) block k of `order` is `order[cut[k]:cut[k + 1]]`.
        feasible: (N, O) bool, option o can engage row n.
        preference: (N, O) lower is better.
        option_battery: (O,) local battery of each option.
        inventory: (R, O) missiles of each option, per replication.
        target_channels: (R, B) free target channels.
        missile_channels: (R, B) free missile channels.
        salvo_size: missiles per engagement.

    Returns:
        (N,) the option given to each row, -1: none.
    """
    n, n_opt = preference.shape
    n_reps = cut.shape[0] - 1
    choice = np.full(n, -1, dtype=np.int64)
    for k in range(n_reps):
        inv = inventory[k].copy()
        tch = target_channels[k].copy()
        mch = missile_channels[k].copy()
        for q in range(cut[k], cut[k + 1]):
            i = order[q]
            best = np.inf
            pick = -1
            for o in range(n_opt):
                b = option_battery[o]
                if (
                    not (feasible[i, o] and inv[o] >= salvo_size and tch[b] >= 1)
                    or mch[b] < salvo_size
                ):
                    continue
                v = preference[i, o]
                if np.isnan(v):  # np.argmin stops at a nan: nothing for this row
                    pick = -1
                    best = np.inf
                    break
                if v < best:
                    best = v
                    pick = o
            if pick < 0 or not np.isfinite(best):
                continue
            choice[i] = pick
            inv[pick] -= salvo_size
            b = option_battery[pick]
            tch[b] -= 1
            mch[b] -= salvo_size
    return choice


@numba.njit(cache=True)
def slots_kernel(
    group_order: I64,
    group_cut: I64,
    battery: I64,
    mtype: I64,
    earliest_s: F64,
    launcher_cut: I64,
    stock: I64,
    ready_s: F64,
    interval_s: F64,
) -> tuple[I64, F64]:
    """`allocate_slots` over every (battery, type) group at once.

    Args:
        group_order: (K,) missile rows sorted (stably) by group key battery * M + type.
        group_cut: (G + 1,) group j is `group_order[group_cut[j]:group_cut[j + 1]]`.
        battery: (K,) battery of each missile (global: rep * B + b).
        mtype: (K,) type of each missile.
        earliest_s: (K,) earliest launch time.
        launcher_cut: (RB + 1,) launchers of battery g are rows
            `launcher_cut[g]:launcher_cut[g + 1]` (launchers sorted by battery).
        stock: (L, M) missiles on each launcher (modified: pass a copy).
        ready_s: (L,) next launch time of each launcher (modified: pass a copy).
        interval_s: (RB,) launch interval of each battery.

    Returns:
        (launcher, t_launch_s), each (K,); -1 and inf where no slot exists.
    """
    k_all = battery.shape[0]
    launcher = np.full(k_all, -1, dtype=np.int64)
    t_launch = np.full(k_all, np.inf)
    for gi in range(group_cut.shape[0] - 1):
        lo, hi = group_cut[gi], group_cut[gi + 1]
        first = group_order[lo]
        gb, gm = battery[first], mtype[first]
        e = earliest_s[first]
        for q in range(lo + 1, hi):
            e = min(e, earliest_s[group_order[q]])
        dt = interval_s[gb]
        l0, l1 = launcher_cut[gb], launcher_cut[gb + 1]
        n_l = l1 - l0
        base = np.empty(n_l)
        used = np.zeros(n_l, dtype=np.int64)
        left = np.zeros(n_l, dtype=np.int64)
        for a in range(n_l):
            left[a] = stock[l0 + a, gm]
            base[a] = max(ready_s[l0 + a], e)
        last = np.full(n_l, -np.inf)
        for q in range(lo, hi):
            best = np.inf
            pick = -1
            for a in range(n_l):
                if used[a] < left[a]:
                    ts = base[a] + dt * used[a]
                    if pick < 0 or ts < best:
                        best = ts
                        pick = a
            if pick < 0:
                break
            row = group_order[q]
            launcher[row] = l0 + pick
            t_launch[row] = best
            used[pick] += 1
            last[pick] = max(last[pick], best)
        for a in range(n_l):
            if used[a] > 0:
                stock[l0 + a, gm] -= used[a]
                if np.isfinite(last[a]):
                    ready_s[l0 + a] = max(ready_s[l0 + a], last[a] + dt)
    return launcher, t_launch
