"""The foundation tracker: CV Kalman filter, GNN association, M-of-N logic.

Reads as the process: predict -> associate -> update -> count misses ->
confirm/delete -> initiate from unused detections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skydome.scenario.params import TrackerParams
from skydome.sensors.base import Detections
from skydome.tracking.association import gate_threshold, gnn_associate
from skydome.tracking.base import CoverageFn, ScanReport, TrackState
from skydome.tracking.kalman import cv_model, kf_predict, kf_update_joseph

__all__ = ["GnnTracker"]


@dataclass(frozen=True)
class GnnTracker:
    """Global-nearest-neighbour tracker with single-point initiation.

    New tracks start at the detection with zero velocity and velocity standard
    deviation `init_velocity_sigma_mps`; they are confirmed after `confirm_m`
    hits within their first `confirm_n` opportunities (scans whose coverage
    holds the predicted position), and dropped after `delete_misses`
    consecutive misses or `max_coast_s` without an update.
    """

    params: TrackerParams

    def step(
        self, state: TrackState, det: Detections, coverage: CoverageFn
    ) -> tuple[TrackState, ScanReport]:
        """Process one radar scan; see the module docstring for the order."""
        p = self.params
        t = det.time_s
        x, P = state.x, state.P
        dt = t - state.time_s
        if state.n and dt > 0.0:
            F, Q = cv_model(dt, p.q_mps2)
            x, P = kf_predict(x, P, F, Q)
        gate = gate_threshold(p.gate_probability)
        ti, dj = gnn_associate(x[:, :3], P[:, :3, :3], det.pos_m, det.cov_m2, gate)

        x = x.copy()
        P = P.copy()
        if ti.size:
            x[ti], P[ti], _, _ = kf_update_joseph(x[ti], P[ti], det.pos_m[dj], det.cov_m2[dj])
        hit = np.zeros(state.n, dtype=bool)
        hit[ti] = True
        expected = coverage(x[:, :3]) | hit if state.n else hit
        hits = state.hits + hit
        opps = state.opportunities + expected
        misses = np.where(hit, 0, state.misses + (expected & ~hit))
        last = np.where(hit, t, state.last_update_s)
        truth = state.truth.copy()
        truth[ti] = det.truth[dj]

        newly = ~state.confirmed & (hits >= p.confirm_m) & (opps <= p.confirm_n)
        confirmed = state.confirmed | newly
        failed = ~confirmed & (opps >= p.confirm_n)
        lost = (misses >= p.delete_misses) | (t - last > p.max_coast_s)
        keep = ~(failed | lost)
        dropped = confirmed & ~keep

        report = ScanReport(
            confirmed_ids=state.track_id[newly & keep],
            confirmed_truth=truth[newly & keep],
            deleted_ids=state.track_id[dropped],
            deleted_truth=truth[dropped],
        )

        unused = np.ones(det.n, dtype=bool)
        unused[dj] = False
        nu = np.flatnonzero(unused)
        k = nu.size
        x_new = np.zeros((k, 6))
        x_new[:, :3] = det.pos_m[nu]
        P_new = np.zeros((k, 6, 6))
        P_new[:, :3, :3] = det.cov_m2[nu]
        vs2 = p.init_velocity_sigma_mps**2
        P_new[:, 3, 3] = P_new[:, 4, 4] = P_new[:, 5, 5] = vs2
        ones = np.ones(k, dtype=np.int64)
        new_ids = state.next_id + np.arange(k, dtype=np.int64)
        # A confirm_m of 1 confirms a track at its first detection.
        born_confirmed = np.full(k, p.confirm_m <= 1)

        out = TrackState(
            time_s=t,
            next_id=state.next_id + k,
            x=np.concatenate([x[keep], x_new]),
            P=np.concatenate([P[keep], P_new]),
            track_id=np.concatenate([state.track_id[keep], new_ids]),
            hits=np.concatenate([hits[keep], ones]),
            opportunities=np.concatenate([opps[keep], ones]),
            misses=np.concatenate([misses[keep], 0 * ones]),
            confirmed=np.concatenate([confirmed[keep], born_confirmed]),
            born_s=np.concatenate([state.born_s[keep], np.full(k, t)]),
            last_update_s=np.concatenate([last[keep], np.full(k, t)]),
            truth=np.concatenate([truth[keep], det.truth[nu]]),
        )
        if born_confirmed.any():
            report = ScanReport(
                confirmed_ids=np.concatenate([report.confirmed_ids, new_ids]),
                confirmed_truth=np.concatenate([report.confirmed_truth, det.truth[nu]]),
                deleted_ids=report.deleted_ids,
                deleted_truth=report.deleted_truth,
            )
        return out, report
