"""The `skydome wta` instance file: JSON, validated with bounded work.

INSTANCE.json: ``{"values": [V_j ...], "pk": [[p_ij ...] per weapon]}``, optionally
``"weapon_counts": [n_i ...]`` when rows are weapon types, ``"costs": [c_i ...]``
(cost of firing one weapon of row i, in value units) and ``"max_per_target"`` (one
number for every target, or a list of one per target; 0 holds fire on that target).
The file format and the result's fields are documented in docs/wta.md.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from skydome.engagement.wta import WtaProblem
from skydome.errors import Problem, ScenarioError
from skydome.scenario.load import problems_from_validation

__all__ = ["MAX_COUNT", "MAX_FILE_BYTES", "MAX_PAIRS", "WtaInstance", "load_instance"]

MAX_COUNT = 1_000_000_000
"""Largest weapon count (or `max_per_target`) accepted; solvers cap counts at use anyway."""

MAX_PAIRS = 4_000_000
"""Largest instance: weapon rows x targets (the dense pk matrix, 32 MB)."""

MAX_FILE_BYTES = 256 * 1024 * 1024
"""Largest instance file read."""

_MAX_VALUE = 1e15
"""Largest target value or weapon cost (keeps every sum of them finite)."""

_MAX_LISTED = 20
"""Problems listed at most in one error; the rest are counted."""

_WHAT = "WTA instance"


def _whole(v: Any) -> Any:
    """A whole number from JSON: an int, or a float with no fraction; never a bool."""
    if isinstance(v, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(v, float):
        if not np.isfinite(v) or v != int(v):
            raise ValueError("must be a whole number")
        if abs(v) > MAX_COUNT:
            raise ValueError(f"must be at most {MAX_COUNT:,}")
        return int(v)
    if isinstance(v, int) and abs(v) > MAX_COUNT:
        raise ValueError(f"must be at most {MAX_COUNT:,}")
    return v


def _caps(v: Any) -> Any:
    """`max_per_target`: a whole number >= 1, or a list of whole numbers >= 0 (one per target)."""
    if v is None:
        return v
    if isinstance(v, list):
        out = []
        for k, c in enumerate(v):
            try:
                c = _whole(c)
            except ValueError as e:
                raise ValueError(f"entry {k}: {e}") from None
            if not isinstance(c, int) or c < 0:
                raise ValueError(f"entry {k}: must be a whole number >= 0")
            out.append(c)
        return out
    c = _whole(v)
    if not isinstance(c, int) or c < 1:
        raise ValueError("must be a whole number >= 1, or a list of one per target")
    return c


Count = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=MAX_COUNT)]
Prob = Annotated[float, Field(ge=0.0, le=1.0)]
Amount = Annotated[float, Field(ge=0.0, le=_MAX_VALUE, allow_inf_nan=False)]


class WtaInstance(BaseModel):
    """A static WTA instance file."""

    model_config = ConfigDict(extra="forbid")

    values: list[Amount] = Field(min_length=1, description="Target values V_j.")
    pk: list[list[Prob]] = Field(min_length=1, description="Kill probability, one row per weapon.")
    weapon_counts: list[Count] | None = Field(
        None, description="Weapons of each row when rows are weapon types."
    )
    costs: list[Amount] | None = Field(None, description="Cost of firing one weapon of each row.")
    max_per_target: Annotated[int | list[int] | None, BeforeValidator(_caps)] = Field(
        None, description="Weapons per target at most: one number, or one per target."
    )

    @model_validator(mode="after")
    def _shapes(self) -> WtaInstance:
        t = len(self.values)
        for i, row in enumerate(self.pk):
            if len(row) != t:
                raise ValueError(
                    f"pk[{i}] has {len(row)} entries; expected one per target ({t} values)"
                )
        caps = self.max_per_target
        if isinstance(caps, list) and len(caps) != t:
            raise ValueError(
                f"max_per_target has {len(caps)} entries; expected one number, "
                f"or one per target ({t} values)"
            )
        for name in ("weapon_counts", "costs"):
            v = getattr(self, name)
            if v is not None and len(v) != len(self.pk):
                raise ValueError(
                    f"{name} has {len(v)} entries; expected one per pk row ({len(self.pk)})"
                )
        return self

    def problem(self) -> WtaProblem:
        """As a `WtaProblem`."""
        return WtaProblem(
            values=np.asarray(self.values, dtype=np.float64),
            pk=np.asarray(self.pk, dtype=np.float64),
            counts=np.asarray(self.weapon_counts or [], dtype=np.int64),
            cost=np.asarray(self.costs or [], dtype=np.float64),
            max_per_target=(
                np.asarray(self.max_per_target, dtype=np.int64)
                if isinstance(self.max_per_target, list)
                else self.max_per_target
            ),
        )


def _error(path: Path, problems: list[Problem]) -> ScenarioError:
    if len(problems) > _MAX_LISTED:
        more = len(problems) - _MAX_LISTED
        problems = [*problems[:_MAX_LISTED], Problem("", f"... and {more} more problems")]
    return ScenarioError(str(path), problems, _WHAT)


def _unknown_fields(data: dict[str, Any]) -> list[Problem]:
    """Unknown top-level keys, each with the closest field name as a hint."""
    fields = list(WtaInstance.model_fields)
    problems = []
    for key in data:
        if key in WtaInstance.model_fields:
            continue
        close = difflib.get_close_matches(str(key), fields, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problems.append(Problem(str(key), f"unknown field ({hint}fields: {', '.join(fields)})"))
    return problems


def load_instance(path: Path) -> WtaInstance:
    """Read and validate an instance file; every problem becomes a `ScenarioError`.

    Bounded work whatever the file holds: its size, its JSON nesting (Python's
    parser recursion) and its weapon-target pairs are checked before validation.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _error(
                path, [Problem("", f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")]
            )
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _error(path, [Problem("", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise _error(path, [Problem("", f"cannot be read: {e}")]) from None
    except json.JSONDecodeError as e:
        raise _error(path, [Problem("", f"invalid JSON: {e.msg}", e.lineno)]) from None
    except RecursionError:
        raise _error(
            path, [Problem("", "JSON nested too deeply (an instance needs 3 levels: {[[...]]})")]
        ) from None
    if not isinstance(data, dict):
        raise _error(
            path, [Problem("", 'expected an object like {"values": [...], "pk": [[...]]}')]
        )
    unknown = _unknown_fields(data)
    if unknown:
        raise _error(path, unknown)
    values, pk = data.get("values"), data.get("pk")
    if isinstance(values, list) and isinstance(pk, list) and len(values) * len(pk) > MAX_PAIRS:
        raise _error(
            path,
            [
                Problem(
                    "pk",
                    f"{len(pk):,} weapon rows x {len(values):,} targets = "
                    f"{len(pk) * len(values):,} pairs; the limit is {MAX_PAIRS:,}",
                )
            ],
        )
    try:
        return WtaInstance.model_validate(data)
    except ValidationError as e:
        raise _error(path, problems_from_validation(e)) from None
    except RecursionError:
        raise _error(path, [Problem("", "JSON nested too deeply")]) from None
