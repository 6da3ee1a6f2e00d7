"""`skydome report` and `skydome export`: pictures and map files from a run or study directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from skydome.cli._app import app, out

__all__ = ["export", "report"]

RunDir = Annotated[Path, typer.Argument(help="A run directory written by `skydome run`.")]
ReportDir = Annotated[
    Path,
    typer.Argument(
        metavar="DIR",
        help="A run directory (`skydome run`) or a study directory (`skydome mc` / `sweep`).",
    ),
]


@app.command()
def report(directory: ReportDir) -> None:
    """Write figures (PNG, SVG) and a self-contained, offline DIR/report.html.

    For a run: the replay. For a study (`skydome mc` / `sweep`): the study report, with
    the summary table, the distributions and, for a sweep, the outcomes against each setting.
    """
    from skydome.report import write_report

    html = write_report(directory)
    out.print(
        f"wrote {html} (open it in any browser; it needs no network) and {html.parent}/figures/",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def export(
    run_dir: RunDir,
    fmt: Annotated[
        Literal["geojson", "kml"], typer.Option("--format", help="Output format.")
    ] = "geojson",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="File to write (default RUN_DIR/run.FORMAT).")
    ] = None,
) -> None:
    """Export sites, threat paths, kills and leaks in WGS-84 for QGIS or Google Earth."""
    from skydome.io import write_atomic_file
    from skydome.report import load_run
    from skydome.report.export import to_geojson, to_kml

    d = load_run(run_dir)
    target = out_file if out_file is not None else run_dir / f"run.{fmt}"
    write_atomic_file(target, to_geojson(d) if fmt == "geojson" else to_kml(d))
    out.print(f"wrote {target}", markup=False, highlight=False, soft_wrap=True)
