"""Tracking: batched filters, scalable gating and association, track management.

The engine's tracker is `GnnTracker`; its filter is one argument
(`KalmanFilter(CvModel(q))`, `KalmanFilter(CaModel(q))`, `ImmFilter(...)`). Metrics
(`skydome.tracking.metrics`) and the tracker over a recorded detections set
(`skydome.tracking.offline`; its files and tables: `skydome.trackfile`) are
imported from their modules.
"""

from typing import TYPE_CHECKING

from skydome._lazy import lazy_exports

if TYPE_CHECKING:
    from skydome.tracking.base import Kinematics, MotionFilter, ScanReport, Tracker, TrackState
    from skydome.tracking.contract import check_tracker
    from skydome.tracking.gnn import GnnTracker, motion_filter
    from skydome.tracking.imm import ImmFilter
    from skydome.tracking.kalman import CaModel, CtModel, CvModel, KalmanFilter

__all__ = [
    "CaModel",
    "CtModel",
    "CvModel",
    "GnnTracker",
    "ImmFilter",
    "KalmanFilter",
    "Kinematics",
    "MotionFilter",
    "ScanReport",
    "TrackState",
    "Tracker",
    "check_tracker",
    "motion_filter",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "Kinematics": "skydome.tracking.base",
        "MotionFilter": "skydome.tracking.base",
        "ScanReport": "skydome.tracking.base",
        "Tracker": "skydome.tracking.base",
        "TrackState": "skydome.tracking.base",
        "check_tracker": "skydome.tracking.contract",
        "GnnTracker": "skydome.tracking.gnn",
        "motion_filter": "skydome.tracking.gnn",
        "ImmFilter": "skydome.tracking.imm",
        "CaModel": "skydome.tracking.kalman",
        "CtModel": "skydome.tracking.kalman",
        "CvModel": "skydome.tracking.kalman",
        "KalmanFilter": "skydome.tracking.kalman",
    },
)
