"""`skydome track`: the multi-target tracker on a detections file of your own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skydome.cli._app import app, out

__all__ = ["track"]


@app.command()
def track(
    detections: Annotated[
        Path,
        typer.Argument(
            help="Detections, Parquet or CSV: time_s (seconds, as numbers), x_m, y_m, z_m "
            "(ENU, metres) and "
            "optionally sensor, range_m, azimuth_rad, elevation_rad and standard deviations "
            "(sigma_range_m, sigma_azimuth_rad, sigma_elevation_rad or sigma_x_m, sigma_y_m, "
            "sigma_z_m). Sorted by time_s."
        ),
    ],
    out_file: Annotated[Path, typer.Option("--out", help="Tracks to write, .parquet or .csv.")],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="YAML (or .json) tracker settings: the scenario's `tracker:` fields, plus "
            "measurement_sigma_m and scan_window_s.",
        ),
    ] = None,
    confirmed_only: Annotated[
        bool, typer.Option("--confirmed-only", help="Write confirmed tracks only.")
    ] = False,
) -> None:
    """Track detections from your own sensors; write one row per track and scan."""
    from skydome.trackfile import track_file  # pandas and scipy: only when tracking

    run = track_file(detections, out_file, config, confirmed_only=confirmed_only)
    t = run.tracks
    n_conf = int(t.loc[t["confirmed"], "track_id"].nunique()) if len(t) else 0
    per_scan = 1e3 * run.seconds / max(run.n_scans, 1)
    out.print(
        f"{run.n_detections:,} detections, {run.n_scans:,} scans from {len(run.sensors)} "
        f"sensor{'s' if len(run.sensors) != 1 else ''} -> {n_conf:,} confirmed tracks "
        f"({per_scan:.2f} ms per scan) -> {out_file}",
        highlight=False,
    )
