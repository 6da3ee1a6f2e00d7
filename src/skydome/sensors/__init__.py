"""Sensors: radar detection of threats, with measurement noise."""

from skydome.sensors.base import Detections
from skydome.sensors.radar import (
    coverage_mask,
    detect,
    swerling1_pd,
    swerling1_snr_for_pd,
)

__all__ = ["Detections", "coverage_mask", "detect", "swerling1_pd", "swerling1_snr_for_pd"]
