"""Barrage noise jamming: jammer-to-noise ratio at a radar, per target look.

A barrage noise jammer of effective radiated power ERP_j spread evenly over a
bandwidth B_j raises a radar's noise floor. Received jamming power over thermal
noise, for the look at one target (one-way propagation, free space):

    J/N = ERP_j G_r(theta) lambda^2 / ((4 pi)^2 R_j^2 k T0 F B_r) * min(1, B_r / B_j)

(Adamy, *EW 101: A First Course in Electronic Warfare*, 2001, ch. 9, in linear form;
Schleher, *Electronic Warfare in the Information Age*, 1999, ch. 4), with k T0 F B_r
the receiver noise power (T0 = 290 K), R_j the radar-jammer range and G_r the
radar's receive gain towards the jammer. The antenna is two-level: the mainlobe gain
G when the jammer lies inside the half-power beam pointed at the target (angular
separation <= theta_3dB / 2), the sidelobe gain G * SLL otherwise. A self-screening
jammer (the target carries it) is always in the mainlobe; a stand-off jammer usually
enters through the sidelobes. A jammer radiates into a radar only while it is above
that radar's horizon. The jammed SNR is SNR / (1 + sum_j J/N_j): jamming adds to the
thermal noise, which the radar's reference SNR is relative to.

The barrage is assumed to cover every radar's operating frequency (no frequency
agility or band mismatch) and to have no sidelobe cancellation, home-on-jam or
burn-through waveform modes. Receiver losses are taken as part of F.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from skydome.arrays import F64
from skydome.constants import BOLTZMANN_J_PER_K, T0_K
from skydome.geo import RadarGeometry, radar_geometry
from skydome.sensors.params import RadarParams

__all__ = ["BOLTZMANN_J_PER_K", "T0_K", "Jammers", "jam_to_noise", "line_of_sight_unit"]


@dataclass(frozen=True)
class Jammers:
    """Jammers radiating at one instant, struct of arrays (J jammers).

    Attributes:
        pos_m: (J, 3) position, map frame.
        erp_w: (J,) effective radiated power towards the radars, W.
        bandwidth_hz: (J,) barrage bandwidth, Hz.
    """

    pos_m: F64
    erp_w: F64
    bandwidth_hz: F64

    @property
    def n(self) -> int:
        """Number of jammers."""
        return int(self.erp_w.shape[0])

    @classmethod
    def empty(cls) -> Jammers:
        """No jammer."""
        return cls(np.zeros((0, 3)), np.zeros(0), np.ones(0))


def line_of_sight_unit(geom: RadarGeometry) -> F64:
    """Unit vectors of the lines of sight (east, north, up in the radar's tangent frame).

    Args:
        geom: geometry from one radar, fields (1, N).

    Returns:
        (N, 3) unit vectors (cos el sin az, cos el cos az, sin el).
    """
    az, el = geom.azimuth_rad[0], geom.elevation_rad[0]
    ce = np.cos(el)
    out: F64 = np.stack([ce * np.sin(az), ce * np.cos(az), np.sin(el)], axis=1)
    return out


def jam_to_noise(radars: RadarParams, r: int, target_geom: RadarGeometry, jammers: Jammers) -> F64:
    """Total jammer-to-noise ratio (linear) of radar `r` in its look at each target.

    J/N = sum_j ERP_j G_r(theta_ij) lambda^2 / ((4 pi)^2 R_j^2 k T0 F B_r) min(1, B_r/B_j)
    (module docstring), vectorised over targets x jammers.

    Args:
        radars: all radars.
        r: index of the radar.
        target_geom: geometry of the N targets from radar `r`, fields (1, N).
        jammers: the J jammers radiating now.

    Returns:
        (N,) sum of J/N over the jammers (zeros without jammers).
    """
    n = target_geom.slant_m.shape[1]
    if jammers.n == 0:
        return np.zeros(n)
    jg = radar_geometry(radars.pos_m[r : r + 1], jammers.pos_m)
    r_j = np.maximum(jg.slant_m[0], 1.0)
    band = np.minimum(1.0, radars.bandwidth_hz[r] / jammers.bandwidth_hz)
    wl = radars.wavelength_m[r]
    # Per jammer, everything but the receive gain: (J,).
    per_gain = (
        jammers.erp_w * wl * wl * band * jg.visible[0]
        / ((4.0 * math.pi) ** 2 * r_j * r_j * radars.noise_power_w[r])
    )  # fmt: skip
    cos_sep = line_of_sight_unit(target_geom) @ line_of_sight_unit(jg).T  # (N, J)
    in_main = cos_sep >= math.cos(0.5 * radars.beamwidth_rad[r])
    gain = np.where(in_main, radars.gain[r], radars.sidelobe_gain[r])
    out: F64 = gain @ per_gain
    return out
