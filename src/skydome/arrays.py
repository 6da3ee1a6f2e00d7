"""Operations on flat arrays and on struct-of-arrays dataclasses.

Grouped operations are used where a loop over groups would be slow; `take_rows`
and `concat_rows` select and stack the entity rows of any frozen dataclass whose
fields are (N, ...) arrays (nested such dataclasses included; other fields, such
as flags, are kept from the first).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "F64",
    "I64",
    "concat_rows",
    "grouped_cumsum",
    "rank_within_groups",
    "rep_key",
    "rep_offsets",
    "take_rows",
]

F64 = NDArray[np.float64]
"""A float64 array (the one definition of this alias)."""
I64 = NDArray[np.int64]
"""An int64 array (the one definition of this alias)."""
T = TypeVar("T")


def rep_offsets(rep: I64, n_reps: int) -> I64:
    """(R + 1,) where each replication's block starts in a table sorted by replication.

    Rows `rep_offsets(rep, R)[k]` up to `[k + 1]` are replication k's (batched
    replications, `skydome.engine.batch_step`).
    """
    out: I64 = np.searchsorted(rep, np.arange(n_reps + 1)).astype(np.int64)
    return out


def rep_key(rep: I64, ids: I64) -> I64:
    """One int64 key per (replication, local id) pair: ids of two replications never meet.

    Ids must be below 2**40 (track, missile and threat ids of a run are far below).
    """
    out: I64 = rep.astype(np.int64) * (1 << 40) + ids
    return out


def take_rows(obj: T, sel: NDArray[np.bool_] | I64) -> T:
    """The rows `sel` (mask or indices) of every array field of a dataclass."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray):
            changes[f.name] = v[sel]
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            changes[f.name] = take_rows(v, sel)
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]


def concat_rows(a: T, b: T) -> T:
    """The rows of `a` followed by those of `b`, field by field."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(a):  # type: ignore[arg-type]
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            changes[f.name] = np.concatenate([x, y])
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            changes[f.name] = concat_rows(x, y)
    return dataclasses.replace(a, **changes)  # type: ignore[type-var]


def find_ids(ids: I64, query: I64) -> tuple[NDArray[np.bool_], I64]:
    """Where each id of `query` sits in `ids` (unique ids, in any order).

    Returns:
        (Q,) whether it is there, and (Q,) its row in `ids` (0 where it is not).
    """
    q = query.shape[0]
    if ids.shape[0] == 0 or q == 0:
        return np.zeros(q, dtype=bool), np.zeros(q, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    row = order[np.minimum(np.searchsorted(ids, query, sorter=order), ids.shape[0] - 1)]
    found: NDArray[np.bool_] = ids[row] == query
    return found, np.where(found, row, 0).astype(np.int64)


def _group_starts(sorted_keys: I64) -> I64:
    """Index of the first element of each run of equal keys in a sorted array."""
    # np.concatenate rather than np.r_, whose Python-level parsing costs more
    # than the work on the short arrays the engine groups.
    inner = (sorted_keys[1:] != sorted_keys[:-1]).nonzero()[0] + 1
    starts: I64 = np.concatenate((np.zeros(1, dtype=np.int64), inner.astype(np.int64)))
    return starts


def rank_within_groups(keys: I64) -> I64:
    """Position of each element among the earlier elements with the same key.

    Example: keys [5, 3, 5, 5, 3] -> [0, 0, 1, 2, 1].
    """
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    start = _group_starts(sk)
    first = np.repeat(start, np.diff(np.concatenate((start, [sk.size]))))
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
    offset = np.repeat(cs[start] - v[start], np.diff(np.concatenate((start, [keys.size]))))
    out = np.empty_like(values)
    out[order] = cs - offset
    return out
