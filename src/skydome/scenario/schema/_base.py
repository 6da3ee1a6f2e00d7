"""Shared pieces of the scenario schema: the strict base model, names, ground positions."""

from __future__ import annotations

import functools
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
)
from pydantic_core import InitErrorDetails, PydanticCustomError

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
