"""`skydome wta`: the weapon-target assignment solver on its own.

INSTANCE.json: ``{"values": [V_j ...], "pk": [[p_ij ...] per weapon]}``, optionally
``"weapon_counts": [n_i ...]`` when rows are weapon types, ``"costs": [c_i ...]``
(cost of firing one weapon of row i, in value units) and ``"max_per_target"`` (one
number, or one per target);
read by `skydome.cli.wta_instance`. The result's fields are documented in docs/wta.md.
numpy, scipy and pydantic are imported inside the command, so `skydome --help`
does not pay for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from skydome.cli._app import app, out
from skydome.errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from skydome.engagement.wta import WtaProblem

__all__ = ["wta"]


def _assignment(p: WtaProblem, x: np.ndarray[Any, np.dtype[np.int64]]) -> list[Any]:
    """Individual weapons: target per weapon (-1 not fired); types: targets of the fired."""
    import numpy as np

    fired = [np.repeat(np.arange(p.n_targets), x[i]).tolist() for i in range(p.n_weapons)]
    if (p.counts != 1).any():
        return fired
    return [f[0] if f else -1 for f in fired]


@app.command()
def wta(
    instance: Annotated[Path, typer.Argument(help="Instance JSON: values, pk[, weapon_counts].")],
    out_file: Annotated[Path, typer.Option("--out", help="Result JSON to write.")],
    solver: Annotated[
        Literal["auto", "exact", "heuristic", "lns"],
        typer.Option(
            help="Which solver: heuristic (deterministic local optimum), lns (anytime "
            "search for the whole budget), exact (MILP, proven optimum), auto (best of them)."
        ),
    ] = "auto",
    time_limit: Annotated[
        float,
        typer.Option("--time-limit", help="Wall-time budget, seconds.", min=0.01, max=86400.0),
    ] = 10.0,
    seed: Annotated[
        int, typer.Option(help="Random stream of lns and auto.", min=0, max=2**63 - 1)
    ] = 0,
) -> None:
    """Solve a static weapon-target assignment instance (exact, heuristic, lns or auto)."""
    from skydome.cli.wta_instance import load_instance
    from skydome.engagement.wta import solve
    from skydome.io import write_atomic_file

    p = load_instance(instance).problem()
    if not out_file.parent.is_dir():
        raise UserError(f"{out_file}: directory {out_file.parent} does not exist")
    r = solve(p, solver, time_limit, seed=seed)
    x = r.x
    fired = x.sum(axis=1)
    cost = float(p.cost @ fired)
    surv = float(r.objective - cost)
    result: dict[str, Any] = {
        "assignment": _assignment(p, x),
        "held": (p.counts - fired).tolist(),
        "allocation": x.tolist(),
        "expected_surviving_value": surv,
        "weapon_cost": cost,
        "objective": r.objective,
        "lower_bound": r.lower_bound,
        "gap": r.gap,
        "optimal": r.optimal,
        "status": r.status,
        "solver": r.solver,
        "seconds": round(r.seconds, 6),
        "time_limit": time_limit,
    }
    # One key per line; matrices stay on one line each, readable and compact.
    body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in result.items())
    write_atomic_file(out_file, "{\n" + body + "\n}\n")
    bound = "none" if r.lower_bound is None else f"{r.lower_bound:.6g}"
    gap = "" if r.gap is None else f" (gap {100 * r.gap:.3g} %)"
    out.print(
        f"{r.solver}, {r.status}: objective {r.objective:.6g} = surviving value {surv:.6g}"
        f" + weapon cost {cost:.6g}; lower bound on the objective {bound}{gap}; "
        f"{int(fired.sum())} weapons fired; {r.seconds:.3f} s -> {out_file}"
    )
