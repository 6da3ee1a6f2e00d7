"""Sensors: radar detection of threats (Swerling 0/I/III, jamming), with measurement noise."""

from skydome.sensors.base import Detections
from skydome.sensors.detection import (
    detection_probability,
    required_snr,
    swerling0_pd,
    swerling3_pd,
)
from skydome.sensors.jamming import Jammers, jam_to_noise
from skydome.sensors.radar import (
    coverage_mask,
    detect,
    look_snr,
    measurement_sigma,
    swerling1_pd,
    swerling1_snr_for_pd,
)

__all__ = [
    "Detections",
    "Jammers",
    "coverage_mask",
    "detect",
    "detection_probability",
    "jam_to_noise",
    "look_snr",
    "measurement_sigma",
    "required_snr",
    "swerling0_pd",
    "swerling1_pd",
    "swerling1_snr_for_pd",
    "swerling3_pd",
]
