"""Scenario schema: radars."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from skydome.scenario.schema._base import Name, Point, Sector, _Model


class Emission(_Model):
    """A radar's emission control (EMCON) doctrine.

    always: emits all the time. scheduled: emits for `on_s`, silent for `off_s`,
    repeating from `offset_s` (the cycle extends before it: at t = 0 with offset 0
    it is on). blink: goes silent for `off_s` whenever the command post holds a
    fresh confirmed track it identifies as an anti-radiation missile, then on again.
    A silent radar makes no detection and attracts no anti-radiation missile.
    Fields the mode does not use are ignored (so a sweep may switch the mode alone).
    """

    mode: Literal["always", "scheduled", "blink"] = Field(
        "always", description="always (default), scheduled on/off, or blink when an ARM is seen."
    )
    on_s: float | None = Field(
        None, gt=0.0, le=86_400.0, description="scheduled: emitting part of each cycle, seconds."
    )
    off_s: float | None = Field(
        None,
        gt=0.0,
        le=86_400.0,
        description="scheduled: silent part of each cycle; blink: silence after an ARM "
        "track, seconds.",
    )
    offset_s: float = Field(
        0.0, ge=0.0, le=86_400.0, description="scheduled: start of the first emitting window."
    )

    @model_validator(mode="after")
    def _fields_of_mode(self) -> Emission:
        # Fields a mode does not use may be given (and are ignored), so a sweep can
        # switch `mode` alone: `--set radars.0.emission.mode=always,blink`.
        need = {"always": (), "scheduled": ("on_s", "off_s"), "blink": ("off_s",)}[self.mode]
        for f in need:
            if getattr(self, f) is None:
                raise ValueError(f"emission mode {self.mode!r} needs {f}")
        return self


class Radar(_Model):
    """A radar, parameterised the way analysts specify one.

    Detection follows the radar equation scaled from a reference point: a target of
    `reference_rcs_m2` at `detection_range_km` is detected with probability
    `reference_pd` per look at false-alarm probability `pfa`, for a target of the
    Swerling case `reference_swerling`. The radio-frequency fields (frequency, gain,
    beamwidth, sidelobes, noise figure, bandwidth) only matter against jammers; their
    defaults are an assumed S-band radar.
    """

    name: Name = Field(description="Unique radar name (also names its random stream).")
    position: Point
    mast_height_m: float = Field(
        10.0, ge=0.0, le=500.0, description="Antenna phase-centre height above ground, metres."
    )
    detection_range_km: float = Field(
        gt=0.0, le=5000.0, description="Range at which the reference target is detected."
    )
    reference_rcs_m2: float = Field(
        1.0, ge=1e-5, le=1e4, description="RCS of the reference target."
    )
    reference_pd: float = Field(
        0.5, gt=0.0, lt=1.0, description="Single-look Pd of the reference detection."
    )
    pfa: float = Field(1e-6, gt=0.0, lt=0.1, description="Probability of false alarm.")
    max_range_km: float = Field(gt=0.0, le=5000.0, description="Instrumented range, km.")
    min_elevation_deg: float = Field(-1.0, ge=-10.0, le=89.0, description="Lowest beam.")
    max_elevation_deg: float = Field(80.0, gt=-10.0, le=90.0, description="Highest beam.")
    sector: Sector = Field(Sector(), description="Azimuth coverage (default: all round).")
    scan_period_s: float = Field(gt=0.0, le=600.0, description="Revisit period, seconds.")
    sigma_range_m: float = Field(gt=0.0, le=10_000.0, description="Range noise, 1 sigma.")
    sigma_azimuth_mrad: float = Field(gt=0.0, le=100.0, description="Azimuth noise, 1 sigma.")
    sigma_elevation_mrad: float = Field(gt=0.0, le=100.0, description="Elevation noise, 1 sigma.")
    false_alarms_per_scan: float = Field(
        0.0,
        ge=0.0,
        le=100_000.0,
        description="Mean number of false alarms per scan (Poisson), spread uniformly over "
        "the coverage volume (range, sector, elevation limits).",
    )
    reference_swerling: Literal[0, 1, 3] = Field(
        1, description="Swerling case of the reference target (0 steady, 1, 3)."
    )
    accuracy_floor_fraction: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="The sigmas are the noise at the reference SNR; the thermal part scales "
        "as 1/sqrt(SNR) down to this fraction of them (bias, alignment; assumed).",
    )
    scan: Literal["rotating", "esa"] = Field(
        "rotating",
        description="rotating: every target in coverage is looked at each scan; esa: "
        "electronically scanned, at most `track_channels` targets measured per revisit.",
    )
    track_channels: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="ESA only: targets measured per revisit, nearest first (None: no limit).",
    )
    frequency_ghz: float = Field(3.0, gt=0.01, le=100.0, description="Carrier (assumed S-band).")
    beamwidth_deg: float = Field(
        2.0, gt=0.01, le=90.0, description="3-dB beamwidth (pencil beam), degrees."
    )
    antenna_gain_db: float | None = Field(
        None,
        ge=0.0,
        le=60.0,
        description="Mainlobe gain, dBi (None: 26,000 / beamwidth_deg^2, an efficient aperture).",
    )
    sidelobe_level_db: float = Field(
        -30.0, ge=-70.0, le=0.0, description="Sidelobe gain relative to the mainlobe, dB."
    )
    noise_figure_db: float = Field(3.0, ge=0.0, le=30.0, description="Receiver noise figure.")
    bandwidth_mhz: float = Field(
        1.0, gt=0.0, le=10_000.0, description="Receiver noise bandwidth, MHz."
    )
    emission: Emission | None = Field(
        None, description="Emission control (none: always on, the default)."
    )

    @model_validator(mode="after")
    def _elevations_ordered(self) -> Radar:
        if self.max_elevation_deg <= self.min_elevation_deg:
            raise ValueError("max_elevation_deg must exceed min_elevation_deg")
        if self.track_channels is not None and self.scan != "esa":
            raise ValueError("track_channels needs scan: esa")
        return self
