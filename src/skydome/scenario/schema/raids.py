"""Scenario schema: raids and the threats' manoeuvres, jammers and ballistic arcs."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from skydome.scenario import limits as L
from skydome.scenario.schema._base import Name, Point, Waypoint, _Model


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
    """An evasive break when the threat is first engaged.

    `trigger: launch` breaks when the first missile is launched at it (a radar
    warning receiver hears the fire-control radar); `trigger: time_to_go`
    breaks `time_to_go_s` before that missile's predicted intercept (a missile
    approach warner, or the seeker's lock: the end-game break).
    """

    g: float = Field(gt=0.0, le=40.0, description="Peak lateral acceleration, in g.")
    duration_s: float = Field(
        gt=0.0, le=600.0, description="Duration of the break, back on the route at its end."
    )
    trigger: Literal["launch", "time_to_go"] = Field(
        "launch",
        description="When the break starts: at the first launch at the threat, or "
        "time_to_go_s before that missile's predicted intercept (end-game).",
    )
    time_to_go_s: float = Field(
        10.0,
        gt=0.0,
        le=600.0,
        description="With trigger time_to_go: seconds before the predicted intercept.",
    )


class Arm(_Model):
    """An anti-radiation missile's seeker and warhead.

    The raid attacks the radar its `target` names; its route ends at that radar's
    antenna (appended to the route).

    Defaults are assumed (no public figure: PUBLIC_FIGURES.md, docs/sources.md).
    """

    acquisition_range_km: float = Field(
        60.0, gt=0.0, le=1000.0, description="Seeker acquires an emitting radar this close."
    )
    memory_s: float = Field(
        10.0,
        ge=0.0,
        le=3600.0,
        description="Silence before impact the seeker bridges at homing accuracy, seconds.",
    )
    cep_m: float = Field(
        7.0, gt=0.0, le=10_000.0, description="CEP homing on an emitting radar, metres."
    )
    memory_cep_m: float = Field(
        30.0,
        gt=0.0,
        le=10_000.0,
        description="CEP on the remembered position (silence longer than memory_s), metres.",
    )
    drift_mps: float = Field(
        2.0,
        ge=0.0,
        le=1000.0,
        description="Growth of the memory CEP per second of silence beyond memory_s, m/s.",
    )
    lethal_radius_m: float = Field(
        10.0, gt=0.0, le=1000.0, description="Lethal radius against the radar, metres."
    )
    kill_probability: float = Field(
        1.0, gt=0.0, le=1.0, description="Probability a warhead within the lethal radius kills."
    )


class Raid(_Model):
    """A group of identical threats: route or ballistic arc, staggered in time."""

    name: Name = Field(description="Unique raid name.")
    type: Name = Field(description="Threat type label used in summaries, e.g. 'cruise missile'.")
    count: int = Field(ge=1, le=200_000, description="Number of threats in the raid.")
    target: Name | None = Field(
        None, description="Name of the asset attacked (hostile and decoy raids; not friendly)."
    )
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
    arm: Arm | None = Field(
        None,
        description="Anti-radiation missiles: `target` names a radar (not an asset), the route "
        "(one waypoint or more) ends at its antenna; damage is not used.",
    )
    source: str = Field("assumed", description="Where the figures come from.")
    kind: Literal["hostile", "decoy", "friendly"] = Field(
        "hostile",
        description="hostile: attacks its target; decoy: flies like one, no warhead (damage "
        "ignored: 0); friendly: own aircraft on a route, no target, never a leaker "
        "(see the identification section).",
    )

    @model_validator(mode="after")
    def _target_by_kind(self) -> Raid:
        if self.arm is not None and self.kind != "hostile":
            raise ValueError(f"an anti-radiation missile (arm) raid is hostile, not {self.kind}")
        if self.kind == "friendly":
            if self.target is not None:
                raise ValueError("a friendly raid attacks nothing: remove target")
            if self.route is None:
                raise ValueError("a friendly raid needs a route (not a ballistic arc)")
        elif self.target is None:
            raise ValueError(f"a {self.kind} raid needs target (the name of the asset attacked)")
        return self

    @model_validator(mode="after")
    def _route_or_ballistic(self) -> Raid:
        if (self.route is None) == (self.ballistic is None):
            raise ValueError("give exactly one of route or ballistic")
        if self.arm is not None and self.route is None:
            raise ValueError("an anti-radiation missile (arm) needs a route, not a ballistic arc")
        if self.arm is not None and self.release_range_km > 0.0:
            raise ValueError("an anti-radiation missile (arm) has no release_range_km")
        if self.route is not None:
            if len(self.route) < (1 if self.arm is not None else 2):
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
