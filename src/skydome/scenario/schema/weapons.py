"""Scenario schema: interceptor types, their 3-DOF physics, and batteries."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from skydome.constants import G0_MPS2
from skydome.scenario.schema._base import Name, Point, _Model

BALLISTIC_CLASS = "ballistic"
"""Key of `pk_against` / `max_target_speed_against_mps` matching every threat type
flown on a ballistic arc (a raid with `ballistic:`), whatever its label."""


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
        False,
        description="Augmented PN in the terminal phase (against manoeuvring targets): "
        "the same as guidance_law: apn; only with guidance_law tpn or apn.",
    )
    guidance_law: Literal["pn", "tpn", "apn", "zem"] = Field(
        "tpn",
        description="Homing law: pn (pure PN, N' x LOS rate x missile velocity), tpn (true "
        "PN, N' Vc x LOS rate, with command preservation), apn (tpn plus N'/2 x the "
        "target's acceleration normal to the LOS), zem (N' x zero-effort miss / t_go^2); "
        "see docs/models.md.",
    )
    autopilot_time_constant_s: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="First-order flight-control lag: the achieved lateral acceleration "
        "follows the command with this time constant (0: at once).",
    )
    max_lateral_jerk_g_per_s: float | None = Field(
        None,
        gt=0.0,
        le=100_000.0,
        description="Rate limit of the achieved lateral acceleration, g/s (none: no limit).",
    )
    launch: Literal["pointed", "vertical"] = Field(
        "pointed",
        description="pointed: leaves the launcher along the line to its first aim point (at "
        "least 10 deg up); vertical: leaves straight up and turns over towards it at "
        "turnover_rate_deg_s before guidance takes over.",
    )
    turnover_rate_deg_s: float = Field(
        60.0,
        gt=0.0,
        le=360.0,
        description="Turn-over rate of a vertical launch (gas-dynamic or thrust-vector "
        "control), deg/s.",
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

    @model_validator(mode="after")
    def _augmented_law(self) -> MissilePhysics:
        if self.augmented_pn and self.guidance_law not in ("tpn", "apn"):
            raise ValueError(
                f"augmented_pn applies to guidance_law tpn or apn, not {self.guidance_law}"
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
    pk: float = Field(
        ge=0.0, le=1.0, description="Single-shot kill probability (any threat not in pk_against)."
    )
    pk_against: dict[Name, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict,
        description="Single-shot Pk against a threat type (a raid's `type` label, or "
        "'ballistic' for every type flown on a ballistic arc; a label wins over "
        "'ballistic'), 0 to 1; a type not listed gets pk.",
    )
    max_target_speed_against_mps: dict[Name, Annotated[float, Field(gt=0.0, le=8000.0)]] = Field(
        default_factory=dict,
        description="Fastest target the type can engage, per threat type (keys as in "
        "pk_against), m/s (0 to 8,000); a type not listed gets max_target_speed_mps.",
    )
    homing_basket_m: float = Field(
        2000.0,
        gt=0.0,
        le=100_000.0,
        description="Largest error of the predicted intercept point the terminal homing removes.",
    )
    homing_miss_sigma_m: float | None = Field(
        None,
        gt=0.0,
        le=1000.0,
        description="End-game miss of the terminal homing, 1 sigma per axis (the kinematic "
        "flyout draws a resolved missile's miss distance from it, Rayleigh); none: half the "
        "physics' lethal_radius_m, or 5 m without physics (assumed).",
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


def against_problems(
    missiles: Mapping[str, MissileType], threat_types: Iterable[str]
) -> list[tuple[tuple[str, ...], str]]:
    """Keys of `pk_against` / `max_target_speed_against_mps` that name no threat type.

    Args:
        missiles: the scenario's missile library, by type name.
        threat_types: the raids' `type` labels.

    Returns:
        (field path, message) of each unknown key, with the expected names and
        the closest one ("did you mean").
    """
    types = sorted(set(threat_types))
    allowed = [*types, BALLISTIC_CLASS]
    problems: list[tuple[tuple[str, ...], str]] = []
    for name, m in missiles.items():
        for field in ("pk_against", "max_target_speed_against_mps"):
            for key in getattr(m, field):
                if key in allowed:
                    continue
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(
                    (
                        ("missiles", name, field, key),
                        f"no raid has threat type {key!r}: expected a raid's type "
                        f"({', '.join(repr(t) for t in types)}) or {BALLISTIC_CLASS!r}{hint}",
                    )
                )
    return problems


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
    radars: list[Name] | None = Field(
        None,
        max_length=64,
        description="The battery's own radars (networking: doctrine.network); none: its "
        "fire_control_radar if given, else every radar.",
    )
    cue_delay_s: float = Field(
        0.0,
        ge=0.0,
        le=3600.0,
        description="Networked: a track held only by other units' radars may be engaged "
        "this long after their first update (data link and hand-over delay).",
    )
