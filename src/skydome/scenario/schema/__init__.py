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

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from skydome.scenario import limits as L
from skydome.scenario.schema._base import (
    NAME_PATTERN,
    NAME_RULE,
    Asset,
    Name,
    Origin,
    Point,
    Sector,
    Waypoint,
    _Model,
    unwrap_type,
)
from skydome.scenario.schema.command import Doctrine, RunSettings, TrackerSettings
from skydome.scenario.schema.identification import DecoyRecognition, Identification, Iff
from skydome.scenario.schema.raids import Arm, Ballistic, Evasion, Jammer, Raid, Terminal, Weave
from skydome.scenario.schema.sensors import Emission, Radar
from skydome.scenario.schema.weapons import Battery, FireChannels, MissilePhysics, MissileType

__all__ = [
    "NAME_PATTERN",
    "NAME_RULE",
    "Arm",
    "Asset",
    "Ballistic",
    "Battery",
    "DecoyRecognition",
    "Doctrine",
    "Emission",
    "Evasion",
    "FireChannels",
    "Identification",
    "Iff",
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
    identification: Identification | None = Field(
        None,
        description="Decoy discrimination, IFF and rules of engagement (none: perfect "
        "identification, every track engaged).",
    )

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
