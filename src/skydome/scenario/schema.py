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

import functools
import math
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from skydome.constants import G0_MPS2
from skydome.scenario import limits as L

__all__ = [
    "NAME_PATTERN",
    "NAME_RULE",
    "Asset",
    "Ballistic",
    "Battery",
    "Doctrine",
    "Evasion",
    "FireChannels",
    "Jammer",
    "MissilePhysics",
    "MissileType",
    "Origin",
    "Point",
    "Radar",
    "Raid",
    "RunSettings",
    "Scenario",
    "Sector",
    "Terminal",
    "TrackerSettings",
    "Waypoint",
    "Weave",
    "unwrap_type",
]

NAME_PATTERN = r"^[^.\s][^.]*$"
NAME_RULE = (
    "a name must not start with a space or contain '.' ('.' separates the parts of a --set path)"
)
"""`NAME_PATTERN` in words, for error messages."""
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=NAME_PATTERN)]
EastKm = Annotated[float, Field(ge=-3000.0, le=3000.0, description="km east of the origin")]
NorthKm = Annotated[float, Field(ge=-3000.0, le=3000.0, description="km north of the origin")]


def unwrap_type(tp: Any) -> Any:
    """`X | None` -> X; Annotated[X, ...] -> X."""
    while True:
        if typing.get_origin(tp) is Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _is_number(tp: Any) -> bool:
    tp = unwrap_type(tp)
    if typing.get_origin(tp) is Literal:
        return all(
            isinstance(a, int | float) and not isinstance(a, bool) for a in typing.get_args(tp)
        )
    return tp in (int, float)


@functools.cache
def _number_kind(cls: type[BaseModel], field: str) -> str:
    """'scalar' (a number), 'values' (a mapping of numbers) or '' for a field of `cls`."""
    info = cls.model_fields.get(field)
    if info is None:
        return ""
    tp = unwrap_type(info.annotation)
    if _is_number(tp):
        return "scalar"
    if typing.get_origin(tp) is dict and _is_number(typing.get_args(tp)[1]):
        return "values"
    return ""


def _bool_error(value: bool) -> PydanticCustomError:
    return PydanticCustomError(
        "bool_not_number", "expected a number, got {got}", {"got": str(value).lower()}
    )


class _Model(BaseModel):
    """Base: unknown fields are errors, models are immutable, numbers are finite.

    YAML reads `true`/`false` (and `yes`/`no`) as booleans, which pydantic would
    quietly take as 1 and 0: a number field rejects them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        kind = _number_kind(cls, info.field_name) if info.field_name else ""
        if kind == "scalar" and isinstance(value, bool):
            raise _bool_error(value)
        if kind == "values" and isinstance(value, dict):
            bad = [
                InitErrorDetails(type=_bool_error(v), loc=(k,), input=v)
                for k, v in value.items()
                if isinstance(v, bool)
            ]
            if bad:
                raise ValidationError.from_exception_data(cls.__name__, bad)
        return value


class Origin(_Model):
    """Geodetic origin of the local frame (WGS-84)."""

    lat_deg: float = Field(ge=-90.0, le=90.0, description="Latitude, degrees north.")
    lon_deg: float = Field(ge=-180.0, le=180.0, description="Longitude, degrees east.")
    alt_m: float = Field(0.0, ge=-500.0, le=9000.0, description="Ground altitude, metres.")


class Point(_Model):
    """A ground position in the local frame."""

    east_km: EastKm = Field(description="East of the origin.")
    north_km: NorthKm = Field(description="North of the origin.")


class Waypoint(_Model):
    """A route point: ground position and altitude above the surface."""

    east_km: EastKm = Field(description="East of the origin.")
    north_km: NorthKm = Field(description="North of the origin.")
    altitude_m: float = Field(ge=0.0, le=40_000.0, description="Altitude above ground, metres.")


class Asset(_Model):
    """A defended asset: what the threats attack and the defence protects."""

    name: Name = Field(description="Unique asset name; raids name it as `target`.")
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

    center_deg: float = Field(0.0, ge=-360.0, le=360.0, description="Sector centre bearing.")
    width_deg: float = Field(360.0, gt=0.0, le=360.0, description="Full sector width.")


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

    @model_validator(mode="after")
    def _elevations_ordered(self) -> Radar:
        if self.max_elevation_deg <= self.min_elevation_deg:
            raise ValueError("max_elevation_deg must exceed min_elevation_deg")
        if self.track_channels is not None and self.scan != "esa":
            raise ValueError("track_channels needs scan: esa")
        return self


class MissilePhysics(_Model):
    """Physical parameters of an interceptor for the `guided` flyout (3-DOF point mass).

    Approximations or assumptions, not published data: tune them so that the type's
    own physics reaches its tabled range and ceiling (`skydome.engagement.guided
    .physics_envelope` checks this; see docs/models.md).
    """

    launch_mass_kg: float = Field(gt=0.0, le=100_000.0, description="Mass at launch.")
    boost_thrust_kn: float = Field(gt=0.0, le=10_000.0, description="Boost-phase thrust.")
    boost_s: float = Field(gt=0.0, le=600.0, description="Boost burn time.")
    sustain_thrust_kn: float = Field(0.0, ge=0.0, le=10_000.0, description="Sustain thrust.")
    sustain_s: float = Field(0.0, ge=0.0, le=600.0, description="Sustain burn time.")
    isp_s: float = Field(250.0, gt=50.0, le=500.0, description="Specific impulse (mass flow).")
    diameter_m: float = Field(gt=0.0, le=5.0, description="Body diameter (drag reference area).")
    drag_coefficient: float = Field(
        0.3, ge=0.0, le=5.0, description="Zero-lift drag coefficient (constant)."
    )
    max_lateral_g: float = Field(
        30.0, gt=0.0, le=200.0, description="Lateral acceleration limit at sea level, g."
    )
    lift_area_m2: float | None = Field(
        None,
        gt=0.0,
        le=100.0,
        description="Reference area times maximum lift coefficient: the lateral limit is "
        "then q x lift_area / mass (q = rho V^2 / 2), capped at max_lateral_g; none: "
        "max_lateral_g scaled by air density.",
    )
    min_lateral_g: float = Field(
        2.0,
        ge=0.0,
        le=200.0,
        description="The limit never drops below this at altitude (thrust vector, jets), g.",
    )
    navigation_ratio: float = Field(4.0, ge=2.0, le=8.0, description="Effective PN gain N'.")
    augmented_pn: bool = Field(
        False, description="Augmented PN in the terminal phase (against manoeuvring targets)."
    )
    seeker_range_km: float = Field(
        20.0,
        gt=0.0,
        le=1000.0,
        description="Terminal homing starts (the seeker acquires) this far from the target.",
    )
    lethal_radius_m: float = Field(
        20.0, gt=0.0, le=1000.0, description="A miss this close kills with probability pk."
    )
    seeker_angle_noise_mrad: float = Field(
        0.0,
        ge=0.0,
        le=100.0,
        description="1-sigma angle noise of the seeker: the homing sees the target off by "
        "this times the range, per axis, drawn anew every guidance step (0: ideal).",
    )
    seeker_glint_m: float = Field(
        0.0,
        ge=0.0,
        le=100.0,
        description="1-sigma glint of the target as the seeker sees it, per axis (0: ideal).",
    )
    loft_angle_deg: float = Field(
        0.0,
        ge=0.0,
        le=80.0,
        description="Lofted midcourse: climb at this angle to loft_ceiling_km, cruise, and "
        "descend onto the target at the same angle (0: fly straight at the target).",
    )
    loft_ceiling_km: float = Field(
        30.0, gt=0.0, le=300.0, description="Cruise altitude of a lofted midcourse."
    )
    min_speed_mps: float = Field(
        250.0, ge=0.0, le=5000.0, description="Below this after burn-out the missile is spent."
    )

    @model_validator(mode="after")
    def _mass_flow(self) -> MissilePhysics:
        g0 = G0_MPS2
        burnt = (
            self.boost_thrust_kn * 1e3 * self.boost_s
            + self.sustain_thrust_kn * 1e3 * self.sustain_s
        ) / (self.isp_s * g0)
        if burnt >= self.launch_mass_kg:
            raise ValueError(
                f"the motor burns {burnt:.0f} kg of propellant, more than the launch mass "
                f"({self.launch_mass_kg:g} kg)"
            )
        return self


class MissileType(_Model):
    """An interceptor type of the library: its engagement envelope and lethality."""

    min_range_km: float = Field(ge=0.0, le=5000.0, description="Nearest intercept (ground).")
    max_range_km: float = Field(gt=0.0, le=5000.0, description="Farthest intercept (ground).")
    min_altitude_m: float = Field(0.0, ge=0.0, le=100_000.0, description="Lowest intercept.")
    max_altitude_km: float = Field(gt=0.0, le=300.0, description="Highest intercept.")
    average_speed_mps: float = Field(
        gt=0.0, le=8000.0, description="Mean speed over the flyout (kinematic flyout)."
    )
    max_target_speed_mps: float = Field(
        gt=0.0, le=8000.0, description="Fastest target the type can engage."
    )
    pk: float = Field(ge=0.0, le=1.0, description="Single-shot kill probability.")
    homing_basket_m: float = Field(
        2000.0,
        gt=0.0,
        le=100_000.0,
        description="Largest error of the predicted intercept point the terminal homing removes.",
    )
    max_flight_time_s: float | None = Field(
        None, gt=0.0, le=3600.0, description="Longest flight (motor, guidance); none: no limit."
    )
    cost: float = Field(
        1.0, gt=0.0, le=1e9, description="Relative cost; the cheapest adequate type is used."
    )
    physics: MissilePhysics | None = Field(
        None, description="3-DOF physics for `run.flyout: guided` (required there)."
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

    targets: int = Field(ge=1, le=10_000, description="Targets engaged at once.")
    missiles: int = Field(ge=1, le=20_000, description="Missiles guided at once.")


class Battery(_Model):
    """A fire unit: launchers with their missile loads and a fire-control system."""

    name: Name = Field(description="Unique battery name.")
    position: Point
    launchers: int = Field(ge=0, le=1000, description="Number of launchers.")
    load: dict[Name, Annotated[int, Field(ge=0, le=1000)]] = Field(
        description="Missiles of each library type carried by one launcher (0 to 1,000).",
        min_length=1,
    )
    fire_channels: FireChannels
    reaction_time_s: float = Field(10.0, ge=0.0, le=600.0, description="Decision to launch.")
    launch_interval_s: float = Field(
        3.0, ge=0.0, le=600.0, description="Between two launches from one launcher."
    )
    reserve: dict[Name, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict,
        description="Reload missiles of each type held by the battery (0 to 1,000,000).",
    )
    reload_time_s: float = Field(
        900.0, ge=0.0, le=86_400.0, description="To refill an empty launcher from the reserve."
    )
    fire_control_radar: Name | None = Field(
        None,
        description="Radar that must see the intercept point (line of sight, range, sector); "
        "none: any confirmed track can be engaged.",
    )


class Ballistic(_Model):
    """A ballistic arc from a launch point to the raid's target asset."""

    launch: Point = Field(description="Launch point (the impact point is the target asset).")
    apogee_km: float | None = Field(None, gt=0.0, le=1500.0, description="Highest altitude.")
    time_of_flight_s: float | None = Field(
        None, gt=0.0, le=3600.0, description="Launch to impact (instead of apogee_km)."
    )
    ballistic_coefficient_kg_m2: float | None = Field(
        None,
        ge=50.0,
        le=1e6,
        description="beta = m / (Cd A) of the re-entering body: below 100 km (or the apogee) "
        "it descends on a straight line slowed by drag (Allen-Eggers); none: vacuum arc.",
    )

    @model_validator(mode="after")
    def _one_of(self) -> Ballistic:
        if (self.apogee_km is None) == (self.time_of_flight_s is None):
            raise ValueError("give exactly one of apogee_km or time_of_flight_s")
        return self


class Jammer(_Model):
    """A barrage noise jammer carried by each member of a raid, radiating while airborne."""

    erp_dbw: float = Field(
        ge=-30.0, le=100.0, description="Effective radiated power towards the radars, dBW."
    )
    bandwidth_mhz: float = Field(
        gt=0.0, le=100_000.0, description="Barrage bandwidth (power spread evenly), MHz."
    )


class Weave(_Model):
    """A sinusoidal weave across the ground track (route raids)."""

    g: float = Field(gt=0.0, le=40.0, description="Peak lateral acceleration, in g.")
    period_s: float = Field(gt=0.5, le=600.0, description="Period of one full weave, seconds.")
    start_range_km: float | None = Field(
        None, gt=0.0, le=5000.0, description="Start this far (path length) before the route's end."
    )
    after_s: float | None = Field(
        None, ge=0.0, le=86_400.0, description="Start this long after launch (default 0)."
    )

    @model_validator(mode="after")
    def _one_start(self) -> Weave:
        if self.start_range_km is not None and self.after_s is not None:
            raise ValueError("give at most one of start_range_km or after_s")
        return self


class Terminal(_Model):
    """A pop-up and terminal dive before the route's end (cruise missiles).

    Expanded into route waypoints at compile time: the threat leaves its route
    `popup_range_km` (ground distance along the route) before the end, climbs on a
    straight line towards the end point to `popup_altitude_m`, and dives onto the
    end point at `dive_angle_deg`.
    """

    popup_range_km: float = Field(
        gt=0.0, le=200.0, description="Start of the climb (ground distance before the end)."
    )
    popup_altitude_m: float = Field(gt=0.0, le=20_000.0, description="Top of the pop-up, metres.")
    dive_angle_deg: float = Field(gt=0.0, le=90.0, description="Dive angle below horizontal.")


class Evasion(_Model):
    """An evasive break when first illuminated (first missile launched at the threat)."""

    g: float = Field(gt=0.0, le=40.0, description="Peak lateral acceleration, in g.")
    duration_s: float = Field(
        gt=0.0, le=600.0, description="Duration of the break, back on the route at its end."
    )


class Raid(_Model):
    """A group of identical threats: route or ballistic arc, staggered in time."""

    name: Name = Field(description="Unique raid name.")
    type: Name = Field(description="Threat type label used in summaries, e.g. 'cruise missile'.")
    count: int = Field(ge=1, le=200_000, description="Number of threats in the raid.")
    target: Name = Field(description="Name of the asset attacked.")
    launch_time_s: float = Field(0.0, ge=0.0, le=86_400.0, description="First launch.")
    launch_spread_s: float = Field(
        0.0, ge=0.0, le=86_400.0, description="Launches evenly spread over this span."
    )
    rcs_m2: float = Field(ge=1e-5, le=1e4, description="Radar cross-section (mean).")
    speed_mps: float | None = Field(None, gt=0.0, le=8000.0, description="Route speed (routes).")
    route: list[Waypoint] | None = Field(
        None, max_length=L.MAX_WAYPOINTS, description="Route flown, first to last waypoint."
    )
    lateral_spacing_km: float = Field(
        0.0, ge=0.0, le=100.0, description="Spacing of the raid's members across the route."
    )
    release_range_km: float = Field(
        0.0, ge=0.0, le=2000.0, description="The threat leaks this far before its route's end."
    )
    ballistic: Ballistic | None = Field(None, description="Ballistic arc (instead of a route).")
    turn_g: float | None = Field(
        None,
        gt=0.0,
        le=40.0,
        description="Route corners flown as coordinated level turns of this lateral "
        "acceleration, in g (radius v^2 / (turn_g g)); none: sharp corners.",
    )
    weave: Weave | None = Field(None, description="Sinusoidal weave across the track (routes).")
    terminal: Terminal | None = Field(
        None, description="Pop-up and terminal dive onto the route's end (routes)."
    )
    evasion: Evasion | None = Field(None, description="Evasive break when first engaged (routes).")
    damage: float = Field(0.1, ge=0.0, le=1.0, description="Fraction of asset value destroyed.")
    swerling: Literal[0, 1, 3] = Field(
        1, description="RCS fluctuation: Swerling case 0 (steady), 1 or 3, scan to scan."
    )
    jammer: Jammer | None = Field(
        None, description="Each member carries a barrage noise jammer (stand-off or escort)."
    )
    source: str = Field("assumed", description="Where the figures come from.")

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

    @model_validator(mode="after")
    def _manoeuvres_need_a_route(self) -> Raid:
        for what in ("turn_g", "weave", "terminal", "evasion"):
            if getattr(self, what) is not None and self.route is None:
                raise ValueError(f"{what} needs a route (not a ballistic arc)")
        t = self.terminal
        if t is not None and self.route is not None and len(self.route) >= 2:
            xy = [(w.east_km, w.north_km) for w in self.route]
            ground_km = sum(math.dist(p, q) for p, q in zip(xy[:-1], xy[1:], strict=True))
            if t.popup_range_km >= ground_km:
                raise ValueError(
                    f"terminal.popup_range_km ({t.popup_range_km:g}) must be shorter than "
                    f"the route's ground length ({ground_km:.1f} km)"
                )
            end_m = self.route[-1].altitude_m
            if t.popup_altitude_m <= end_m:
                raise ValueError(
                    f"terminal.popup_altitude_m ({t.popup_altitude_m:g}) must be above the "
                    f"route's end ({end_m:g} m)"
                )
            dive_km = (t.popup_altitude_m - end_m) / math.tan(math.radians(t.dive_angle_deg)) / 1e3
            if dive_km >= t.popup_range_km:
                raise ValueError(
                    f"the dive needs {dive_km:.2f} km of ground: terminal.popup_range_km "
                    f"({t.popup_range_km:g}) must be longer (or dive_angle_deg steeper)"
                )
        return self


class Doctrine(_Model):
    """How the command post evaluates threats and engages them."""

    salvo_size: int = Field(2, ge=1, le=16, description="Missiles fired per engagement.")
    policy: Literal["shoot_look_shoot", "shoot_shoot"] = Field(
        "shoot_look_shoot",
        description="shoot_look_shoot: engage a track again only after its missiles are "
        "assessed (a miss); shoot_shoot: fire again while missiles are still in the air, "
        "up to max_missiles_per_target.",
    )
    max_missiles_per_target: int | None = Field(
        None, ge=1, le=64, description="Missiles in the air at one track at most (default: salvo)."
    )
    kill_assessment_s: float = Field(
        4.0, ge=0.0, le=600.0, description="From intercept until the outcome is known."
    )
    max_track_age_s: float = Field(
        5.0,
        gt=0.0,
        le=3600.0,
        description="Engage only tracks updated this recently (fire-control quality).",
    )
    engage_order: Literal["threat_score", "time_to_go", "range"] = Field(
        "threat_score", description="Which threats are served first (greedy planner)."
    )
    decision_period_s: float = Field(
        2.0, gt=0.0, le=600.0, description="Time between engagement decisions."
    )
    planner: Literal["greedy", "wta"] = Field(
        "greedy",
        description="greedy: a salvo for each threat in priority order, cheapest adequate "
        "missile; wta: solve the weapon-target assignment (value at risk vs missile cost) "
        "each decision cycle.",
    )
    wta_solver: Literal["auto", "exact", "heuristic"] = Field(
        "heuristic", description="Solver for planner 'wta'."
    )
    wta_time_limit_s: float = Field(
        0.2, gt=0.0, le=600.0, description="Wall-time budget per decision (planner 'wta')."
    )
    missile_cost_weight: float = Field(
        1.0, ge=0.0, le=1e9, description="Value units per unit of missile cost (planner 'wta')."
    )
    tgo_softening_s: float = Field(
        60.0, gt=0.0, le=3600.0, description="Added to time-to-go in the threat score."
    )
    type_weights: dict[Name, Annotated[float, Field(ge=0.0, le=1e6)]] = Field(
        default_factory=dict,
        description="Threat-score multiplier per threat type label (default 1; 0 to 1e6); "
        "identification is assumed perfect.",
    )


class TrackerSettings(_Model):
    """Multi-target tracker settings: motion model, gating, track management.

    Kalman filters batched over all tracks; chi-square gating behind a k-d tree;
    global-nearest-neighbour assignment per cluster; M-of-N confirmation. See
    the Tracking section of docs/models.md.
    """

    motion_model: Literal["cv", "ca", "imm"] = Field(
        "cv",
        description="cv: constant velocity; ca: constant acceleration; imm: interacting "
        "multiple models (quiet constant velocity + high-noise manoeuvre model).",
    )
    process_noise_mps2: float = Field(
        20.0, gt=0.0, le=1000.0, description="White-noise acceleration density sqrt(q), m/s^2."
    )
    manoeuvre_noise_mps2: float = Field(
        60.0,
        gt=0.0,
        le=2000.0,
        description="White-noise acceleration of the IMM manoeuvre mode (imm), m/s^2.",
    )
    jerk_noise_mps3: float = Field(
        5.0, gt=0.0, le=1000.0, description="White-noise jerk density of the ca model, m/s^3."
    )
    imm_cruise_s: float = Field(
        60.0, gt=0.0, le=86_400.0, description="Mean time between manoeuvres (imm), s."
    )
    imm_manoeuvre_s: float = Field(
        15.0, gt=0.0, le=86_400.0, description="Mean duration of a manoeuvre (imm), s."
    )
    gate_probability: float = Field(
        0.9999, gt=0.5, lt=1.0, description="Chi-square gate probability (3 dof)."
    )
    confirm_m: int = Field(2, ge=1, le=8, description="Hits needed to confirm ...")
    confirm_n: int = Field(3, ge=1, le=8, description="... within this many looks.")
    delete_misses: int = Field(
        12, ge=1, le=100, description="Consecutive missed looks that drop a track."
    )
    max_coast_s: float = Field(
        25.0, gt=0.0, le=3600.0, description="Time without an update that drops a track."
    )
    max_position_sigma_m: float = Field(
        20_000.0,
        gt=0.0,
        le=1e7,
        description="A track whose RMS position standard deviation per axis grows beyond "
        "this is dropped (covariance growth).",
    )
    init_velocity_sigma_mps: float = Field(
        800.0, gt=0.0, le=10_000.0, description="Velocity uncertainty of a new track."
    )
    max_speed_mps: float = Field(
        5_000.0,
        gt=0.0,
        le=100_000.0,
        description="Fastest plausible target: a tentative track faster than this by more "
        "than three standard deviations is dropped.",
    )
    detection_probability: float = Field(
        0.9, gt=0.0, lt=1.0, description="Assumed Pd, for the track quality score."
    )
    false_alarm_density_per_km3: float = Field(
        1e-3,
        gt=0.0,
        le=1e6,
        description="Assumed false-alarm density, for the track quality score, per km^3.",
    )

    @model_validator(mode="after")
    def _m_of_n(self) -> TrackerSettings:
        if self.confirm_m > self.confirm_n:
            raise ValueError("confirm_m must not exceed confirm_n")
        return self


class RunSettings(_Model):
    """Simulated time and randomness."""

    duration_s: float = Field(gt=0.0, le=7 * 86_400.0, description="Simulated time.")
    step_s: float = Field(1.0, gt=0.0, le=60.0, description="Engine tick.")
    seed: int = Field(0, ge=0, lt=2**63, description="Replication seed (overridden by --seed).")
    flyout: Literal["kinematic", "guided"] = Field(
        "kinematic",
        description="kinematic: average speed to the predicted intercept point (fast); "
        "guided: 3-DOF point-mass missiles with midcourse and PN homing (every missile "
        "type needs `physics`).",
    )
    guidance_step_s: float = Field(
        0.05, ge=1e-3, le=1.0, description="Integration step of the guided flyout."
    )


class Scenario(_Model):
    """A complete scenario. Parameters are labelled approximations of public figures."""

    name: Name = Field(description="Scenario name; used in output directory names.")
    description: str = Field("", description="One paragraph for `skydome scenarios`.")
    provenance: str = Field(
        "assumed", description="Where the parameters come from; approximations are labelled."
    )
    origin: Origin = Field(description="Geodetic origin of the local map frame.")
    run: RunSettings = Field(description="Duration, time step and seed.")
    assets: list[Asset] = Field(
        min_length=1, max_length=L.MAX_ASSETS, description="Defended assets."
    )
    radars: list[Radar] = Field(
        min_length=1, max_length=L.MAX_RADARS, description="Radars feeding the air picture."
    )
    missiles: dict[Name, MissileType] = Field(
        min_length=1,
        max_length=L.MAX_MISSILE_TYPES,
        description="Interceptor library, keyed by type name.",
    )
    batteries: list[Battery] = Field(
        min_length=1, max_length=L.MAX_BATTERIES, description="Fire units."
    )
    raids: list[Raid] = Field(
        min_length=1, max_length=L.MAX_RAIDS, description="The attack, as groups of threats."
    )
    doctrine: Doctrine = Doctrine()
    tracker: TrackerSettings = TrackerSettings()

    @model_validator(mode="after")
    def _within_limits(self) -> Scenario:
        """Totals that would not finish or fit (`skydome.scenario.limits`), before compile."""
        problems = L.size_problems(self)
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("scenario_limit", msg), loc=loc, input=None
                    )
                    for loc, msg in problems
                ],
            )
        return self
