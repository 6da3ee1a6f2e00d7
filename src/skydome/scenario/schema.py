"""Scenario file schema: pydantic models, units named in every field.

A scenario is YAML on disk; these models are its single declaration. They feed
validation, the JSON Schema (`skydome schema`) and the scenario reference in
`docs/scenario.md`. Nothing downstream reads raw YAML: `scenario.compile`
turns a validated `Scenario` into SI-unit parameter arrays once, at load.

Bounds are physical plausibility limits, chosen wide enough for any public
system but tight enough that a value given in the wrong unit (metres in a
`_km` field) is caught.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Asset",
    "Ballistic",
    "Battery",
    "Doctrine",
    "FireChannels",
    "MissileType",
    "Origin",
    "Point",
    "Radar",
    "Raid",
    "RunSettings",
    "Scenario",
    "Sector",
    "TrackerSettings",
    "Waypoint",
]

Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[^.\s][^.]*$")]
EastKm = Annotated[float, Field(ge=-3000.0, le=3000.0, description="km east of the origin")]
NorthKm = Annotated[float, Field(ge=-3000.0, le=3000.0, description="km north of the origin")]


class _Model(BaseModel):
    """Base: unknown fields are errors, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Origin(_Model):
    """Geodetic origin of the local frame (WGS-84)."""

    lat_deg: float = Field(ge=-90.0, le=90.0, description="Latitude, degrees north.")
    lon_deg: float = Field(ge=-180.0, le=180.0, description="Longitude, degrees east.")
    alt_m: float = Field(0.0, ge=-500.0, le=9000.0, description="Ground altitude, metres.")


class Point(_Model):
    """A ground position in the local frame."""

    east_km: EastKm
    north_km: NorthKm


class Waypoint(_Model):
    """A route point: ground position and altitude above the surface."""

    east_km: EastKm
    north_km: NorthKm
    altitude_m: float = Field(ge=0.0, le=40_000.0, description="Altitude above ground, metres.")


class Asset(_Model):
    """A defended asset: what the threats attack and the defence protects."""

    name: Name
    position: Point
    value: float = Field(gt=0.0, le=1e6, description="Relative value (any consistent unit).")
    defended_radius_km: float = Field(
        10.0,
        gt=0.0,
        le=500.0,
        description="A threat whose closest approach falls inside this radius threatens it.",
    )


class Sector(_Model):
    """Azimuth coverage of a radar, clockwise from north."""

    center_deg: float = Field(0.0, ge=-360.0, le=360.0)
    width_deg: float = Field(360.0, gt=0.0, le=360.0)


class Radar(_Model):
    """A radar, parameterised the way analysts specify one.

    Detection follows the radar equation scaled from a reference point: a target of
    `reference_rcs_m2` at `detection_range_km` is detected with probability
    `reference_pd` per look at false-alarm probability `pfa` (Swerling I).
    """

    name: Name
    position: Point
    mast_height_m: float = Field(
        10.0, ge=0.0, le=500.0, description="Antenna phase-centre height above ground, metres."
    )
    detection_range_km: float = Field(gt=0.0, le=5000.0)
    reference_rcs_m2: float = Field(1.0, ge=1e-5, le=1e4)
    reference_pd: float = Field(0.5, gt=0.0, lt=1.0)
    pfa: float = Field(1e-6, gt=0.0, lt=0.1)
    max_range_km: float = Field(gt=0.0, le=5000.0, description="Instrumented range, km.")
    min_elevation_deg: float = Field(-1.0, ge=-10.0, le=89.0)
    max_elevation_deg: float = Field(80.0, gt=-10.0, le=90.0)
    sector: Sector = Sector()
    scan_period_s: float = Field(gt=0.0, le=600.0, description="Revisit period, seconds.")
    sigma_range_m: float = Field(gt=0.0, le=10_000.0)
    sigma_azimuth_mrad: float = Field(gt=0.0, le=100.0)
    sigma_elevation_mrad: float = Field(gt=0.0, le=100.0)

    @model_validator(mode="after")
    def _elevations_ordered(self) -> Radar:
        if self.max_elevation_deg <= self.min_elevation_deg:
            raise ValueError("max_elevation_deg must exceed min_elevation_deg")
        return self


class MissileType(_Model):
    """An interceptor type of the library: its engagement envelope and lethality."""

    min_range_km: float = Field(ge=0.0, le=5000.0)
    max_range_km: float = Field(gt=0.0, le=5000.0)
    min_altitude_m: float = Field(0.0, ge=0.0, le=100_000.0)
    max_altitude_km: float = Field(gt=0.0, le=300.0)
    average_speed_mps: float = Field(gt=0.0, le=8000.0)
    max_target_speed_mps: float = Field(gt=0.0, le=8000.0)
    pk: float = Field(ge=0.0, le=1.0, description="Single-shot kill probability.")
    homing_basket_m: float = Field(
        2000.0,
        gt=0.0,
        le=100_000.0,
        description="Largest error of the predicted intercept point the terminal homing removes.",
    )
    cost: float = Field(
        1.0, gt=0.0, description="Relative cost; the cheapest adequate type is used."
    )
    source: str = Field("assumed", description="Where the figures come from.")

    @model_validator(mode="after")
    def _ranges_ordered(self) -> MissileType:
        if self.min_range_km >= self.max_range_km:
            raise ValueError("min_range_km must be below max_range_km")
        if self.min_altitude_m >= self.max_altitude_km * 1000.0:
            raise ValueError("min_altitude_m must be below max_altitude_km")
        return self


class FireChannels(_Model):
    """Fire-control channels: how many targets engaged and missiles guided at once."""

    targets: int = Field(ge=1, le=10_000)
    missiles: int = Field(ge=1, le=20_000)


class Battery(_Model):
    """A fire unit: launchers with their missile loads and a fire-control system."""

    name: Name
    position: Point
    launchers: int = Field(ge=0, le=1000)
    load: dict[Name, int] = Field(
        description="Missiles of each library type carried by one launcher.",
        min_length=1,
    )
    fire_channels: FireChannels
    reaction_time_s: float = Field(10.0, ge=0.0, le=600.0, description="Decision to launch.")
    launch_interval_s: float = Field(
        3.0, ge=0.0, le=600.0, description="Between two launches from one launcher."
    )

    @model_validator(mode="after")
    def _loads_non_negative(self) -> Battery:
        for k, n in self.load.items():
            if n < 0:
                raise ValueError(f"load of {k!r} must be >= 0, got {n}")
        return self


class Ballistic(_Model):
    """A ballistic arc from a launch point to the raid's target asset."""

    launch: Point
    apogee_km: float | None = Field(None, gt=0.0, le=1500.0)
    time_of_flight_s: float | None = Field(None, gt=0.0, le=3600.0)

    @model_validator(mode="after")
    def _one_of(self) -> Ballistic:
        if (self.apogee_km is None) == (self.time_of_flight_s is None):
            raise ValueError("give exactly one of apogee_km or time_of_flight_s")
        return self


class Raid(_Model):
    """A group of identical threats: route or ballistic arc, staggered in time."""

    name: Name
    type: Name = Field(description="Threat type label used in summaries, e.g. 'cruise missile'.")
    count: int = Field(ge=1, le=200_000)
    target: Name = Field(description="Name of the asset attacked.")
    launch_time_s: float = Field(0.0, ge=0.0, le=86_400.0)
    launch_spread_s: float = Field(
        0.0, ge=0.0, le=86_400.0, description="Launches evenly spread over this span."
    )
    rcs_m2: float = Field(ge=1e-5, le=1e4)
    speed_mps: float | None = Field(None, gt=0.0, le=8000.0, description="Route speed (routes).")
    route: list[Waypoint] | None = Field(None, description="Route flown, first to last waypoint.")
    lateral_spacing_km: float = Field(
        0.0, ge=0.0, le=100.0, description="Spacing of the raid's members across the route."
    )
    release_range_km: float = Field(
        0.0, ge=0.0, le=2000.0, description="The threat leaks this far before its route's end."
    )
    ballistic: Ballistic | None = None
    damage: float = Field(0.1, ge=0.0, le=1.0, description="Fraction of asset value destroyed.")
    source: str = Field("assumed")

    @model_validator(mode="after")
    def _route_or_ballistic(self) -> Raid:
        if (self.route is None) == (self.ballistic is None):
            raise ValueError("give exactly one of route or ballistic")
        if self.route is not None:
            if len(self.route) < 2:
                raise ValueError(
                    f"route needs at least 2 waypoints (start and end), got {len(self.route)}"
                )
            if self.speed_mps is None:
                raise ValueError("a route needs speed_mps")
        return self


class Doctrine(_Model):
    """How the command post engages."""

    salvo_size: int = Field(2, ge=1, le=16, description="Missiles fired per engagement.")
    engage_order: Literal["threat_score", "time_to_go", "range"] = "threat_score"
    decision_period_s: float = Field(2.0, gt=0.0, le=600.0)


class TrackerSettings(_Model):
    """Multi-target tracker settings (constant-velocity Kalman filter, GNN)."""

    process_noise_mps2: float = Field(
        20.0, gt=0.0, le=1000.0, description="White-noise acceleration density sqrt(q), m/s^2."
    )
    gate_probability: float = Field(0.9999, gt=0.5, lt=1.0)
    confirm_m: int = Field(2, ge=1, le=8)
    confirm_n: int = Field(3, ge=1, le=8)
    delete_misses: int = Field(
        12, ge=1, le=100, description="Consecutive missed looks that drop a track."
    )
    max_coast_s: float = Field(
        25.0, gt=0.0, le=3600.0, description="Time without an update that drops a track."
    )
    init_velocity_sigma_mps: float = Field(800.0, gt=0.0, le=10_000.0)

    @model_validator(mode="after")
    def _m_of_n(self) -> TrackerSettings:
        if self.confirm_m > self.confirm_n:
            raise ValueError("confirm_m must not exceed confirm_n")
        return self


class RunSettings(_Model):
    """Simulated time and randomness."""

    duration_s: float = Field(gt=0.0, le=7 * 86_400.0)
    step_s: float = Field(1.0, gt=0.0, le=60.0)
    seed: int = Field(0, ge=0)


class Scenario(_Model):
    """A complete scenario. Parameters are labelled approximations of public figures."""

    name: Name
    description: str = ""
    provenance: str = Field(
        "assumed", description="Where the parameters come from; approximations are labelled."
    )
    origin: Origin
    run: RunSettings
    assets: list[Asset] = Field(min_length=1)
    radars: list[Radar] = Field(min_length=1)
    missiles: dict[Name, MissileType] = Field(min_length=1)
    batteries: list[Battery] = Field(min_length=1)
    raids: list[Raid] = Field(min_length=1)
    doctrine: Doctrine = Doctrine()
    tracker: TrackerSettings = TrackerSettings()
