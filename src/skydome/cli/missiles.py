"""`skydome missiles`: each missile type's engagement envelope from its own physics.

Prints, per type, what its 3-DOF flights reach (flyout table: time of flight
and terminal speed over ground range x altitude, reach, ceiling, peak speed)
beside the tabled figures and their source, and writes the envelope figure
(reach vs altitude with time-of-flight contours). numpy, matplotlib and the
engine are imported inside the command, so `skydome --help` does not pay for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from skydome.cli._app import ScenarioArg, app, err, out
from skydome.cli.systems import Systems
from skydome.errors import UserError

if TYPE_CHECKING:
    from skydome.engagement.flyout_table import FlyoutTable

__all__ = ["missiles"]

FRACTIONS = (0.25, 0.5, 0.75, 1.0)
"""Columns of the printed table: fractions of the type's tabled max range."""

ALTITUDES_KM = (0.1, 3.0, 10.0, 20.0)
"""Rows of the printed table, km (those above the type's tabled ceiling are left out)."""


@app.command()
def missiles(
    scenario: ScenarioArg = "default",
    figure: Annotated[
        Path, typer.Option("--figure", help="Envelope figure to write (.png, .svg or .pdf).")
    ] = Path("envelopes.png"),
    system: Systems = None,
) -> None:
    """Each missile type's envelope flown by its own physics: table and figure."""
    import numpy as np

    from skydome.engagement.flyout_table import flyout_table
    from skydome.report.envelope import envelope_figure, save_envelope_figure
    from skydome.scenario import compile_scenario, load_scenario

    if figure.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UserError(f"--figure {figure}: expected a .png, .svg or .pdf file name")
    if not figure.parent.is_dir():
        raise UserError(f"--figure {figure}: directory {figure.parent} does not exist")
    s = load_scenario(scenario)
    if system:  # the templates' missile types (placed in the scenario; envelopes need no more)
        from skydome.scenario.system_swap import with_systems

        s = with_systems(s, system, scenario)[0]
    params = compile_scenario(s)
    mis = params.missiles
    if mis.physics is None:
        bare = [n for n in mis.names if s.missiles[n].physics is None]
        raise UserError(
            f"{scenario}: missile types without physics ({', '.join(bare)}): envelopes are "
            "flown by each type's 3-DOF physics (missiles.<type>.physics)"
        )
    with err.status("flying the envelopes..."):
        table = flyout_table(mis.physics, mis.max_range_m, mis.max_alt_m, mis.max_tof_s)
    summary = Table(
        title="Envelopes flown by each type's own physics (tabled: the scenario's figures)",
        box=box.SIMPLE_HEAD,
    )
    for col in ("type", "reach", "ceiling", "peak speed", "avg speed", "tuned to (source)"):
        summary.add_column(col, justify="left" if col in ("type", "tuned to (source)") else "right")
    for m, name in enumerate(mis.names):
        r_pub = float(mis.max_range_m[m])
        alt = min(10e3, 0.5 * float(mis.max_alt_m[m]))
        reach = float(table.reach(np.array(m), np.array(alt)))
        tof_pub = float(table.tof(np.array(m), np.array(r_pub), np.array(alt)))
        summary.add_row(
            name,
            f"{reach / 1e3:,.0f} km at {alt / 1e3:g} km (tabled {r_pub / 1e3:,.0f})",
            f"{table.ceiling_m[m] / 1e3:.1f} km (tabled {mis.max_alt_m[m] / 1e3:g})",
            f"{table.peak_speed_mps[m]:,.0f} m/s",
            f"{float(np.hypot(r_pub, alt)) / tof_pub:,.0f} m/s (tabled {mis.speed_mps[m]:,.0f})",
            s.missiles[name].source,
        )
    out.print(summary)
    for m, name in enumerate(mis.names):
        r_pub = float(mis.max_range_m[m])
        t = Table(
            title=f"{name}: time of flight, s / terminal speed, m/s ('-': beyond its reach)",
            box=box.SIMPLE_HEAD,
        )
        t.add_column("altitude")
        t.add_column("reach", justify="right")
        grounds = [f * r_pub for f in FRACTIONS]
        for g in grounds:
            t.add_column(f"{g / 1e3:,.0f} km", justify="right")
        for a_km in ALTITUDES_KM:
            a = a_km * 1e3
            if a > mis.max_alt_m[m]:
                continue
            r = float(table.reach(np.array(m), np.array(a)))
            t.add_row(
                f"{a_km:g} km", f"{r / 1e3:,.0f} km", *(_cell(table, m, g, a) for g in grounds)
            )
        out.print(t)
    save_envelope_figure(envelope_figure(mis, table), figure)
    out.print(f"envelope figure: {figure} (table built in {table.build_s:.2f} s)", highlight=False)


def _cell(table: FlyoutTable, m: int, ground_m: float, alt_m: float) -> str:
    """'tof / speed' of type m at a point ('?': a neighbouring node not hit), '-' beyond reach."""
    import numpy as np

    mm, g, a = np.array(m), np.array(ground_m), np.array(alt_m)
    if float(table.reach(mm, a)) < ground_m:
        return "-"
    tof = float(table.tof(mm, g, a))
    speed = float(table.speed(mm, g, a))
    return f"{tof:,.0f} / {speed:,.0f}" if np.isfinite(speed) else f"{tof:,.0f} / ?"
