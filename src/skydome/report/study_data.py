"""A study directory read back for its report: `summary.json` and `replications.parquet`.

Everything the study report shows is read from the files the study wrote,
never recomputed differently (see `skydome.report.study`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from skydome.errors import UserError
from skydome.study.store import MANIFEST_FORMAT

__all__ = ["CURVE_METRICS", "StudyData", "is_study_dir", "load_study", "value_text"]


CURVE_METRICS = ("p_no_leaker", "leaked", "missiles_per_kill", "damage")
"""Outcomes drawn against each swept setting and on the heatmap (those the study has)."""


# --------------------------------------------------------------------------- reading


def is_study_dir(path: Path) -> bool:
    """True when `path` is a directory written by `skydome mc` or `skydome sweep`.

    A study directory is marked by its `manifest.json`, whose `format` is
    `skydome-study/N` (`skydome.study.MANIFEST_FORMAT`).
    """
    mf = Path(path) / "manifest.json"
    if not mf.is_file():
        return False
    try:
        data = json.loads(mf.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    family = MANIFEST_FORMAT.partition("/")[0] + "/"
    return isinstance(data, dict) and str(data.get("format", "")).startswith(family)


def _key(v: Any) -> str:
    """A hashable identity for a setting value (values may be lists or mappings)."""
    return json.dumps(v, sort_keys=True, default=str)


def value_text(v: Any) -> str:
    """A setting value as the user wrote it."""
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return f"{v:g}"
    return json.dumps(v, default=str)


def _num(x: Any) -> float:
    """A summary number (`None` for "not defined") as a float (nan)."""
    return math.nan if x is None else float(x)


@dataclass(frozen=True)
class StudyData:
    """Everything a study report needs from one study directory.

    Attributes:
        path: the study directory.
        manifest: `manifest.json`.
        summary: `summary.json`: per cell, every metric's estimate and interval.
        rows: `replications.parquet`, one row per replication, with a `cell`
            column (0 for a plain study).
    """

    path: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]
    rows: pd.DataFrame

    @property
    def settings(self) -> tuple[str, ...]:
        """The swept settings (their `--set` paths), slowest-varying first; empty for `mc`."""
        return tuple(self.summary["settings"])

    @property
    def is_sweep(self) -> bool:
        """True for a sweep."""
        return bool(self.settings)

    @property
    def cells(self) -> list[dict[str, Any]]:
        """The `cells` of `summary.json`, in grid order."""
        return list(self.summary["cells"])

    @property
    def confidence(self) -> float:
        """Nominal coverage of every interval, e.g. 0.95."""
        return float(self.summary["confidence"])

    def levels(self, j: int) -> list[Any]:
        """The values of setting `j`, in the order of the grid (the `--set` order)."""
        seen: dict[str, Any] = {}
        for c in self.cells:
            v = c["values"][self.settings[j]]
            seen.setdefault(_key(v), v)
        return list(seen.values())

    def level_index(self) -> dict[tuple[int, ...], int]:
        """Grid position (index into `levels(j)` for every setting j) -> cell number."""
        pos = [
            {_key(v): i for i, v in enumerate(self.levels(j))} for j in range(len(self.settings))
        ]
        return {
            tuple(pos[j][_key(c["values"][s])] for j, s in enumerate(self.settings)): k
            for k, c in enumerate(self.cells)
        }

    def metric(self, cell: int, name: str) -> tuple[float, float, float]:
        """(estimate, lo, hi) of a metric in one cell, as in `summary.json` (nan: undefined)."""
        m = self.cells[cell]["metrics"][name]
        return _num(m["estimate"]), _num(m["lo"]), _num(m["hi"])

    def metric_names(self) -> list[str]:
        """Every metric of the summary, in its order (proportions first)."""
        names: dict[str, None] = {}
        for c in self.cells:
            names.update(dict.fromkeys(c["metrics"]))
        return list(names)

    def cell_label(self, cell: int) -> str:
        """`path=value, ...` for a sweep cell; the scenario name for a plain study."""
        if not self.is_sweep:
            return str(self.summary["scenario"])
        vals = self.cells[cell]["values"]
        return ", ".join(f"{s}={value_text(vals[s])}" for s in self.settings)


def load_study(study_dir: Path) -> StudyData:
    """Read a finished study directory written by `skydome mc` or `skydome sweep`.

    Raises:
        UserError: not a study directory, an unfinished one, or one whose files disagree.
    """
    root = Path(study_dir)
    if not is_study_dir(root):
        raise UserError(
            f"{root}: not a study directory (no skydome manifest.json; "
            "write one with `skydome mc` or `skydome sweep`)"
        )
    missing = [f for f in ("summary.json", "replications.parquet") if not (root / f).is_file()]
    if missing:
        raise UserError(
            f"{root}: the study is not finished: missing {', '.join(missing)} "
            "(complete it: run the same `skydome mc`/`sweep` command with --resume)"
        )
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        summary = json.loads((root / "summary.json").read_text(encoding="utf-8"))
        rows: pd.DataFrame = pq.read_table(root / "replications.parquet").to_pandas()  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as e:
        raise UserError(f"{root}: cannot read the study: {e}") from None
    keys = ("settings", "replications", "confidence", "cells", "scenario", "seed")
    if not isinstance(summary, dict) or any(k not in summary for k in keys):
        raise UserError(f"{root}/summary.json: not a study summary (expected {', '.join(keys)})")
    if "cell" not in rows.columns:
        rows.insert(0, "cell", 0)
    n, cells = int(summary["replications"]), len(summary["cells"])
    if len(rows) != n * cells:
        raise UserError(
            f"{root}: replications.parquet has {len(rows)} rows but summary.json describes "
            f"{cells} cell(s) x {n} replications (an interrupted write? run the same command "
            "with --resume)"
        )
    return StudyData(root, manifest, summary, rows)
