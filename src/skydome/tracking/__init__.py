"""Tracking: batched filters, scalable gating and association, track management.

The engine's tracker is `GnnTracker`; its filter is one argument
(`KalmanFilter(CvModel(q))`, `KalmanFilter(CaModel(q))`, `ImmFilter(...)`). Metrics
(`skydome.tracking.metrics`) and the stand-alone DataFrame API
(`skydome.tracking.standalone`) are imported from their modules.
"""

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
