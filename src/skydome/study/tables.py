"""The study's tables: replication rows, `summary.json`, `summary.parquet`.

Every metric column and every summary key comes from the metrics registry
(`skydome.study.metrics`); the swept settings become one column each, typed
from their values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from skydome import __version__
from skydome.stats import Estimate
from skydome.study.metrics import Row
from skydome.study.plan import StudyPlan

__all__ = ["replications_table", "row_schema", "summary_json", "summary_table"]


def row_schema(plan: StudyPlan) -> pa.Schema:
    """A part file's schema: cell, replication, seed, the metric columns, wall time."""
    i64 = pa.int64()
    return pa.schema(
        [("cell", i64), ("replication", i64), ("seed", i64)]
        + list(plan.columns)
        + [("wall_s", pa.float64())]
    )


def _value_type(values: Sequence[Any]) -> pa.DataType:
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def _value_cell(v: Any, typ: pa.DataType) -> Any:
    if typ == pa.string():
        return v if isinstance(v, str) else json.dumps(v, default=str)
    if typ == pa.float64():
        return float(v)
    return v


def replications_table(plan: StudyPlan, rows: Sequence[Row], n: int) -> pa.Table:
    """One row per replication, sorted by cell and replication, a column per setting.

    Args:
        plan: the study plan.
        rows: `n` rows of every cell, cell by cell.
        n: replications per cell.
    """
    table = pa.Table.from_pylist(list(rows), schema=row_schema(plan))
    for j, s in enumerate(plan.settings):
        typ = _value_type(s.values)
        vals = [
            _value_cell(plan.cells[c].values[j], typ)
            for c in range(len(plan.cells))
            for _ in range(n)
        ]
        table = table.add_column(1 + j, s.path, pa.array(vals, type=typ))
    return table if plan.is_sweep else table.drop_columns(["cell"])


def summary_json(
    plan: StudyPlan,
    n: int,
    estimates: tuple[dict[str, Estimate], ...],
    confidence: float,
    stop_info: dict[str, Any] | None,
) -> dict[str, Any]:
    """The `summary.json` content: the study, then every cell's estimates."""
    stopping = None
    if stop_info is not None:
        w = stop_info["worst_width"]
        stopping = {
            "until_ci": stop_info["width"],
            "metric": stop_info["metric"],
            "reached": stop_info["reached"],
            "widest_interval": round(w, 9) if math.isfinite(w) else None,
        }
    return {
        "study": "sweep" if plan.is_sweep else "mc",
        "scenario": plan.name,
        "scenario_sha256": plan.digest,
        "skydome_version": __version__,
        "seed": plan.seed,
        "replications": n,
        "confidence": confidence,
        "settings": [s.path for s in plan.settings],
        "stopping": stopping,
        "cells": [
            {
                "cell": c.index,
                "values": {s.path: v for s, v in zip(plan.settings, c.values, strict=True)},
                "replications": n,
                "metrics": {k: e.to_dict() for k, e in est.items()},
            }
            for c, est in zip(plan.cells, estimates, strict=True)
        ],
        "labels": "Synthetic scenario; parameters approximate public figures or are assumed.",
    }


def summary_table(plan: StudyPlan, estimates: tuple[dict[str, Estimate], ...]) -> pa.Table:
    """Tidy summary: one row per (cell, metric), one column per swept setting."""
    recs: dict[str, list[Any]] = {"cell": []}
    recs.update({s.path: [] for s in plan.settings})
    for k in ("metric", "estimate", "lo", "hi", "n", "method"):
        recs[k] = []
    for c, est in zip(plan.cells, estimates, strict=True):
        for name, e in est.items():
            recs["cell"].append(c.index)
            for s, v in zip(plan.settings, c.values, strict=True):
                recs[s.path].append(v)
            d = e.to_dict()
            recs["metric"].append(name)
            for k in ("estimate", "lo", "hi", "n", "method"):
                recs[k].append(d[k])
    arrays: dict[str, pa.Array] = {"cell": pa.array(recs["cell"], type=pa.int64())}
    for s in plan.settings:
        typ = _value_type(s.values)
        arrays[s.path] = pa.array([_value_cell(v, typ) for v in recs[s.path]], type=typ)
    arrays["metric"] = pa.array(recs["metric"], type=pa.string())
    for k in ("estimate", "lo", "hi"):
        arrays[k] = pa.array(recs[k], type=pa.float64())
    arrays["n"] = pa.array(recs["n"], type=pa.int64())
    arrays["method"] = pa.array(recs["method"], type=pa.string())
    table = pa.table(arrays)
    return table if plan.is_sweep else table.drop_columns(["cell"])
