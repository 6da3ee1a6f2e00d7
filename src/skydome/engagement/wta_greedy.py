"""Greedy weapon-target assignment, priority first, cheapest adequate weapon.

Threats are served strictly in priority order; each takes the cheapest
feasible option (battery, missile type) still available -- so long-range
missiles are kept for threats only they can reach -- subject to the option's
inventory and the battery's target and missile channels. The result is exactly
that of serving threats one at a time, but computed in vectorised rounds: in a
round every unserved threat bids for its best option under the current
capacities, and the longest prefix of bids (in priority order) whose
cumulative demand fits is accepted at once. The first bid that does not fit
has just exhausted an option or a battery, which is struck for everyone; so
there are at most (options + batteries + 1) rounds, whatever the number of
threats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, rank_within_groups

__all__ = ["GreedyAssignment", "greedy_assign", "rank_within_groups"]

B = NDArray[np.bool_]


@dataclass(frozen=True)
class GreedyAssignment:
    """Result: `option[i]` is the option index given to threat i, or -1."""

    option: I64


def greedy_assign(
    priority_order: I64,
    feasible: B,
    preference: F64,
    option_battery: I64,
    option_inventory: I64,
    target_channels_free: I64,
    missile_channels_free: I64,
    salvo_size: int,
) -> GreedyAssignment:
    """Assign at most one option per threat.

    Args:
        priority_order: (K,) threat row indices, most urgent first; rows not
            listed are not engaged.
        feasible: (N, O) whether option o can engage threat row n.
        preference: (N, O) lower is better (e.g. cost, then intercept time).
        option_battery: (O,) battery of each option.
        option_inventory: (O,) missiles available for each option.
        target_channels_free: (B,) targets each battery can still take on.
        missile_channels_free: (B,) missiles each battery can still guide.
        salvo_size: missiles per engagement.

    Returns:
        The assignment, `option` of shape (N,).
    """
    n, n_opt = feasible.shape
    choice = np.full(n, -1, dtype=np.int64)
    inv = option_inventory.astype(np.int64).copy()
    tch = target_channels_free.astype(np.int64).copy()
    mch = missile_channels_free.astype(np.int64).copy()
    pending = priority_order.astype(np.int64)
    while pending.size:
        usable = (
            (inv >= salvo_size) & (tch[option_battery] >= 1) & (mch[option_battery] >= salvo_size)
        )
        pref = np.where(feasible[pending] & usable[None, :], preference[pending], np.inf)
        pick = np.argmin(pref, axis=1)
        has = np.isfinite(pref[np.arange(pending.size), pick])
        # Capacities only shrink: a threat with nothing usable now never gets anything.
        pending, pick = pending[has], pick[has]
        if pending.size == 0:
            break
        bat = option_battery[pick]
        r_opt = rank_within_groups(pick) + 1
        r_bat = rank_within_groups(bat) + 1
        fits = (
            (r_opt * salvo_size <= inv[pick])
            & (r_bat <= tch[bat])
            & (r_bat * salvo_size <= mch[bat])
        )
        stop = int(np.argmin(fits)) if not fits.all() else pending.size
        won, wp = pending[:stop], pick[:stop]
        choice[won] = wp
        inv -= salvo_size * np.bincount(wp, minlength=n_opt)
        nb = np.bincount(option_battery[wp], minlength=tch.size)
        tch -= nb
        mch -= salvo_size * nb
        pending = pending[stop:]
    return GreedyAssignment(option=choice)
