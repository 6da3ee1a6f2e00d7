"""Assignment on sparse, clustered problems, and global-nearest-neighbour association.

`min_weight_matching` solves min sum w_ij over one-to-one matchings of a sparse
bipartite graph (unmatched rows and columns cost nothing, so only pairs with
w_ij < 0 are ever worth taking). The graph falls apart into independent
clusters (connected components by min-label propagation, `_components`), and
each is solved on its own, in bulk:

- an isolated pair, or a cluster with one row or one column: its cheapest
  edge (a vectorised group-minimum over all such clusters at once);
- clusters of up to `MAX_ENUM` rows and columns: every permutation of the
  k x k padded cluster is scored at once for all clusters of that size (k! <= 120
  permutations), with no Python loop over clusters;
- the few larger clusters: `scipy.optimize.linear_sum_assignment` each.

Global nearest neighbour (Blackman & Popoli, *Design and Analysis of Modern
Tracking Systems*, sec. 6.2) assigns as many gated pairs as possible and, among
those assignments, minimises sum d^2 + ln|S|; that ordering is encoded in the
weights, so the same solver serves GNN and the GOSPA metric.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
from scipy.optimize import linear_sum_assignment

from skydome.arrays import F64, I64, rank_within_groups
from skydome.tracking.gating import Gated, gate_pairs, gate_threshold

__all__ = ["MAX_ENUM", "gate_threshold", "gnn_assign", "gnn_associate", "min_weight_matching"]


MAX_ENUM = 5
"""Clusters up to this many rows and columns are solved by enumeration."""


@lru_cache(maxsize=8)
def _perms(k: int) -> I64:
    out = np.array(list(itertools.permutations(range(k))), dtype=np.int64)
    out.setflags(write=False)
    return out


def _first_per_group(groups: I64, key: F64) -> I64:
    """Index of the smallest `key` within each group (ties: first index)."""
    order = np.lexsort((np.arange(groups.size), key, groups))
    g = groups[order]
    head = np.concatenate(([True], g[1:] != g[:-1]))
    out: I64 = order[head]
    return out


def min_weight_matching(
    ri: I64, cj: I64, w: F64, n_rows: int, n_cols: int, max_enum: int = MAX_ENUM
) -> tuple[I64, I64]:
    """Minimum-weight one-to-one matching on a sparse bipartite graph.

    Args:
        ri: (E,) row of each edge (no duplicate (row, column) pairs).
        cj: (E,) column of each edge.
        w: (E,) edge weights; only negative ones can be in the optimum.
        n_rows: number of rows.
        n_cols: number of columns.
        max_enum: largest cluster side solved by enumeration.

    Returns:
        (rows, cols) of the matched pairs, each (K,), sorted by row.
    """
    keep = w < 0.0
    ri, cj, w = ri[keep].astype(np.int64), cj[keep].astype(np.int64), w[keep]
    out_r: list[I64] = []
    out_c: list[I64] = []
    if ri.size:
        deg_r = np.bincount(ri, minlength=n_rows)
        deg_c = np.bincount(cj, minlength=n_cols)
        iso = (deg_r[ri] == 1) & (deg_c[cj] == 1)
        out_r.append(ri[iso])
        out_c.append(cj[iso])
        ri, cj, w = ri[~iso], cj[~iso], w[~iso]
    if ri.size:
        r, c = _solve_clusters(ri, cj, w, max_enum)
        out_r.append(r)
        out_c.append(c)
    if not out_r:
        e = np.zeros(0, dtype=np.int64)
        return e, e
    rows = np.concatenate(out_r)
    cols = np.concatenate(out_c)
    order = np.argsort(rows, kind="stable")
    return rows[order], cols[order]


def _components(r_loc: I64, c_loc: I64, nr: int, nc: int) -> tuple[int, I64, I64]:
    """Connected components of a bipartite graph whose every node has an edge.

    Min-label propagation with pointer jumping: each row's label falls to the
    smallest row index it reaches (rows -> columns -> rows), each round also
    taking its label's label, until nothing changes (a few rounds on clusters
    of a few nodes). Components are numbered by their smallest row, which is
    the order `scipy.sparse.csgraph.connected_components` gives with rows
    numbered first -- without the sparse matrices, whose construction costs
    more than the search at these sizes.

    Args:
        r_loc: (E,) row of each edge, in 0..nr-1.
        c_loc: (E,) column of each edge, in 0..nc-1.
        nr: number of rows.
        nc: number of columns.

    Returns:
        (number of components, (nr,) row labels, (nc,) column labels).
    """
    row = np.arange(nr)
    while True:
        col = np.full(nc, nr)
        np.minimum.at(col, c_loc, row[r_loc])
        new = row.copy()
        np.minimum.at(new, r_loc, col[c_loc])
        new = new[new]
        if np.array_equal(new, row):
            break
        row = new
    roots, row_lab = np.unique(row, return_inverse=True)
    col_lab = np.searchsorted(roots, col)
    return int(roots.size), row_lab.astype(np.int64), col_lab.astype(np.int64)


def _solve_clusters(ri: I64, cj: I64, w: F64, max_enum: int) -> tuple[I64, I64]:
    ur, r_loc = np.unique(ri, return_inverse=True)
    uc, c_loc = np.unique(cj, return_inverse=True)
    n_comp, row_lab, col_lab = _components(r_loc, c_loc, ur.size, uc.size)
    n_r = np.bincount(row_lab, minlength=n_comp)
    n_c = np.bincount(col_lab, minlength=n_comp)
    comp = row_lab[r_loc]  # component of each edge
    out_r: list[I64] = []
    out_c: list[I64] = []

    # One row or one column: the cheapest edge.
    star = np.minimum(n_r, n_c) == 1
    e = np.flatnonzero(star[comp])
    if e.size:
        best = e[_first_per_group(comp[e], w[e])]
        out_r.append(ri[best])
        out_c.append(cj[best])

    # Small clusters: all permutations at once, per cluster size.
    side = np.maximum(n_r, n_c)
    lr = rank_within_groups(row_lab)[r_loc]  # local row of each edge within its cluster
    lc = rank_within_groups(col_lab)[c_loc]
    for k in range(2, max_enum + 1):  # cluster sizes: bounded
        sel = ~star & (side == k)
        if not sel.any():
            continue
        batch = np.full(n_comp, -1, dtype=np.int64)
        batch[sel] = np.arange(int(sel.sum()))
        e = np.flatnonzero(sel[comp])
        b = batch[comp[e]]
        Wb = np.zeros((int(sel.sum()), k, k))
        Wb[b, lr[e], lc[e]] = w[e]
        eid = np.full((Wb.shape[0], k, k), -1, dtype=np.int64)
        eid[b, lr[e], lc[e]] = e
        perms = _perms(k)
        total = Wb[:, np.arange(k), perms].sum(axis=2)  # (B, k!)
        best = perms[np.argmin(total, axis=1)]  # (B, k)
        bi = np.repeat(np.arange(Wb.shape[0]), k)
        li = np.tile(np.arange(k), Wb.shape[0])
        chosen = eid[bi, li, best.reshape(-1)]
        chosen = chosen[chosen >= 0]
        out_r.append(ri[chosen])
        out_c.append(cj[chosen])

    # Large clusters: one dense assignment each (rare).
    big = np.flatnonzero(~star & (side > max_enum))
    if big.size:
        e_all = np.flatnonzero(np.isin(comp, big))
        e_all = e_all[np.argsort(comp[e_all], kind="stable")]
        bounds = np.searchsorted(comp[e_all], big, side="left")
        ends = np.searchsorted(comp[e_all], big, side="right")
        for s, t in zip(bounds.tolist(), ends.tolist(), strict=True):
            e = e_all[s:t]
            W = np.zeros((int(lr[e].max()) + 1, int(lc[e].max()) + 1))
            W[lr[e], lc[e]] = w[e]
            eid2 = np.full(W.shape, -1, dtype=np.int64)
            eid2[lr[e], lc[e]] = e
            a, bb = linear_sum_assignment(W)
            chosen = eid2[a, bb]
            chosen = chosen[chosen >= 0]
            chosen = chosen[w[chosen] < 0.0]
            out_r.append(ri[chosen])
            out_c.append(cj[chosen])
    return np.concatenate(out_r), np.concatenate(out_c)


def gnn_assign(g: Gated, n_tracks: int, n_dets: int) -> Gated:
    """Global nearest neighbour on gated pairs: most pairs, then least sum d^2 + ln|S|.

    Args:
        g: the gated pairs.
        n_tracks: number of tracks (rows).
        n_dets: number of detections (columns).

    Returns:
        The chosen pairs (a subset of `g`), sorted by track.
    """
    if g.n == 0:
        return g
    cost = g.d2 + g.logdet
    hi, lo = float(cost.max()), float(cost.min())
    # Shift every weight below -(1 + big) so that one more pair always outweighs
    # any redistribution of costs among k <= min(n, m) pairs.
    big = (hi - lo + 1.0) * min(n_tracks, n_dets)
    w = cost - hi - 1.0 - big
    # The common scan: no track gates two detections and no detection two tracks
    # (g is sorted by track). Every pair is then its own cluster and is taken
    # when its weight is negative: all of g, as the matching would return it.
    if (
        (w < 0.0).all()
        and (g.track[1:] != g.track[:-1]).all()
        and int(np.bincount(g.det).max()) <= 1
    ):
        return g
    rows, cols = min_weight_matching(g.track, g.det, w, n_tracks, n_dets)
    # Map back to the pair index (g is sorted by track, then detection).
    key = g.track * n_dets + g.det
    idx = np.searchsorted(key, rows * n_dets + cols)
    return Gated(g.track[idx], g.det[idx], g.d2[idx], g.logdet[idx])


def gnn_associate(pred_pos: F64, pred_cov: F64, z: F64, R: F64, gate: float) -> tuple[I64, I64]:
    """Assign detections to tracks one-to-one, within the gate.

    Args:
        pred_pos: (N, 3) predicted track positions.
        pred_cov: (N, 3, 3) their covariances.
        z: (M, 3) detection positions.
        R: (M, 3, 3) detection covariances.
        gate: threshold on the squared Mahalanobis distance.

    Returns:
        (track_idx, det_idx): matched pairs, each (K,).
    """
    g = gnn_assign(gate_pairs(pred_pos, pred_cov, z, R, gate), pred_pos.shape[0], z.shape[0])
    return g.track, g.det
