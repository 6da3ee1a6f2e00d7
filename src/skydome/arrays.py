"""Grouped operations on flat arrays, used where a loop over groups would be slow."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["grouped_cumsum", "rank_within_groups"]

I64 = NDArray[np.int64]


def _group_starts(sorted_keys: I64) -> I64:
    """Index of the first element of each run of equal keys in a sorted array."""
    starts: I64 = np.r_[0, np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1].astype(np.int64)
    return starts


def rank_within_groups(keys: I64) -> I64:
    """Position of each element among the earlier elements with the same key.

    Example: keys [5, 3, 5, 5, 3] -> [0, 0, 1, 2, 1].
    """
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    start = _group_starts(sk)
    first = np.repeat(start, np.diff(np.r_[start, sk.size]))
    rank = np.empty_like(keys)
    rank[order] = np.arange(sk.size) - first
    return rank


def grouped_cumsum(keys: I64, values: I64) -> I64:
    """Running total of `values` among the elements sharing each key, in order.

    Example: keys [1, 2, 1], values [3, 4, 5] -> [3, 4, 8].
    """
    if keys.size == 0:
        return values.copy()
    order = np.argsort(keys, kind="stable")
    v = values[order]
    cs = np.cumsum(v)
    start = _group_starts(keys[order])
    offset = np.repeat(cs[start] - v[start], np.diff(np.r_[start, keys.size]))
    out = np.empty_like(values)
    out[order] = cs - offset
    return out
