"""Track management: M-of-N confirmation, deletion, the track quality score.

Pure functions of the per-track counters, one call per scan for all tracks:

- **confirmation**: a tentative track is confirmed once it has `confirm_m`
  hits within its first `confirm_n` looks (scans whose coverage holds its
  predicted position) and, when `confirm_llr` is finite, its score has reached
  `confirm_llr` (the upper threshold ln((1 - beta) / alpha) of Wald's
  sequential probability ratio test: a track of false alarms reaches it with
  probability at most about alpha; Wald, *Sequential Analysis*, 1947); a tentative
  track whose window closes unconfirmed is dropped (Blackman & Popoli,
  *Design and Analysis of Modern Tracking Systems*, sec. 6.3.1);
- **deletion**: `delete_misses` consecutive missed looks, `max_coast_s` without
  an update, or covariance growth (RMS position sigma per axis above
  `max_position_sigma_m`) drop a track; a tentative track whose speed exceeds
  `max_speed_mps` by more than three standard deviations is dropped as
  implausible (velocity gating of initiation; Bar-Shalom, Willett & Tian,
  *Tracking and Data Fusion*, sec. 3.5);
- **quality**: the sequential log-likelihood-ratio track score of Blackman &
  Popoli (sec. 6.2.3): per look, dL = ln(Pd / beta) - (d^2 + ln|S| + 3 ln 2 pi) / 2
  on a hit (d^2 the normalised distance, beta the false-alarm density per m^3),
  dL = ln(1 - Pd) on a miss, 0 when the track was not in coverage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.tracking.base import ScanReport, TrackState
from skydome.tracking.params import TrackerParams

__all__ = ["ManagementDecision", "manage", "score_increment"]

B = NDArray[np.bool_]

_LN_2PI_3 = 3.0 * math.log(2.0 * math.pi)


def score_increment(hit: B, expected: B, d2: F64, logdet: F64, pd: float, beta_m3: float) -> F64:
    """Per-track change of the log-likelihood-ratio track score for one look.

    Args:
        hit: (N,) the track was updated this scan.
        expected: (N,) the scan should have seen it (coverage, or a hit).
        d2: (N,) squared Mahalanobis distance of the update (ignored where no hit).
        logdet: (N,) ln|S| of the update, S in m^6 (ignored where no hit).
        pd: assumed detection probability.
        beta_m3: assumed false-alarm density, per m^3.

    Returns:
        (N,) score increments.
    """
    on_hit = math.log(pd / beta_m3) - 0.5 * (d2 + logdet + _LN_2PI_3)
    out: F64 = np.where(hit, on_hit, np.where(expected, math.log1p(-pd), 0.0))
    return out


@dataclass(frozen=True)
class ManagementDecision:
    """What management decided for N tracks after one scan.

    Attributes:
        hits, opportunities, misses: (N,) updated counters.
        last_update_s: (N,) updated last-update times.
        confirmed: (N,) confirmed after this scan.
        newly_confirmed: (N,) confirmed by this scan.
        keep: (N,) still held after this scan.
    """

    hits: I64
    opportunities: I64
    misses: I64
    last_update_s: F64
    confirmed: B
    newly_confirmed: B
    keep: B


def manage(
    p: TrackerParams,
    t_s: float,
    hit: B,
    expected: B,
    hits: I64,
    opportunities: I64,
    misses: I64,
    last_update_s: F64,
    confirmed: B,
    x: F64,
    P: F64,
    quality: F64 | None = None,
) -> ManagementDecision:
    """Count the scan, confirm, and decide which tracks to keep.

    Args:
        p: tracker parameters (M-of-N, deletion thresholds).
        t_s: scan time, s.
        hit: (N,) updated this scan.
        expected: (N,) should have been seen this scan.
        hits: (N,) detections associated before the scan.
        opportunities: (N,) looks before the scan.
        misses: (N,) consecutive missed looks before the scan.
        last_update_s: (N,) last update before the scan, s.
        confirmed: (N,) confirmed before the scan.
        x: (N, 6) states after the scan.
        P: (N, 6, 6) their covariances.
        quality: (N,) track scores after the scan; with `p.confirm_llr` finite, a
            track is confirmed only once its score reaches it (None: not checked).
    """
    hits = hits + hit
    opps = opportunities + expected
    misses = np.where(hit, 0, misses + (expected & ~hit))
    last = np.where(hit, t_s, last_update_s)
    newly = ~confirmed & (hits >= p.confirm_m) & (opps <= p.confirm_n)
    if quality is not None and math.isfinite(p.confirm_llr):
        newly &= quality >= p.confirm_llr
    conf = confirmed | newly
    failed = ~conf & (opps >= p.confirm_n)
    # Traces written out (np.trace's wrapper outweighs the sum on a few dozen
    # tracks; the additions are in the same order, so the bits are the same).
    sigma2 = (P[:, 0, 0] + P[:, 1, 1] + P[:, 2, 2]) / 3.0
    speed = np.sqrt(np.einsum("ni,ni->n", x[:, 3:], x[:, 3:]))
    sigma_v = np.sqrt((P[:, 3, 3] + P[:, 4, 4] + P[:, 5, 5]) / 3.0)
    implausible = ~confirmed & (speed - 3.0 * sigma_v > p.max_speed_mps)
    lost = (
        (misses >= p.delete_misses)
        | (t_s - last > p.max_coast_s)
        | (sigma2 > p.max_position_sigma_m**2)
        | implausible
    )
    return ManagementDecision(
        hits=np.asarray(hits, dtype=np.int64),
        opportunities=np.asarray(opps, dtype=np.int64),
        misses=np.asarray(misses, dtype=np.int64),
        last_update_s=last,
        confirmed=conf,
        newly_confirmed=newly,
        keep=~(failed | lost),
    )


def close_scan(
    state: TrackState,
    m: ManagementDecision,
    t_s: float,
    confirm_m: int,
    truth: I64,
    quality: F64,
    x: F64,
    P: F64,
    born_truth: I64,
    modes: tuple[F64, F64, F64] | None = None,
) -> tuple[TrackState, ScanReport]:
    """The picture after one scan: the tracks management keeps, then the K new ones.

    Args:
        state: the picture before the scan (N tracks).
        m: management's decision for those N tracks.
        t_s: scan time, s.
        confirm_m: hits to confirm (a new track is confirmed at birth when 1).
        truth: (N,) truth ids after association.
        quality: (N,) updated track scores.
        x: (N_kept + K, 6) the kept tracks' states, then the new tracks'.
        P: (N_kept + K, 6, 6) their covariances.
        born_truth: (K,) truth ids of the detections that started new tracks.
        modes: (mode_x, mode_P, mode_prob) of the same rows, for a multiple-model
            filter (None: none).

    Returns:
        The new picture and the scan's report for the event log.
    """
    keep = m.keep
    dropped = state.confirmed & ~keep  # a track confirmed and dropped at once: silent
    newly = m.newly_confirmed & keep
    k = int(born_truth.shape[0])
    ones = np.ones(k, dtype=np.int64)
    new_ids = state.next_id + np.arange(k, dtype=np.int64)
    born_confirmed = np.full(k, confirm_m <= 1)
    extra = (
        {} if modes is None else dict(zip(("mode_x", "mode_P", "mode_prob"), modes, strict=True))
    )
    # Most scans keep every track and start none: the columns are then the
    # inputs themselves (arrays of a picture are never written in place).
    every = bool(keep.all())

    def grow(a: NDArray[Any], tail: NDArray[Any]) -> NDArray[Any]:
        kept = a if every else a[keep]
        return np.concatenate([kept, tail]) if k else kept

    out = TrackState(
        time_s=t_s,
        next_id=state.next_id + k,
        x=x,
        P=P,
        track_id=grow(state.track_id, new_ids),
        hits=grow(m.hits, ones),
        opportunities=grow(m.opportunities, ones),
        misses=grow(m.misses, 0 * ones),
        confirmed=grow(m.confirmed, born_confirmed),
        born_s=grow(state.born_s, np.full(k, t_s)),
        last_update_s=grow(m.last_update_s, np.full(k, t_s)),
        truth=grow(truth, born_truth),
        quality=grow(quality, np.zeros(k)),
        **extra,
    )
    report = ScanReport.of_scan(
        state.track_id, truth, newly, dropped, new_ids, born_truth, born_confirmed
    )
    return out, report
