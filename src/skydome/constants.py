"""Physical constants, SI units: the one place they are defined.

Stages and the scenario compiler import them from here (`skydome.geo`,
`skydome.sensors.jamming`, `skydome.engagement.guidance` and `skydome.threats`
re-export the ones they always have exported).
"""

from __future__ import annotations

__all__ = [
    "BOLTZMANN_J_PER_K",
    "EARTH_RADIUS_M",
    "G0_MPS2",
    "RHO0_KG_M3",
    "SCALE_HEIGHT_M",
    "SPEED_OF_LIGHT_M_PER_NS",
    "T0_K",
]

BOLTZMANN_J_PER_K = 1.380649e-23
"""Boltzmann's constant, J/K (exact, SI 2019)."""

T0_K = 290.0
"""Standard noise temperature, K (IEEE)."""

SPEED_OF_LIGHT_M_PER_NS = 0.299792458
"""Speed of light, m/ns (exact): the wavelength in metres is this over the frequency in GHz."""

G0_MPS2 = 9.80665
"""Standard gravity, m/s^2."""

RHO0_KG_M3 = 1.225
"""Sea-level air density of the exponential atmosphere, kg/m^3."""

SCALE_HEIGHT_M = 7200.0
"""Exponential-atmosphere scale height, m."""

EARTH_RADIUS_M = 6_371_000.0
"""Mean earth radius (IUGG), metres."""
