"""`skydome wta`: the weapon-target assignment solver on its own.

INSTANCE.json: ``{"values": [V_j ...], "pk": [[p_ij ...] per weapon]}``, optionally
``"weapon_counts": [n_i ...]`` when rows are weapon types, ``"costs": [c_i ...]``
(cost of firing one weapon of row i, in value units) and ``"max_per_target"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skydome.cli._app import app, out
from skydome.engagement.wta import WtaProblem, solve, unit_assignment
from skydome.errors import Problem, ScenarioError, UserError
from skydome.results import write_atomic_file
from skydome.scenario.load import problems_from_validation

__all__ = ["WtaInstance", "load_instance", "wta"]

Prob = Annotated[float, Field(ge=0.0, le=1.0)]


class WtaInstance(BaseModel):
    """A static WTA instance file."""

    model_config = ConfigDict(extra="forbid")

    values: list[Annotated[float, Field(ge=0.0, allow_inf_nan=False)]] = Field(
        min_length=1, description="Target values V_j."
    )
    pk: list[list[Prob]] = Field(min_length=1, description="Kill probability, one row per weapon.")
    weapon_counts: list[Annotated[int, Field(ge=0)]] | None = Field(
        None, description="Weapons of each row when rows are weapon types."
    )
    costs: list[Annotated[float, Field(ge=0.0, allow_inf_nan=False)]] | None = Field(
        None, description="Cost of firing one weapon of each row."
    )
    max_per_target: int | None = Field(None, ge=1, description="Weapons per target at most.")

    @model_validator(mode="after")
    def _shapes(self) -> WtaInstance:
        t = len(self.values)
        for i, row in enumerate(self.pk):
            if len(row) != t:
                raise ValueError(
                    f"pk[{i}] has {len(row)} entries; expected one per target ({t} values)"
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
            max_per_target=self.max_per_target,
        )


def load_instance(path: Path) -> WtaInstance:
    """Read and validate an instance file; every problem becomes a `ScenarioError`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(str(path), [Problem("", "no such file")], "WTA instance") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(
            str(path), [Problem("", f"cannot be read: {e}")], "WTA instance"
        ) from None
    except json.JSONDecodeError as e:
        raise ScenarioError(
            str(path), [Problem("", f"invalid JSON: {e.msg}", e.lineno)], "WTA instance"
        ) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            str(path),
            [Problem("", 'expected an object like {"values": [...], "pk": [[...]]}')],
            "WTA instance",
        )
    try:
        return WtaInstance.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(str(path), problems_from_validation(e), "WTA instance") from None


@app.command()
def wta(
    instance: Annotated[Path, typer.Argument(help="Instance JSON: values, pk[, weapon_counts].")],
    out_file: Annotated[Path, typer.Option("--out", help="Result JSON to write.")],
    solver: Annotated[
        Literal["auto", "exact", "heuristic"], typer.Option(help="Which solver.")
    ] = "auto",
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Wall-time budget, seconds.", min=0.01)
    ] = 10.0,
) -> None:
    """Solve a static weapon-target assignment instance (exact, heuristic or auto)."""
    p = load_instance(instance).problem()
    if not out_file.parent.is_dir():
        raise UserError(f"{out_file}: directory {out_file.parent} does not exist")
    r = solve(p, solver, time_limit)
    x = r.x
    units = unit_assignment(p, x)
    typed = bool((p.counts != 1).any())
    surv = float(r.objective - p.cost @ x.sum(axis=1))
    result: dict[str, Any] = {
        "assignment": units if typed else [u[0] for u in units],
        "allocation": x.tolist(),
        "expected_surviving_value": surv,
        "objective": r.objective,
        "lower_bound": r.lower_bound,
        "gap": r.gap,
        "optimal": r.optimal,
        "solver": r.solver,
        "seconds": round(r.seconds, 6),
    }
    # One key per line; matrices stay on one line each, readable and compact.
    body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in result.items())
    write_atomic_file(out_file, "{\n" + body + "\n}\n")
    bound = "none" if r.lower_bound is None else f"{r.lower_bound:.6g}"
    out.print(
        f"{r.solver}: expected surviving value {surv:.6g}, lower bound {bound}, "
        f"{'proven optimal' if r.optimal else 'not proven optimal'}, {r.seconds:.3f} s "
        f"-> {out_file}"
    )
