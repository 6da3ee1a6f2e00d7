"""A run directory read back as tables: what every figure, replay and export uses.

Reports are made from the files `skydome run` wrote, never from live objects,
so any run directory -- today's or last year's, from this machine or a
cluster -- can be turned into figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from skydome.errors import UserError
from skydome.results import coverage_table
from skydome.scenario import compile_scenario, parse_scenario
from skydome.scenario.compile import SimParams

__all__ = ["RunData", "load_run"]

_REQUIRED = ("summary.json", "events.parquet", "scenario.yaml")


@dataclass(frozen=True)
class RunData:
    """Everything a report needs from one run directory.

    Attributes:
        path: the run directory.
        params: the scenario as run (compiled from its `scenario.yaml`).
        summary: `summary.json`.
        events: `events.parquet` as a DataFrame.
        truth: `trajectories.parquet` (empty if the run recorded none).
        tracks: `tracks.parquet` (empty if the run recorded none).
        coverage: `coverage.parquet`, each radar's detection range around its
            sector (`skydome.results.coverage_table`); for a run directory
            written before that file existed, the same table built from the
            scenario by the sensor stage's `coverage`.
    """

    path: Path
    params: SimParams
    summary: dict[str, Any]
    events: pd.DataFrame
    truth: pd.DataFrame
    tracks: pd.DataFrame
    coverage: pd.DataFrame

    def coverage_ring(self, radar: int) -> tuple[np.ndarray, np.ndarray]:
        """(azimuth_rad, ground_range_m) of radar `radar`'s ring in `coverage`, each (n,)."""
        g = self.coverage[self.coverage["radar"] == self.params.radars.names[radar]]
        az = g["azimuth_rad"].to_numpy(dtype=np.float64)
        return az, g["ground_range_m"].to_numpy(dtype=np.float64)

    def kind(self, name: str) -> pd.DataFrame:
        """The events of one kind."""
        return self.events[self.events["kind"] == name]

    def missiles(self) -> pd.DataFrame:
        """One row per missile: launch, resolution, battery position and end point.

        Columns: missile_id, battery, missile_type, threat_id, t_launch_s,
        t_end_s, outcome ('kill', 'miss' or 'airborne'), x0_m, y0_m, z0_m (the
        battery), x1_m, y1_m, z1_m (the threat at intercept, else the aim point).
        """
        la = self.kind("launch").set_index("missile_id")
        res = self.events[self.events["kind"].isin(["kill", "miss"])].set_index("missile_id")
        out = pd.DataFrame(index=la.index)
        out["battery"] = la["battery"]
        out["missile_type"] = la["missile_type"]
        out["threat_id"] = la["threat_id"]
        out["t_launch_s"] = la["time_s"]
        out["t_end_s"] = res["time_s"].reindex(la.index)
        out["outcome"] = res["kind"].reindex(la.index).fillna("airborne")
        bpos = dict(zip(self.params.batteries.names, self.params.batteries.pos_m, strict=True))
        b = np.array([bpos[n] for n in la["battery"]]).reshape(-1, 3)
        out["x0_m"], out["y0_m"], out["z0_m"] = b[:, 0], b[:, 1], b[:, 2]
        for c in ("x", "y", "z"):
            out[f"{c}1_m"] = res[f"{c}_m"].reindex(la.index).fillna(la[f"{c}_m"])
        out["t_end_s"] = out["t_end_s"].fillna(self.params.duration_s)
        return out.reset_index()


def _read_parquet(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()  # type: ignore[no-untyped-call]


def load_run(run_dir: Path) -> RunData:
    """Read a run directory written by `skydome run`.

    Raises:
        UserError: not a run directory, or a file is missing or unreadable.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: not a directory (expected the output of `skydome run`)")
    missing = [f for f in _REQUIRED if not (run_dir / f).is_file()]
    if missing:
        raise UserError(
            f"{run_dir}: not a run directory: missing {', '.join(missing)} "
            "(write one with `skydome run SCENARIO --out DIR`)"
        )
    try:
        text = (run_dir / "scenario.yaml").read_text(encoding="utf-8")
        params = compile_scenario(parse_scenario(text, str(run_dir / "scenario.yaml")))
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        events = _read_parquet(run_dir / "events.parquet")
        empty_truth = pd.DataFrame({c: [] for c in ("time_s", "threat_id", "x_m", "y_m", "z_m")})
        truth = (
            _read_parquet(run_dir / "trajectories.parquet")
            if (run_dir / "trajectories.parquet").is_file()
            else empty_truth
        )
        tracks = (
            _read_parquet(run_dir / "tracks.parquet")
            if (run_dir / "tracks.parquet").is_file()
            else pd.DataFrame({c: [] for c in ("time_s", "track_id", "x_m", "y_m", "sigma_m")})
        )
        coverage = (
            _read_parquet(run_dir / "coverage.parquet")
            if (run_dir / "coverage.parquet").is_file()
            else coverage_table(params.radars).to_pandas()
        )
    except UserError:
        raise
    except (OSError, ValueError) as e:
        raise UserError(f"{run_dir}: cannot read the run: {e}") from None
    return RunData(run_dir, params, summary, events, truth, tracks, coverage)
