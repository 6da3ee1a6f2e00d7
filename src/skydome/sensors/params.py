"""The sensors stage's parameters: every radar, SI units, struct of arrays.

Built by `skydome.scenario.compile` (the one unit converter); the sensor
functions (`skydome.sensors.radar`, `skydome.sensors.jamming`) read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.constants import BOLTZMANN_J_PER_K, T0_K

__all__ = ["RadarParams"]


@dataclass(frozen=True)
class RadarParams:
    """Every radar, struct of arrays (R radars).

    Attributes:
        names: radar names.
        pos_m: (R, 3) antenna position, map frame (z = mast height).
        ref_range_m: (R,) range of the reference detection.
        ref_rcs_m2: (R,) RCS of the reference detection.
        ref_snr: (R,) single-look SNR (linear) at the reference point.
        pfa: (R,) probability of false alarm per resolution cell.
        max_range_m: (R,) instrumented range.
        min_el_rad, max_el_rad: (R,) elevation limits.
        az_center_rad, az_half_width_rad: (R,) azimuth sector.
        scan_period_s: (R,) revisit period.
        sigma_range_m, sigma_az_rad, sigma_el_rad: (R,) measurement noise, 1 sigma.
        false_alarms_per_scan: (R,) mean number of false alarms per scan (Poisson);
            zeros when omitted.
        wavelength_m, gain, sidelobe_gain, beamwidth_rad, bandwidth_hz,
        noise_power_w: (R,) what jamming needs: wavelength, mainlobe and sidelobe
            receive gain (linear), 3-dB beamwidth, receiver bandwidth and noise
            power k T0 F B (see `skydome.sensors.jamming`); an assumed S-band radar
            (0.1 m, 2 deg, 38.1 dB, -30 dB sidelobes, 1 MHz, F = 3 dB) when omitted.
        accuracy_floor: (R,) fraction of the declared sigmas that remains at high
            SNR (see `skydome.sensors.radar.measurement_sigma`); 1 (constant noise)
            when omitted.
        esa: (R,) electronically scanned (True) or rotating; False when omitted.
        track_channels: (R,) targets an ESA radar measures per revisit (0: no limit).
    """

    names: tuple[str, ...]
    pos_m: F64
    ref_range_m: F64
    ref_rcs_m2: F64
    ref_snr: F64
    pfa: F64
    max_range_m: F64
    min_el_rad: F64
    max_el_rad: F64
    az_center_rad: F64
    az_half_width_rad: F64
    scan_period_s: F64
    sigma_range_m: F64
    sigma_az_rad: F64
    sigma_el_rad: F64
    false_alarms_per_scan: F64 = field(default_factory=lambda: np.zeros(0))
    wavelength_m: F64 = field(default_factory=lambda: np.zeros(0))
    gain: F64 = field(default_factory=lambda: np.zeros(0))
    sidelobe_gain: F64 = field(default_factory=lambda: np.zeros(0))
    beamwidth_rad: F64 = field(default_factory=lambda: np.zeros(0))
    bandwidth_hz: F64 = field(default_factory=lambda: np.zeros(0))
    noise_power_w: F64 = field(default_factory=lambda: np.zeros(0))
    accuracy_floor: F64 = field(default_factory=lambda: np.zeros(0))
    esa: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    track_channels: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        if self.false_alarms_per_scan.shape != (len(self.names),):
            object.__setattr__(self, "false_alarms_per_scan", np.zeros(len(self.names)))
        # Omitted radio-frequency / scan fields: an assumed S-band radar (see above).
        gain = 26_000.0 / 2.0**2  # G ~ 26,000 / (beamwidth_deg^2)
        omitted: dict[str, tuple[float, type]] = {
            "wavelength_m": (0.1, np.float64),
            "gain": (gain, np.float64),
            "sidelobe_gain": (gain * 1e-3, np.float64),
            "beamwidth_rad": (np.radians(2.0), np.float64),
            "bandwidth_hz": (1e6, np.float64),
            "noise_power_w": (BOLTZMANN_J_PER_K * T0_K * 10.0**0.3 * 1e6, np.float64),
            "accuracy_floor": (1.0, np.float64),
            "esa": (False, np.bool_),
            "track_channels": (0, np.int64),
        }
        for name, (value, dtype) in omitted.items():
            if getattr(self, name).shape != (len(self.names),):
                object.__setattr__(self, name, np.full(len(self.names), value, dtype=dtype))

    @property
    def n(self) -> int:
        """Number of radars."""
        return len(self.names)
