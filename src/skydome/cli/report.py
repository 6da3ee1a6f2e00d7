"""`skydome report` and `skydome export`: pictures and map files from a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from skydome.cli._app import app, out

__all__ = ["export", "report"]

RunDir = Annotated[Path, typer.Argument(help="A run directory written by `skydome run`.")]


@app.command()
def report(run_dir: RunDir) -> None:
    """Write figures (PNG, SVG) and a self-contained, offline replay: RUN_DIR/report.html."""
    from skydome.report import write_report

    html = write_report(run_dir)
    out.print(
        f"wrote {html} (open it in any browser; it needs no network) and {html.parent}/figures/"
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
    from skydome.report import load_run
    from skydome.report.export import to_geojson, to_kml
    from skydome.results import write_atomic_file

    d = load_run(run_dir)
    target = out_file if out_file is not None else run_dir / f"run.{fmt}"
    write_atomic_file(target, to_geojson(d) if fmt == "geojson" else to_kml(d))
    out.print(f"wrote {target}")
