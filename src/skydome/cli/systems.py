"""`skydome systems`: the system templates (S-400-, Patriot-, SAMP/T-, HQ-9-class units).

Lists each template's name, title, provenance and missile types with their tabled
range, ceiling and average speed (the public figures the physics is tuned to; fly
them with `skydome missiles --system NAME`). A scenario uses templates in its
`systems:` section, and `skydome run SCENARIO --system NAME` (also `mc`, `sweep`) replaces a
scenario's defence by templates at its batteries' sites (docs/systems.md).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from skydome.cli._app import app, out

__all__ = ["Systems", "systems"]

Systems = Annotated[
    list[str] | None,
    typer.Option(
        "--system",
        help="Replace the scenario's defence by this system template at its batteries' "
        "sites (repeat for a mix, e.g. --system s400 --system patriot; `skydome systems` "
        "lists them).",
    ),
]
"""The `--system` option of `run`, `mc`, `sweep` and `missiles`."""


@app.command()
def systems() -> None:
    """List the system templates: provenance and missile types (tabled figures)."""
    from skydome.scenario.systems import load_template, system_names

    t = Table(
        title="system templates (use: a scenario's systems: section, or --system NAME)",
        box=box.SIMPLE_HEAD,
    )
    for col in ("system", "battery", "missile types: range / ceiling / avg speed", "provenance"):
        t.add_column(col, overflow="fold")
    for name in system_names():
        tp = load_template(name)
        b = tp.battery
        ch = b["fire_channels"]
        load = ", ".join(f"{v} {k}" for k, v in b["load"].items())
        battery = (
            f"{b['launchers']} launchers x ({load}); {ch['targets']} targets / "
            f"{ch['missiles']} missiles at once; radars: {', '.join(r['name'] for r in tp.radars)}"
        )
        types = "\n".join(
            f"{k}: {m.max_range_km:g} km / {m.max_altitude_km:g} km / "
            f"{m.average_speed_mps:,.0f} m/s"
            for k, m in tp.missile_types().items()
        )
        t.add_row(Text(f"{name}\n{tp.title}"), Text(battery), Text(types), Text(tp.provenance))
    out.print(t)
