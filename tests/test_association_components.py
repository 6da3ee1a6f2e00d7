"""The GNN's cluster search (`association._components`) against scipy's connected components.

The oracle is `scipy.sparse.csgraph.connected_components` on the same bipartite
graph (rows numbered first): the partition and the numbering (by smallest row)
must be the same, so the matching solved per cluster is the same.
"""

from __future__ import annotations

import numpy as np
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from skydome.tracking.association import _components


def _oracle(r_loc: np.ndarray, c_loc: np.ndarray, nr: int, nc: int) -> tuple[int, np.ndarray]:
    g = csr_matrix((np.ones(r_loc.size), (r_loc, nr + c_loc)), shape=(nr + nc, nr + nc))
    n, lab = connected_components(g, directed=False)
    return int(n), np.asarray(lab, dtype=np.int64)


def _check(rows: np.ndarray, cols: np.ndarray) -> None:
    ur, r_loc = np.unique(rows, return_inverse=True)
    uc, c_loc = np.unique(cols, return_inverse=True)
    n, lab = _oracle(r_loc, c_loc, ur.size, uc.size)
    n2, row_lab, col_lab = _components(r_loc, c_loc, ur.size, uc.size)
    assert n2 == n
    np.testing.assert_array_equal(row_lab, lab[: ur.size])
    np.testing.assert_array_equal(col_lab, lab[ur.size :])


@settings(
    max_examples=300, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate]
)
@given(
    edges=st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=120, unique=True
    )
)
def test_components_match_scipy(edges: list[tuple[int, int]]) -> None:
    """Random sparse bipartite graphs: the same components, numbered the same."""
    e = np.array(edges, dtype=np.int64)
    _check(e[:, 0], e[:, 1])


@settings(max_examples=50, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate])
@given(k=st.integers(1, 200), seed=st.integers(0, 2**31 - 1))
def test_components_long_chain(k: int, seed: int) -> None:
    """A chain r0-c0-r1-c1-... with shuffled row numbers: one component, found
    however far the smallest row is from the rest (the worst case of label
    propagation)."""
    perm = np.random.default_rng(seed).permutation(k)
    rows = perm[np.r_[np.arange(k), np.arange(1, k)]]
    cols = np.r_[np.arange(k), np.arange(k - 1)]
    _check(rows, cols)
    _, row_lab, _ = _components(*_locs(rows, cols))
    assert np.all(row_lab == 0)


def _locs(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    ur, r_loc = np.unique(rows, return_inverse=True)
    uc, c_loc = np.unique(cols, return_inverse=True)
    return r_loc, c_loc, ur.size, uc.size
