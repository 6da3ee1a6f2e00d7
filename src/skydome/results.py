"""Run results as data: the summary, the tidy events and detections tables, the run directory.

Writing is in `skydome.io` (atomic files, run directories replaced as a whole,
one writer per target); `write_atomic_file` and `write_atomic_dir` are
re-exported here.

Outputs are deterministic: the same scenario and seed give byte-identical
`summary.json` and `events.parquet` (no wall-clock times, no host names).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from skydome.engine import RunResult
from skydome.engine.emcon import radar_summary
from skydome.engine.identification import identification_summary
from skydome.events import EVENT_KINDS, NOTES
from skydome.io import staged_run_dir, write_atomic_dir, write_atomic_file
from skydome.scenario.compile_identification import HOSTILE
from skydome.sensors.coverage import REPORT_ALTITUDE_M, REPORT_RCS_M2, Coverage, coverage
from skydome.sensors.params import RadarParams

__all__ = [
    "DETECTION_COLUMNS",
    "coverage_table",
    "detections_table",
    "events_table",
    "samples_table",
    "summarize",
    "write_atomic_dir",
    "write_atomic_file",
    "write_run",
    "write_run_files",
]


def _finite_or_none(x: float) -> float | None:
    return round(float(x), 6) if math.isfinite(x) else None


def summarize(r: RunResult) -> dict[str, Any]:
    """The run's summary: per threat type, per missile type, per asset.

    Threat counts: `detected` (seen by any radar), `tracked` (a confirmed
    track), `engaged` (a missile launched at it), `killed`, `leaked`, and
    `airborne_at_end` (neither killed nor leaked when the run ended);
    `killed_unengaged` (killed, though no missile was launched at it: every
    such kill is a "target switch", counted in `kill_chain`);
    `detected_at_appearance` (first detected within one scan period of
    appearing: for these the detection range is where the route starts, not
    a radar limit). `kill_chain` counts the causes of misses (event notes),
    the held decisions by reason (first time each reason applied to a track)
    and the kills of threats never engaged.

    Cost and damage, for comparing doctrines: each missile type's unit `cost`
    (the scenario's, in its cost units) and `cost_spent` (fired x cost), and
    `missiles.cost_spent` over all types; each asset's `value_lost` (value
    minus value left) and `damage` over all assets: `value` (the total at the
    start), `value_lost` and `fraction` (value lost / total value; 0 without
    value).

    With emission control or anti-radiation missiles in the scenario, `radars`:
    radars destroyed (count, names) and per radar its emission mode, destruction
    time, time silent and ARMs aimed at it (`skydome.engine.emcon.radar_summary`).
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
    launch = ev.kind == EVENT_KINDS.index("launch")
    kill = ev.kind == EVENT_KINDS.index("kill")
    miss = ev.kind == EVENT_KINDS.index("miss")
    held = ev.kind == EVENT_KINDS.index("held")
    engaged_any = np.zeros(th.n, dtype=bool)
    engaged_any[ev.threat_id[launch & (ev.threat_id >= 0)]] = True
    unengaged_kill = killed & ~engaged_any
    at_appearance = r.first_detect_s - th.launch_s <= float(np.max(p.radars.scan_period_s))
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
                "killed_unengaged": int((m & unengaged_kill).sum()),
                "detected_at_appearance": int((m & at_appearance).sum()),
                "median_detection_range_km": (
                    round(float(np.median(rng_km)), 3) if rng_km.size else None
                ),
            }
        )
    n_types = len(p.missiles.names)
    fired = np.bincount(ev.missile_type[launch], minlength=n_types)
    kills = np.bincount(ev.missile_type[kill], minlength=n_types)
    start = p.batteries.inventory.sum(axis=0) + p.batteries.reserve.sum(axis=0)
    spent = fired * p.missiles.cost  # (M,) cost units spent per missile type
    missiles = [
        {
            "type": name,
            "fired": int(fired[i]),
            "kills": int(kills[i]),
            "start": int(start[i]),
            "left": int(r.inventory_end[:, i].sum()),
            "cost": float(p.missiles.cost[i]),
            "cost_spent": round(float(spent[i]), 6),
        }
        for i, name in enumerate(p.missiles.names)
    ]
    lost = p.assets.value - r.asset_value_end  # (A,) value destroyed per asset
    assets = [
        {
            "name": name,
            "value": float(p.assets.value[i]),
            "value_left": round(float(r.asset_value_end[i]), 6),
            "damage_fraction": round(1.0 - float(r.asset_value_end[i] / p.assets.value[i]), 6),
            "value_lost": round(float(lost[i]), 6),
        }
        for i, name in enumerate(p.assets.names)
    ]
    total_value = float(p.assets.value.sum())
    total_lost = float(lost.sum())
    n_fired = int(launch.sum())
    # The headline counts are of the attack: with an identification, decoys and
    # friendly aircraft are reported in its block (and by type), not as threats, and
    # a fratricide is no kill.
    attack = np.ones(th.n, dtype=bool)
    if p.identity is not None:
        attack = p.identity.kind == HOSTILE
    n_killed = int((killed & attack).sum())
    # Only a scenario with an identification gets the block: other summaries stay as they were.
    extra = (
        {}
        if p.identity is None
        else {"identification": identification_summary(p.identity, ev, r.kill_time_s)}
    )
    summary: dict[str, Any] = {
        "scenario": p.name,
        "seed": r.seed,
        "duration_s": p.duration_s,
        "threats": {
            "count": int(attack.sum()),
            "killed": n_killed,
            "leaked": int((leaked & attack).sum()),
            "airborne_at_end": int((attack & ~killed & ~leaked).sum()),
            "by_type": by_type,
        },
        "missiles": {
            "fired": n_fired,
            "per_kill": round(n_fired / n_killed, 6) if n_killed else None,
            "by_type": missiles,
            "cost_spent": round(float(spent.sum()), 6),
        },
        "assets": assets,
        "damage": {
            "value": total_value,
            "value_lost": round(total_lost, 6),
            "fraction": round(total_lost / total_value, 6) if total_value > 0 else 0.0,
        },
        "kill_chain": {
            "miss_causes": {
                NOTES[c]: int(n) for c, n in enumerate(np.bincount(ev.note[miss], minlength=1)) if n
            },
            "target_switch_kills": int((ev.note[kill] == NOTES.index("target switch")).sum()),
            "held": {
                NOTES[c]: int(n) for c, n in enumerate(np.bincount(ev.note[held], minlength=1)) if n
            },
            "kills_of_unengaged_threats": int(unengaged_kill.sum()),
        },
        "first_detection_s": _finite_or_none(float(np.min(r.first_detect_s, initial=np.inf))),
        "first_launch_s": _finite_or_none(float(np.min(ev.time_s[launch], initial=np.inf))),
        "events": ev.n,
        "labels": "Synthetic scenario; parameters approximate public figures or are assumed.",
        **extra,
    }
    if p.emission is not None:  # emission control or ARMs: radars lost and silent
        summary["radars"] = radar_summary(p, ev.kind, ev.time_s, ev.radar)
    return summary


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
            "note": names(note, NOTES),
            "x_m": floats(ev.x_m),
            "y_m": floats(ev.y_m),
            "z_m": floats(ev.z_m),
        }
    )


def samples_table(samples: dict[str, np.ndarray[Any, Any]]) -> pa.Table:
    """A sample dictionary (`RunResult.truth_samples` / `track_samples`) as a table."""
    return pa.table({k: pa.array(v) for k, v in samples.items()})


DETECTION_COLUMNS = (
    "time_s",
    "sensor",
    "x_m",
    "y_m",
    "z_m",
    "range_m",
    "azimuth_rad",
    "elevation_rad",
    "sigma_range_m",
    "sigma_azimuth_rad",
    "sigma_elevation_rad",
    "threat_id",
)
"""Columns of `detections.parquet`: the `skydome track` input format, plus `threat_id`."""


def detections_table(r: RunResult) -> pa.Table:
    """Every radar detection of the run, in `skydome track`'s input format.

    One row per detection, in scan order (time non-decreasing): the measured
    position ``x_m, y_m, z_m`` (map frame, metres; near a radar the map frame
    is its local East-North-Up), the radar's name as ``sensor``, the polar
    measurement ``range_m, azimuth_rad, elevation_rad`` (azimuth clockwise from
    north) and its standard deviations, and ``threat_id`` (ground truth: the
    threat that caused it, null for a false alarm; the tracker ignores it).

    The standard deviations are those the radar drew the noise with (from each
    detection's SNR), recovered from the converted covariance
    P = J diag(sigma^2) J^T as diag(J^-1 P J^-T) (Bar-Shalom, Li &
    Kirubarajan, sec. 10.4).
    """
    dets = r.detections
    if dets:
        polar = np.concatenate([d.polar for d in dets])
        pos = np.concatenate([d.pos_m for d in dets])
        cov = np.concatenate([d.cov_m2 for d in dets])
        time = np.concatenate([np.full(d.n, d.time_s) for d in dets])
        radar = np.concatenate([np.full(d.n, d.radar, dtype=np.int64) for d in dets])
        truth = np.concatenate([d.truth for d in dets])
    else:
        polar = pos = np.zeros((0, 3))
        cov = np.zeros((0, 3, 3))
        time = np.zeros(0)
        radar = truth = np.zeros(0, dtype=np.int64)
    sigma = _polar_sigma(polar, cov)
    names = np.asarray(r.params.radars.names + ("",), dtype=object)[radar]
    cols: dict[str, pa.Array] = {
        "time_s": pa.array(time, type=pa.float64()),
        "sensor": pa.array(names.tolist(), type=pa.string()),
    }
    for i, c in enumerate(("x_m", "y_m", "z_m")):
        cols[c] = pa.array(pos[:, i], type=pa.float64())
    for i, c in enumerate(("range_m", "azimuth_rad", "elevation_rad")):
        cols[c] = pa.array(polar[:, i], type=pa.float64())
    for i, c in enumerate(("sigma_range_m", "sigma_azimuth_rad", "sigma_elevation_rad")):
        cols[c] = pa.array(sigma[:, i], type=pa.float64())
    cols["threat_id"] = pa.array(truth, type=pa.int64(), mask=truth < 0)
    return pa.table(cols)


def _polar_sigma(polar: np.ndarray[Any, Any], cov: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Per-axis polar standard deviations (M, 3) from converted covariances (M, 3, 3)."""
    if polar.shape[0] == 0:
        return np.zeros((0, 3))
    rng, az, el = polar[:, 0], polar[:, 1], polar[:, 2]
    sa, ca, se, ce = np.sin(az), np.cos(az), np.sin(el), np.cos(el)
    J = np.empty((rng.shape[0], 3, 3))  # the Jacobian, as in `polar_covariance`
    J[:, 0, 0], J[:, 1, 0], J[:, 2, 0] = ce * sa, ce * ca, se
    J[:, 0, 1], J[:, 1, 1], J[:, 2, 1] = rng * ce * ca, -rng * ce * sa, 0.0
    J[:, 0, 2], J[:, 1, 2], J[:, 2, 2] = -rng * se * sa, -rng * se * ca, rng * ce
    a = np.linalg.solve(J, cov)  # J^-1 P
    d = np.linalg.solve(J, a.transpose(0, 2, 1))  # J^-1 (J^-1 P)^T = J^-1 P J^-T
    var = np.diagonal(d, axis1=1, axis2=2)
    out: np.ndarray[Any, Any] = np.sqrt(np.abs(var))
    return out


def coverage_table(radars: RadarParams, cov: Coverage | None = None) -> pa.Table:
    """`coverage.parquet`: each radar's detection range around its sector, one row per azimuth.

    Columns: radar (name), azimuth_rad (clockwise from north), ground_range_m,
    horizon_limited, rcs_m2, altitude_m. `cov` defaults to the coverage the
    reports draw (`REPORT_RCS_M2` at `REPORT_ALTITUDE_M`).
    """
    c = coverage(radars, REPORT_RCS_M2, REPORT_ALTITUDE_M) if cov is None else cov
    n = c.azimuth_rad.shape[1]
    return pa.table(
        {
            "radar": pa.array(np.repeat(np.asarray(radars.names, dtype=object), n), pa.string()),
            "azimuth_rad": pa.array(c.azimuth_rad.ravel(), pa.float64()),
            "ground_range_m": pa.array(np.repeat(c.ground_range_m, n), pa.float64()),
            "horizon_limited": pa.array(np.repeat(c.horizon_limited, n), pa.bool_()),
            "rcs_m2": pa.array(np.full(c.azimuth_rad.size, c.rcs_m2), pa.float64()),
            "altitude_m": pa.array(np.full(c.azimuth_rad.size, c.altitude_m), pa.float64()),
        }
    )


def write_run_files(
    r: RunResult,
    out_dir: Path,
    scenario_text: str | None = None,
    *,
    detections: bool = False,
) -> dict[str, Any]:
    """Write a run's files into the (new, empty) directory `out_dir`; return the summary.

    Files: `summary.json`, `events.parquet`, `coverage.parquet` (each radar's
    detection range, `coverage_table`), and when recorded
    `trajectories.parquet` (truth samples) and `tracks.parquet` (air picture
    samples); `scenario.yaml` (the scenario as run) when its text is given, so
    reports and exports are made from the directory alone; `detections.parquet`
    (`detections_table`) when `detections` is set.
    """
    summary = summarize(r)
    table = events_table(r)
    out_dir = Path(out_dir)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    pq.write_table(table, out_dir / "events.parquet", compression="zstd")  # type: ignore[no-untyped-call]
    pq.write_table(coverage_table(r.params.radars), out_dir / "coverage.parquet")  # type: ignore[no-untyped-call]
    if r.truth_samples["time_s"].size or r.track_samples["time_s"].size:
        for name, smp in (("trajectories", r.truth_samples), ("tracks", r.track_samples)):
            pq.write_table(samples_table(smp), out_dir / f"{name}.parquet", compression="zstd")  # type: ignore[no-untyped-call]
    if detections:
        pq.write_table(detections_table(r), out_dir / "detections.parquet", compression="zstd")  # type: ignore[no-untyped-call]
    if scenario_text is not None:
        (out_dir / "scenario.yaml").write_text(scenario_text, encoding="utf-8")
    return summary


def write_run(
    r: RunResult,
    out_dir: Path,
    scenario_text: str | None = None,
    *,
    force: bool = False,
    detections: bool = False,
) -> dict[str, Any]:
    """Write a run directory as a whole, atomically; return the summary.

    The files are those of `write_run_files`. An existing directory must be
    empty, or a skydome run directory and `force` given; it is then replaced
    as a whole (see `skydome.io.staged_run_dir`).

    Raises:
        UserError: the directory cannot or must not be written.
    """
    with staged_run_dir(out_dir, force=force) as staging:
        summary = write_run_files(r, staging.path, scenario_text, detections=detections)
        staging.commit()
    return summary
