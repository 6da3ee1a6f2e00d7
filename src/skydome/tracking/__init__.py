"""Tracking: batched filters, gating and association, track management."""

from skydome.tracking.base import ScanReport, Tracker, TrackState
from skydome.tracking.gnn import GnnTracker

__all__ = ["GnnTracker", "ScanReport", "TrackState", "Tracker"]
