"""Run results as data: the summary, the tidy events table, atomic writing.

Outputs are deterministic: the same scenario and seed give byte-identical
`summary.json` and `events.parquet` (no wall-clock times, no host names).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from skydome.engine import RunResult
from skydome.errors import UserError
from skydome.events import EVENT_KINDS, MISS_NOTES

__all__ = [
    "events_table",
    "samples_table",
    "summarize",
    "write_atomic_dir",
    "write_atomic_file",
    "write_run",
]


def _finite_or_none(x: float) -> float | None:
    return round(float(x), 6) if math.isfinite(x) else None


def summarize(r: RunResult) -> dict[str, Any]:
    """The run's summary: per threat type, per missile type, per asset.

    Threat counts: `detected` (seen by any radar), `tracked` (a confirmed
    track), `engaged` (a missile launched at it), `killed`, `leaked`, and
    `airborne_at_end` (neither killed nor leaked when the run ended).
    """
    p = r.params
    th = p.threats
    ev = r.events
    killed = np.isfinite(r.kill_time_s)
    leaked = np.isfinite(r.leak_time_s)
    det = ev.kind == EVENT_KINDS.index("detect")
    det_radar = p.radars.pos_m[ev.radar[det]]
    det_range_km = np.hypot(ev.x_m[det] - det_radar[:, 0], ev.y_m[det] - det_radar[:, 1]) / 1e3
    det_type = th.type_index[ev.threat_id[det]]
    by_type = []
    for ti, name in enumerate(th.type_names):
        m = th.type_index == ti
        rng_km = det_range_km[det_type == ti]
        by_type.append(
            {
                "type": name,
                "count": int(m.sum()),
                "detected": int(np.isfinite(r.first_detect_s[m]).sum()),
                "tracked": int(np.isfinite(r.first_track_s[m]).sum()),
                "engaged": int(r.engaged[m].sum()),
                "killed": int(killed[m].sum()),
                "leaked": int(leaked[m].sum()),
                "airborne_at_end": int((m & ~killed & ~leaked).sum()),
                "median_detection_range_km": (
                    round(float(np.median(rng_km)), 3) if rng_km.size else None
                ),
            }
        )
    launch = ev.kind == EVENT_KINDS.index("launch")
    kill = ev.kind == EVENT_KINDS.index("kill")
    n_types = len(p.missiles.names)
    fired = np.bincount(ev.missile_type[launch], minlength=n_types)
    kills = np.bincount(ev.missile_type[kill], minlength=n_types)
    start = p.batteries.inventory.sum(axis=0) + p.batteries.reserve.sum(axis=0)
    missiles = [
        {
            "type": name,
            "fired": int(fired[i]),
            "kills": int(kills[i]),
            "start": int(start[i]),
            "left": int(r.inventory_end[:, i].sum()),
        }
        for i, name in enumerate(p.missiles.names)
    ]
    assets = [
        {
            "name": name,
            "value": float(p.assets.value[i]),
            "value_left": round(float(r.asset_value_end[i]), 6),
            "damage_fraction": round(1.0 - float(r.asset_value_end[i] / p.assets.value[i]), 6),
        }
        for i, name in enumerate(p.assets.names)
    ]
    n_fired = int(launch.sum())
    n_killed = int(killed.sum())
    return {
        "scenario": p.name,
        "seed": r.seed,
        "duration_s": p.duration_s,
        "threats": {
            "count": th.n,
            "killed": n_killed,
            "leaked": int(leaked.sum()),
            "airborne_at_end": int((~killed & ~leaked).sum()),
            "by_type": by_type,
        },
        "missiles": {
            "fired": n_fired,
            "per_kill": round(n_fired / n_killed, 6) if n_killed else None,
            "by_type": missiles,
        },
        "assets": assets,
        "first_detection_s": _finite_or_none(float(np.min(r.first_detect_s, initial=np.inf))),
        "first_launch_s": _finite_or_none(float(np.min(ev.time_s[launch], initial=np.inf))),
        "events": ev.n,
        "labels": "Synthetic scenario; parameters approximate public figures or are assumed.",
    }


def events_table(r: RunResult) -> pa.Table:
    """One row per event, names instead of indices, nulls where not applicable.

    Columns: time_s, kind, threat_id, threat_type, track_id, missile_id, radar, battery,
    missile_type, miss_distance_m, threat_score and priority_rank (launches: the
    track's score and rank at the decision, 0 = most urgent), note, x_m, y_m, z_m
    (map frame).
    """
    p = r.params
    ev = r.events

    def names(idx: np.ndarray[Any, Any], table: tuple[str, ...]) -> pa.Array:
        arr = np.asarray(table + ("",), dtype=object)[np.where(idx >= 0, idx, len(table))]
        return pa.array(arr.tolist(), type=pa.string(), mask=idx < 0)

    def ints(x: np.ndarray[Any, Any]) -> pa.Array:
        return pa.array(x, type=pa.int64(), mask=x < 0)

    def floats(x: np.ndarray[Any, Any]) -> pa.Array:
        return pa.array(x, type=pa.float64(), mask=np.isnan(x))

    tt = np.where(ev.threat_id >= 0, p.threats.type_index[np.maximum(ev.threat_id, 0)], -1)
    note = np.where(ev.note > 0, ev.note, -1)
    return pa.table(
        {
            "time_s": pa.array(ev.time_s, type=pa.float64()),
            "kind": pa.array([EVENT_KINDS[k] for k in ev.kind], type=pa.string()),
            "threat_id": ints(ev.threat_id),
            "threat_type": names(tt, p.threats.type_names),
            "track_id": ints(ev.track_id),
            "missile_id": ints(ev.missile_id),
            "radar": names(ev.radar, p.radars.names),
            "battery": names(ev.battery, p.batteries.names),
            "missile_type": names(ev.missile_type, p.missiles.names),
            "miss_distance_m": floats(ev.miss_distance_m),
            "threat_score": floats(ev.score),
            "priority_rank": ints(ev.rank),
            "note": names(note, MISS_NOTES),
            "x_m": floats(ev.x_m),
            "y_m": floats(ev.y_m),
            "z_m": floats(ev.z_m),
        }
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic_dir(out_dir: Path, write: Callable[[Path], None]) -> None:
    """Fill `out_dir` through `write(tmp_dir)`, so a failure leaves nothing half-written.

    A new directory appears only when complete. Files in an existing
    directory are each replaced atomically (`os.replace`).
    """
    out_dir = Path(out_dir)
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it 0700; give it the usual mode
    except OSError as e:
        raise UserError(f"{out_dir}: cannot create output directory: {e}") from None
    try:
        write(tmp)
        if out_dir.exists():
            if not out_dir.is_dir():
                raise UserError(f"{out_dir}: exists and is not a directory")
            for f in sorted(tmp.iterdir()):
                os.replace(f, out_dir / f.name)
        else:
            os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_atomic_file(path: Path, text: str) -> None:
    """Write a text file through a temporary file and `os.replace`."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give it the usual mode
        os.replace(tmp, path)
    except OSError as e:
        raise UserError(f"{path}: cannot write: {e}") from None


def samples_table(samples: dict[str, np.ndarray[Any, Any]]) -> pa.Table:
    """A sample dictionary (`RunResult.truth_samples` / `track_samples`) as a table."""
    return pa.table({k: pa.array(v) for k, v in samples.items()})


def write_run(r: RunResult, out_dir: Path, scenario_text: str | None = None) -> dict[str, Any]:
    """Write a run directory atomically; return the summary.

    Files: `summary.json`, `events.parquet`, and when recorded
    `trajectories.parquet` (truth samples) and `tracks.parquet` (air picture
    samples); `scenario.yaml` (the scenario as run) when its text is given, so
    reports and exports are made from the directory alone.
    """
    summary = summarize(r)
    table = events_table(r)

    def write(tmp: Path) -> None:
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        pq.write_table(table, tmp / "events.parquet", compression="zstd")  # type: ignore[no-untyped-call]
        if r.truth_samples["time_s"].size or r.track_samples["time_s"].size:
            for name, smp in (("trajectories", r.truth_samples), ("tracks", r.track_samples)):
                pq.write_table(samples_table(smp), tmp / f"{name}.parquet", compression="zstd")  # type: ignore[no-untyped-call]
        if scenario_text is not None:
            (tmp / "scenario.yaml").write_text(scenario_text, encoding="utf-8")

    write_atomic_dir(out_dir, write)
    return summary
