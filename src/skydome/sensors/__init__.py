"""Sensors: radar detection of threats (Swerling 0/I/III, jamming), with measurement noise."""

from typing import TYPE_CHECKING

from skydome._lazy import lazy_exports

if TYPE_CHECKING:
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

__getattr__ = lazy_exports(
    __name__,
    {
        "Detections": "skydome.sensors.base",
        "detection_probability": "skydome.sensors.detection",
        "required_snr": "skydome.sensors.detection",
        "swerling0_pd": "skydome.sensors.detection",
        "swerling3_pd": "skydome.sensors.detection",
        "Jammers": "skydome.sensors.jamming",
        "jam_to_noise": "skydome.sensors.jamming",
        "coverage_mask": "skydome.sensors.radar",
        "detect": "skydome.sensors.radar",
        "look_snr": "skydome.sensors.radar",
        "measurement_sigma": "skydome.sensors.radar",
        "swerling1_pd": "skydome.sensors.radar",
        "swerling1_snr_for_pd": "skydome.sensors.radar",
    },
)
