"""Tracking metrics on plain arrays and on truth/track tables.

- **GOSPA** (Rahmathullah, Garcia-Fernandez & Svensson, "Generalized optimal
  sub-pattern assignment metric", FUSION 2017, with alpha = 2): for truth set X
  and estimate set Y at one time,
  d = (min over assignments gamma of sum_{(i,j) in gamma} d(x_i, y_j)^p
  + c^p / 2 (|X| + |Y| - 2 |gamma|))^(1/p), pairs restricted to d < c. It splits
  into localisation (sum d^p over assigned pairs), missed (c^p/2 per
  unassigned truth) and false (c^p/2 per unassigned estimate) parts, reported
  in p-th-power units as Stone Soup's `GOSPAMetric` does. The assignment uses
  the clustered solver of `skydome.tracking.association` on the pairs closer
  than c (a k-d tree finds them), so it scales to 10^5 objects.
- **NEES / NIS** with two-sided chi-square bounds for their averages
  (Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking and
  Navigation*, sec. 5.4.2).
- **Track continuity**: following each truth through the per-time GOSPA
  assignments, an *id swap* is a change of the track id assigned to it, a
  *break* a time it is left unassigned after having been assigned (the
  "ID switches" and "fragmentations" of Bernardin & Stiefelhagen's CLEAR MOT
  metrics, EURASIP JIVP 2008).

Tables are pandas DataFrames with a `time_s` column, positions `x_m, y_m, z_m`
and an id column (`truth_id` for truth, `track_id` for tracks by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.stats import chi2

from skydome.arrays import F64, I64
from skydome.tracking.association import min_weight_matching

__all__ = [
    "Gospa",
    "chi2_band",
    "gospa",
    "gospa_table",
    "nees",
    "nis",
    "track_continuity",
]


_DENSE = 4096
_POS = ["x_m", "y_m", "z_m"]


@dataclass(frozen=True)
class Gospa:
    """GOSPA at one time (alpha = 2), parts in p-th-power units.

    Attributes:
        distance: the metric, (localisation + missed + false)^(1/p), m.
        localisation: sum of d^p over assigned pairs, m^p.
        missed: c^p / 2 per unassigned truth, m^p.
        false: c^p / 2 per unassigned estimate, m^p.
        n_missed: unassigned truths.
        n_false: unassigned estimates.
        truth_to_estimate: (n_truth,) index of the assigned estimate (-1: none).
    """

    distance: float
    localisation: float
    missed: float
    false: float
    n_missed: int
    n_false: int
    truth_to_estimate: I64


def _close_pairs(a: F64, b: F64, c: float) -> tuple[I64, I64, F64]:
    """(i, j, distance) of every pair with |a_i - b_j| < c."""
    if a.shape[0] * b.shape[0] <= _DENSE:
        d = np.sqrt(np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=2))
        i, j = np.nonzero(d < c)
        return i.astype(np.int64), j.astype(np.int64), d[i, j]
    sdm = cKDTree(a).sparse_distance_matrix(cKDTree(b), c, output_type="ndarray")
    keep = sdm["v"] < c
    return (
        sdm["i"][keep].astype(np.int64),
        sdm["j"][keep].astype(np.int64),
        sdm["v"][keep].astype(np.float64),
    )


def gospa(truth: F64, estimates: F64, c: float, p: float = 2.0) -> Gospa:
    """GOSPA between truth and estimated positions at one time.

    Args:
        truth: (n, d) true positions.
        estimates: (m, d) estimated positions.
        c: cut-off distance, m (> 0).
        p: exponent, 1 <= p < inf.

    Returns:
        The metric and its parts.
    """
    if c <= 0.0 or p < 1.0:
        raise ValueError("GOSPA needs c > 0 and p >= 1")
    truth = np.asarray(truth, dtype=np.float64)
    estimates = np.asarray(estimates, dtype=np.float64)
    n, m = truth.shape[0], estimates.shape[0]
    t2e = np.full(n, -1, dtype=np.int64)
    loc = 0.0
    if n and m:
        i, j, d = _close_pairs(truth, estimates, c)
        r, k = min_weight_matching(i, j, d**p - c**p, n, m)
        if r.size:
            dd = np.sqrt(np.sum((truth[r] - estimates[k]) ** 2, axis=1))
            loc = float(np.sum(dd**p))
            t2e[r] = k
    n_assigned = int(np.sum(t2e >= 0))
    half = 0.5 * c**p
    missed = half * (n - n_assigned)
    false = half * (m - n_assigned)
    return Gospa(
        distance=float((loc + missed + false) ** (1.0 / p)),
        localisation=loc,
        missed=missed,
        false=false,
        n_missed=n - n_assigned,
        n_false=m - n_assigned,
        truth_to_estimate=t2e,
    )


def _by_time(df: pd.DataFrame) -> tuple[F64, I64]:
    """Sorted unique times and the row bounds of each time in `df` (sorted by time)."""
    t = df["time_s"].to_numpy(dtype=np.float64)
    times, start = np.unique(t, return_index=True)
    return times, np.r_[start, t.size].astype(np.int64)


def _assignments(
    truth: pd.DataFrame,
    tracks: pd.DataFrame,
    c: float,
    p: float,
    truth_id: str,
    track_id: str,
    confirmed_only: bool,
) -> pd.DataFrame:
    """Per time: GOSPA parts, and the long table of truth -> track assignments."""
    if confirmed_only and "confirmed" in tracks.columns:
        tracks = tracks[tracks["confirmed"].astype(bool)]
    truth = truth.sort_values("time_s", kind="stable")
    tracks = tracks.sort_values("time_s", kind="stable")
    tt, tb = _by_time(truth)
    et, eb = _by_time(tracks)
    tpos = truth[_POS].to_numpy(dtype=np.float64)
    epos = tracks[_POS].to_numpy(dtype=np.float64)
    tid = truth[truth_id].to_numpy()
    eid = tracks[track_id].to_numpy()
    rows: list[tuple[float, float, float, float, float, int, int, int, int]] = []
    a_time: list[F64] = []
    a_truth: list[NDArray[np.generic]] = []
    a_track: list[I64] = []
    for time in np.union1d(tt, et):  # one GOSPA per time step
        i = int(np.searchsorted(tt, time))
        has_t = i < tt.size and tt[i] == time
        sl_t = slice(tb[i], tb[i + 1]) if has_t else slice(0, 0)
        j = int(np.searchsorted(et, time))
        has_e = j < et.size and et[j] == time
        sl_e = slice(eb[j], eb[j + 1]) if has_e else slice(0, 0)
        g = gospa(tpos[sl_t], epos[sl_e], c, p)
        rows.append(
            (
                float(time),
                g.distance,
                g.localisation,
                g.missed,
                g.false,
                sl_t.stop - sl_t.start,
                sl_e.stop - sl_e.start,
                g.n_missed,
                g.n_false,
            )
        )
        a_time.append(np.full(g.truth_to_estimate.size, time))
        a_truth.append(tid[sl_t])
        ids = eid[sl_e]
        a_track.append(
            np.where(g.truth_to_estimate >= 0, ids[np.maximum(g.truth_to_estimate, 0)], -1)
            if ids.size
            else np.full(g.truth_to_estimate.size, -1)
        )
    per_time = pd.DataFrame(
        rows,
        columns=[
            "time_s",
            "gospa_m",
            "localisation",
            "missed",
            "false",
            "n_truth",
            "n_tracks",
            "n_missed",
            "n_false",
        ],
    )
    long = pd.DataFrame(
        {
            "time_s": np.concatenate(a_time) if a_time else np.zeros(0),
            "truth_id": np.concatenate(a_truth) if a_truth else np.zeros(0, dtype=np.int64),
            "track_id": (
                np.concatenate(a_track).astype(np.int64) if a_track else np.zeros(0, np.int64)
            ),
        }
    )
    per_time.attrs["assignments"] = long
    return per_time


def gospa_table(
    truth: pd.DataFrame,
    tracks: pd.DataFrame,
    c: float,
    p: float = 2.0,
    *,
    truth_id: str = "truth_id",
    track_id: str = "track_id",
    confirmed_only: bool = True,
) -> pd.DataFrame:
    """GOSPA at every time present in either table.

    Args:
        truth: columns time_s, x_m, y_m, z_m and `truth_id`.
        tracks: columns time_s, x_m, y_m, z_m and `track_id` (and `confirmed`).
        c: cut-off distance, m.
        p: exponent.
        truth_id: name of the truth id column.
        track_id: name of the track id column.
        confirmed_only: score only rows with `confirmed` true, when that column exists.

    Returns:
        One row per time: time_s, gospa_m, localisation, missed, false (p-th
        power units), n_truth, n_tracks, n_missed, n_false.
    """
    out = _assignments(truth, tracks, c, p, truth_id, track_id, confirmed_only)
    out.attrs.clear()
    return out


def track_continuity(
    truth: pd.DataFrame,
    tracks: pd.DataFrame,
    c: float,
    p: float = 2.0,
    *,
    truth_id: str = "truth_id",
    track_id: str = "track_id",
    confirmed_only: bool = True,
) -> pd.DataFrame:
    """Id swaps and breaks of each truth object, from the per-time GOSPA assignment.

    Args:
        truth: columns time_s, x_m, y_m, z_m and `truth_id`.
        tracks: columns time_s, x_m, y_m, z_m and `track_id` (and `confirmed`).
        c: cut-off distance of the GOSPA assignment, m.
        p: exponent.
        truth_id: name of the truth id column.
        track_id: name of the track id column.
        confirmed_only: use only rows with `confirmed` true, when that column exists.

    Returns:
        One row per truth id: truth_id, n_times (times it exists), n_assigned
        (times a track was assigned), n_tracks (distinct track ids assigned),
        id_swaps, breaks.
    """
    long: pd.DataFrame = _assignments(
        truth, tracks, c, p, truth_id, track_id, confirmed_only
    ).attrs["assignments"]
    long = long.sort_values(["truth_id", "time_s"], kind="stable")
    tid = long["truth_id"].to_numpy()
    trk = long["track_id"].to_numpy(dtype=np.int64)
    same = np.r_[False, tid[1:] == tid[:-1]] if tid.size else np.zeros(0, dtype=bool)
    assigned = trk >= 0
    # Breaks: assigned at the previous time of this truth, unassigned now.
    prev_assigned = np.r_[False, assigned[:-1]] if tid.size else assigned
    brk = same & prev_assigned & ~assigned
    # Swaps: the assigned track differs from the last one assigned to this truth.
    a = np.flatnonzero(assigned)
    swap = np.zeros(tid.size, dtype=bool)
    if a.size > 1:
        same_truth = tid[a[1:]] == tid[a[:-1]]
        swap[a[1:]] = same_truth & (trk[a[1:]] != trk[a[:-1]])
    df = pd.DataFrame(
        {"truth_id": tid, "assigned": assigned, "id_swaps": swap, "breaks": brk, "track": trk}
    )
    g = df.groupby("truth_id", sort=True)
    used = df[assigned].groupby("truth_id")["track"].nunique()
    out = pd.DataFrame(
        {
            "n_times": g.size(),
            "n_assigned": g["assigned"].sum(),
            "n_tracks": used.reindex(g.size().index, fill_value=0),
            "id_swaps": g["id_swaps"].sum(),
            "breaks": g["breaks"].sum(),
        }
    ).reset_index()
    return out.astype(
        {"n_times": np.int64, "n_assigned": np.int64, "n_tracks": np.int64,
         "id_swaps": np.int64, "breaks": np.int64}
    )  # fmt: skip


def nees(err: F64, P: F64) -> F64:
    """Normalised estimation error squared e^T P^-1 e per row.

    Args:
        err: (N, D) estimation errors (estimate - truth).
        P: (N, D, D) the estimates' covariances.

    Returns:
        (N,) NEES values; chi-square with D dof for a consistent filter.
    """
    L = np.linalg.cholesky(P)
    y = np.linalg.solve(L, err[:, :, None])[:, :, 0]
    out: F64 = np.einsum("ni,ni->n", y, y)
    return out


def nis(nu: F64, S: F64) -> F64:
    """Normalised innovation squared nu^T S^-1 nu per row ((N, 3), (N, 3, 3) -> (N,))."""
    return nees(nu, S)


def chi2_band(dof: int, n_samples: int = 1, probability: float = 0.95) -> tuple[float, float]:
    """Two-sided acceptance interval for the mean of `n_samples` chi-square(dof) values.

    n_samples times the mean of n independent chi-square(dof) values is
    chi-square(n dof), so the band is [chi2_{n dof}((1-P)/2), chi2_{n dof}((1+P)/2)] / n
    (Bar-Shalom et al., eq. 5.4.2-7).
    """
    k = dof * n_samples
    a = (1.0 - probability) / 2.0
    return float(chi2.ppf(a, k) / n_samples), float(chi2.ppf(1.0 - a, k) / n_samples)
