"""The study report: figures and one offline HTML page for a `skydome mc` or `sweep` directory.

Everything is read back from the files the study wrote, never recomputed
differently: estimates and intervals from `summary.json` (the same numbers
`skydome mc` printed), distributions from `replications.parquet`. The page
inlines its figures as PNG data URIs and carries a content-security policy
that forbids any network request, like the run replay.

Figures (each saved as PNG and SVG in `DIR/figures/`):

- `leakers`, `fired`: histograms of leakers and of missiles expended per
  replication, one panel per cell, with the cell's mean and interval;
- `outcomes`: P(no leaker) and P(raid annihilated) per cell, Wilson intervals;
- sweeps only, `vs-SETTING` for each swept setting: the outcomes against that
  setting, one curve per combination of the other settings' values, with the
  confidence interval as a band;
- sweeps of exactly two settings, `heatmap`: the outcomes over the grid.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display needed or wanted

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from skydome.arrays import F64
from skydome.errors import UserError  # noqa: E402
from skydome.report.figures import COLOURS, KILL_COLOUR, LEAK_COLOUR  # noqa: E402
from skydome.report.templates import render_page  # noqa: E402
from skydome.study.metrics import label as _label  # noqa: E402
from skydome.study.store import MANIFEST_FORMAT  # noqa: E402

__all__ = [
    "CURVE_METRICS",
    "StudyData",
    "curves_figure",
    "heatmap_figure",
    "histogram_figure",
    "is_study_dir",
    "load_study",
    "outcomes_figure",
    "study_figures",
    "study_html",
    "write_study_report",
]


CURVE_METRICS = ("p_no_leaker", "leaked", "missiles_per_kill", "damage")
"""Outcomes drawn against each swept setting and on the heatmap (those the study has)."""

_METHODS = {
    "wilson": "Wilson score",
    "t": "Student t",
    "delta": "delta method",
}


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


def _vstr(v: Any) -> str:
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
        return ", ".join(f"{s}={_vstr(vals[s])}" for s in self.settings)


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


# --------------------------------------------------------------------------- figures


def _fmt(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}" if math.isfinite(x) else "–"


def _est_text(est: tuple[float, float, float], digits: int = 4) -> str:
    """`estimate [lo, hi]` (just the estimate when the interval is undefined)."""
    e, lo, hi = est
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return _fmt(e, digits)
    return f"{_fmt(e, digits)} [{_fmt(lo, digits)}, {_fmt(hi, digits)}]"


def _grid(d: StudyData) -> tuple[int, int]:
    """(rows, columns) of per-cell small multiples: a column per value of the last setting."""
    if not d.is_sweep:
        return 1, 1
    ncols = min(len(d.levels(len(d.settings) - 1)), 6)
    return math.ceil(len(d.cells) / ncols), ncols


def histogram_figure(d: StudyData, column: str, title: str) -> Figure:
    """Bar chart of an integer column of `replications.parquet`, one panel per cell.

    Bar `k` of a cell's panel is the number of its replications where `column`
    equals k (every k from 0 to the study's maximum, so the heights of a panel
    sum to the replications per cell). Each panel's axes has gid `cell-C` and
    its title gives the cell's mean and interval from `summary.json`.

    Args:
        d: the study.
        column: a count column, e.g. `leaked` or `fired`.
        title: the figure title.
    """
    counts = (
        d.rows.groupby("cell")[column].value_counts().unstack(fill_value=0)
        if len(d.rows)
        else pd.DataFrame()
    )
    top = int(d.rows[column].max()) if len(d.rows) else 0
    counts = counts.reindex(index=range(len(d.cells)), columns=range(top + 1), fill_value=0).fillna(
        0
    )
    nrows, ncols = _grid(d)
    size = (min(3.2 * ncols, 16), 2.6 * nrows + 0.8) if d.is_sweep else (6.0, 3.8)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=size, sharex=True, sharey=True, squeeze=False, layout="constrained"
    )
    colour = LEAK_COLOUR if column == "leaked" else "navy"
    x = np.arange(top + 1)
    for k in range(nrows * ncols):
        ax: Axes = axes.flat[k]
        if k >= len(d.cells):
            ax.set_visible(False)
            continue
        ax.set_gid(f"cell-{k}")
        ax.bar(x, counts.loc[k].to_numpy(dtype=float), width=0.8, color=colour, alpha=0.8)
        lines = [d.cell_label(k)] if d.is_sweep else []
        if column in d.cells[k]["metrics"]:
            lines.append(f"mean {_est_text(d.metric(k, column), 3)}")
        if column == "leaked" and "p_no_leaker" in d.cells[k]["metrics"]:
            lines.append(f"P(no leaker) {_est_text(d.metric(k, 'p_no_leaker'), 3)}")
        ax.set_title("\n".join(lines), fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        ax.set_xticks(x if top <= 12 else np.arange(0, top + 1, max(1, top // 10)))
    for ax in axes[-1, :]:
        ax.set_xlabel(_label(column))
    for ax in axes[:, 0]:
        ax.set_ylabel("replications")
    per = " per cell" if d.is_sweep else ""
    fig.suptitle(f"{title} ({d.summary['replications']:,} replications{per})", fontsize=10)
    return fig


def outcomes_figure(d: StudyData) -> Figure:
    """P(no leaker) and P(raid annihilated) of every cell with their Wilson intervals.

    One row per cell; the markers of each proportion are a line with gid
    `outcome-METRIC` whose x data are the estimates, in cell order.
    """
    n = len(d.cells)
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.35 * n), layout="constrained")
    y = np.arange(n)[::-1].astype(float)
    for off, name, colour in (
        (0.12, "p_no_leaker", KILL_COLOUR),
        (-0.12, "p_raid_annihilated", "navy"),
    ):
        if name not in d.cells[0]["metrics"]:
            continue
        est = np.array([d.metric(k, name) for k in range(n)], dtype=np.float64).reshape(n, 3)
        err = np.abs(est[:, 1:].T - est[:, 0])
        ax.errorbar(est[:, 0], y + off, xerr=err, fmt="none", ecolor=colour, capsize=3)
        ax.plot(est[:, 0], y + off, "o", color=colour, gid=f"outcome-{name}", label=_label(name))
    ax.set_yticks(y, [d.cell_label(k) for k in range(n)], fontsize=8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(f"probability ({d.confidence:.0%} Wilson intervals)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    ax.set_title("outcome probabilities")
    return fig


def _positions(values: Sequence[Any]) -> tuple[F64, list[str] | None]:
    """Positions on the x axis: numeric values as they are, others at 0, 1, ... with labels."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.float64), None
    return np.arange(len(values), dtype=np.float64), [_vstr(v) for v in values]


def curves_figure(d: StudyData, j: int) -> Figure:
    """The outcomes against swept setting `j`, one curve per value of the other settings.

    One panel per metric of `CURVE_METRICS` the study has: the estimates of
    `summary.json` joined by a line (gid `curve-METRIC-G`, G the group of
    other-setting values in grid order), the interval as a band (gid
    `band-METRIC-G`).

    Args:
        d: a sweep.
        j: index of the setting on the x axis.
    """
    path = d.settings[j]
    levels = d.levels(j)
    xs, ticks = _positions(levels)
    others = [i for i in range(len(d.settings)) if i != j]
    groups = list(itertools.product(*(range(len(d.levels(i))) for i in others)))
    where = d.level_index()
    metrics = [m for m in CURVE_METRICS if m in d.cells[0]["metrics"]]
    ncols = 2 if len(metrics) > 1 else 1
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(5.2 * ncols, 3.4 * nrows + 0.6), squeeze=False, layout="constrained"
    )
    conf = f"{d.confidence:.0%}"
    for ax, name in zip(axes.flat, metrics, strict=False):
        for g, group in enumerate(groups):
            cells = []
            for a in range(len(levels)):
                pos = list(group)
                pos.insert(j, a)
                cells.append(where.get(tuple(pos)))
            est = np.array(
                [d.metric(c, name) if c is not None else (math.nan,) * 3 for c in cells],
                dtype=np.float64,
            ).reshape(len(levels), 3)
            colour = COLOURS[g % len(COLOURS)]
            label = ", ".join(
                f"{d.settings[i]}={_vstr(d.levels(i)[v])}"
                for i, v in zip(others, group, strict=True)
            )
            ax.plot(xs, est[:, 0], "o-", color=colour, gid=f"curve-{name}-{g}", label=label or None)
            ax.fill_between(
                xs, est[:, 1], est[:, 2], color=colour, alpha=0.18, lw=0, gid=f"band-{name}-{g}"
            )
        if ticks is not None:
            ax.set_xticks(xs, ticks)
        elif len(levels) <= 12:
            ax.set_xticks(xs, [_vstr(v) for v in levels])
        if name.startswith("p_"):
            ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(path)
        ax.set_ylabel(_label(name))
        ax.grid(alpha=0.3)
        if others:
            ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    fig.suptitle(f"outcomes against {path} ({conf} confidence bands)", fontsize=10)
    return fig


_CMAPS = {"p_no_leaker": "RdYlGn", "p_raid_annihilated": "RdYlGn", "leaked": "Reds"}


def heatmap_figure(d: StudyData) -> Figure:
    """The outcomes over the grid of a two-setting sweep.

    One panel per metric of `CURVE_METRICS` the study has; its image (the axes
    has gid `heatmap-METRIC`) is `(len(levels(0)), len(levels(1)))`: row i is
    the i-th value of the first setting (drawn bottom to top), column k the
    k-th value of the second, each cell its `summary.json` estimate, annotated
    with the interval.

    Raises:
        ValueError: the study does not sweep exactly two settings.
    """
    if len(d.settings) != 2:
        raise ValueError(f"a heatmap needs exactly two swept settings, not {len(d.settings)}")
    l0, l1 = d.levels(0), d.levels(1)
    where = d.level_index()
    metrics = [m for m in CURVE_METRICS if m in d.cells[0]["metrics"]]
    ncols = 2 if len(metrics) > 1 else 1
    nrows = math.ceil(len(metrics) / ncols)
    w = max(4.5, 1.1 * len(l1) + 2.0)
    h = max(3.2, 0.7 * len(l0) + 1.6)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(w * ncols, h * nrows + 0.5), squeeze=False, layout="constrained"
    )
    for ax, name in zip(axes.flat, metrics, strict=False):
        est = np.full((len(l0), len(l1), 3), np.nan)
        for (a, b), c in where.items():
            est[a, b] = d.metric(c, name)
        prop = name.startswith("p_")
        im = ax.imshow(
            np.ma.masked_invalid(est[:, :, 0]), origin="lower", aspect="auto",
            cmap=_CMAPS.get(name, "viridis"), vmin=0.0 if prop else None,
            vmax=1.0 if prop else None,
        )  # fmt: skip
        ax.set_gid(f"heatmap-{name}")
        for a, b in itertools.product(range(len(l0)), range(len(l1))):
            text = _est_text((est[a, b, 0], est[a, b, 1], est[a, b, 2]), 2)
            ax.text(
                b, a, text.replace(" [", "\n["), ha="center", va="center", fontsize=7,
                bbox={"fc": "white", "alpha": 0.6, "lw": 0, "pad": 1},
            )  # fmt: skip
        ax.set_xticks(range(len(l1)), [_vstr(v) for v in l1])
        ax.set_yticks(range(len(l0)), [_vstr(v) for v in l0])
        ax.set_xlabel(d.settings[1])
        ax.set_ylabel(d.settings[0])
        ax.set_title(_label(name), fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    fig.suptitle(f"estimates over the grid ({d.confidence:.0%} intervals)", fontsize=10)
    return fig


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", path)


def study_figures(d: StudyData) -> dict[str, Figure]:
    """Every figure of the study report, by file name (without extension), in page order."""
    figs: dict[str, Figure] = {
        "leakers": histogram_figure(d, "leaked", "leakers per replication"),
        "fired": histogram_figure(d, "fired", "missiles expended per replication"),
        "outcomes": outcomes_figure(d),
    }
    for j, path in enumerate(d.settings):
        figs[f"vs-{_slug(path)}"] = curves_figure(d, j)
    if len(d.settings) == 2:
        figs["heatmap"] = heatmap_figure(d)
    return figs


def _render(fig: Figure) -> dict[str, bytes]:
    """A figure as PNG and SVG bytes, without creation dates (same study, same files)."""
    out = {}
    for ext, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        buf = io.BytesIO()
        with plt.rc_context({"svg.hashsalt": "skydome"}):
            fig.savefig(buf, format=ext, dpi=110, metadata=meta)
        out[ext] = buf.getvalue()
        fig.set_layout_engine("none")  # laid out once: the SVG reuses the PNG's layout
    plt.close(fig)
    return out


# --------------------------------------------------------------------------- page


def _metric_cell(d: StudyData, cell: int, name: str) -> dict[str, Any]:
    """A table cell: the metric's text and, for data attributes, its summary numbers as JSON."""
    m = d.cells[cell]["metrics"][name]
    return {
        "cell": cell,
        "metric": name,
        "text": _est_text(d.metric(cell, name)),
        **{k: json.dumps(m[k]) for k in ("estimate", "lo", "hi", "n")},
    }


def _summary_table(d: StudyData) -> dict[str, Any]:
    """Every metric of every cell: a row per metric, a column per cell."""
    if d.is_sweep:
        head = [[s, "", *(_vstr(c["values"][s]) for c in d.cells)] for s in d.settings]
    else:
        head = [["metric", "method", f"estimate [{d.confidence:.0%} interval]"]]
    rows = []
    for name in d.metric_names():
        method = d.cells[0]["metrics"][name]["method"]
        rows.append(
            {
                "name": name,
                "label": _label(name),
                "method": _METHODS.get(method, method),
                "cells": [_metric_cell(d, k, name) for k in range(len(d.cells))],
            }
        )
    return {"head": head, "rows": rows}


def _headline(d: StudyData) -> dict[str, Any]:
    """P(no leaker) with its Wilson interval: one sentence, or a table row per sweep cell."""
    if not d.is_sweep:
        m = d.cells[0]["metrics"]["p_no_leaker"]
        e, lo, hi = d.metric(0, "p_no_leaker")
        return {
            "table": None,
            **{k: json.dumps(m[k]) for k in ("estimate", "lo", "hi")},
            "text": _fmt(e),
            "lo_text": _fmt(lo),
            "hi_text": _fmt(hi),
            "n": f"{m['n']:,}",
        }
    cols = ["p_no_leaker", "leaked", "fired", "missiles_per_kill"]
    cols = [m for m in cols if m in d.cells[0]["metrics"]]
    return {
        "table": {
            "head": [*d.settings, *(_label(m) for m in cols)],
            "rows": [
                {
                    "setting_values": [_vstr(c["values"][s]) for s in d.settings],
                    "cells": [_metric_cell(d, k, m) for m in cols],
                }
                for k, c in enumerate(d.cells)
            ],
        }
    }


def _caption(d: StudyData, name: str) -> str:
    conf = f"{d.confidence:.0%}"
    fixed = {
        "leakers": "Leakers per replication: how many replications (bar height) let k threats "
        "through; the panel title gives the mean and its t interval.",
        "fired": "Missiles expended per replication, with the mean and its t interval.",
        "outcomes": f"P(no leaker) and P(raid annihilated) per cell, {conf} Wilson intervals.",
        "heatmap": f"The outcomes over the grid of the two settings, each cell annotated with "
        f"its estimate and {conf} interval.",
    }
    if name in fixed:
        return fixed[name]
    path = next(s for s in d.settings if f"vs-{_slug(s)}" == name)
    return (
        f"The outcomes against {path}, one curve per value of the other settings; "
        f"bands: {conf} intervals."
    )


def study_html(d: StudyData, figures: dict[str, bytes]) -> str:
    """The complete page, with the figures (PNG bytes, by name) inlined as data URIs.

    Rendered by `skydome.report.templates.render_page` from `study.html`, with
    autoescaping: scenario names, setting paths and values, missile and threat
    types in metric names all reach the page as text. The page runs no script.
    """
    s, mf = d.summary, d.manifest
    what = (
        f"sweep of {len(d.settings)} setting{'s' if len(d.settings) > 1 else ''}, "
        f"{len(d.cells)} cells x {s['replications']:,} replications"
        if d.is_sweep
        else f"{s['replications']:,} replications"
    )
    stop = s.get("stopping")
    rerun = (
        f"skydome run {d.path / 'cells' / 'cell-NNNN.yaml'} --seed SEED"
        if d.is_sweep
        else f"skydome run {mf.get('scenario', s['scenario'])} --seed SEED"
    )
    return render_page(
        "study.html",
        style="study.css",
        title=f"skydome study — {s['scenario']}: {what}, seed {s['seed']}",
        conf=f"{d.confidence:.0%}",
        headline=_headline(d),
        stopping=(
            {
                "metric": str(stop["metric"]),
                "width": f"{stop['until_ci']:g}",
                "status": "reached" if stop["reached"] else "NOT reached",
            }
            if stop
            else None
        ),
        summary=_summary_table(d),
        about={
            "scenario": str(mf.get("scenario", s["scenario"])),
            "sha": str(s["scenario_sha256"])[:12],
            "version": str(s["skydome_version"]),
            "seed": s["seed"],
            "rerun": rerun,
            "labels": str(s.get("labels", "")),
        },
        figures=[
            {
                "name": name,
                "caption": _caption(d, name),
                "uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            }
            for name, png in figures.items()
        ],
    )


def write_study_report(study_dir: Path) -> Path:
    """Write `figures/*.png|svg` and the self-contained `report.html` into a study directory.

    The figures directory is filled through a temporary one and `report.html`
    through a temporary file, so a failure leaves no half-written output.

    Returns:
        The path of `report.html`.
    """
    from skydome.results import write_atomic_dir, write_atomic_file

    d = load_study(Path(study_dir))
    rendered = {name: _render(fig) for name, fig in study_figures(d).items()}

    def write(tmp: Path) -> None:
        for name, files in rendered.items():
            for ext, data in files.items():
                (tmp / f"{name}.{ext}").write_bytes(data)

    write_atomic_dir(d.path / "figures", write)
    out = d.path / "report.html"
    write_atomic_file(out, study_html(d, {n: f["png"] for n, f in rendered.items()}))
    return out
