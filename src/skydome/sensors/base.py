"""What a sensor stage hands the tracker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Detections"]


@dataclass(frozen=True)
class Detections:
    """One radar's detections from one scan, struct of arrays (M detections).

    Attributes:
        time_s: scan time, s.
        radar: index of the radar that made them.
        pos_m: (M, 3) measured position, map frame (converted from polar).
        cov_m2: (M, 3, 3) covariance of `pos_m`.
        polar: (M, 3) measured (slant range m, azimuth rad, elevation rad).
        truth: (M,) id of the threat that caused each detection (-1: false alarm).
            Bookkeeping for metrics and events only; trackers must not read it.
    """

    time_s: float
    radar: int
    pos_m: NDArray[np.float64]
    cov_m2: NDArray[np.float64]
    polar: NDArray[np.float64]
    truth: NDArray[np.int64]

    @property
    def n(self) -> int:
        """Number of detections."""
        return int(self.pos_m.shape[0])
