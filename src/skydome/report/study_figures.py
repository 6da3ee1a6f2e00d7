"""The study report's figures: histograms, outcomes, curves against swept settings, heatmap.

One function per figure, each taking a `StudyData` (see `skydome.report.study`
for the list and `write_study_report` for where they are saved).
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display needed or wanted

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from skydome.arrays import F64
from skydome.report.figures import COLOURS, KILL_COLOUR, LEAK_COLOUR  # noqa: E402
from skydome.report.study_data import CURVE_METRICS, StudyData, value_text
from skydome.study.metrics import label as _label  # noqa: E402

__all__ = [
    "curves_figure",
    "estimate_text",
    "fmt_number",
    "heatmap_figure",
    "histogram_figure",
    "outcomes_figure",
    "render_figure",
    "slug",
    "study_figures",
]


# --------------------------------------------------------------------------- figures


def fmt_number(x: float, digits: int = 4) -> str:
    """`x` to `digits` significant figures; a dash for nan or inf."""
    return f"{x:.{digits}g}" if math.isfinite(x) else "–"


def estimate_text(est: tuple[float, float, float], digits: int = 4) -> str:
    """`estimate [lo, hi]` (just the estimate when the interval is undefined)."""
    e, lo, hi = est
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return fmt_number(e, digits)
    return f"{fmt_number(e, digits)} [{fmt_number(lo, digits)}, {fmt_number(hi, digits)}]"


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
            lines.append(f"mean {estimate_text(d.metric(k, column), 3)}")
        if column == "leaked" and "p_no_leaker" in d.cells[k]["metrics"]:
            lines.append(f"P(no leaker) {estimate_text(d.metric(k, 'p_no_leaker'), 3)}")
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
    return np.arange(len(values), dtype=np.float64), [value_text(v) for v in values]


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
                f"{d.settings[i]}={value_text(d.levels(i)[v])}"
                for i, v in zip(others, group, strict=True)
            )
            ax.plot(xs, est[:, 0], "o-", color=colour, gid=f"curve-{name}-{g}", label=label or None)
            ax.fill_between(
                xs, est[:, 1], est[:, 2], color=colour, alpha=0.18, lw=0, gid=f"band-{name}-{g}"
            )
        if ticks is not None:
            ax.set_xticks(xs, ticks)
        elif len(levels) <= 12:
            ax.set_xticks(xs, [value_text(v) for v in levels])
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
            text = estimate_text((est[a, b, 0], est[a, b, 1], est[a, b, 2]), 2)
            ax.text(
                b, a, text.replace(" [", "\n["), ha="center", va="center", fontsize=7,
                bbox={"fc": "white", "alpha": 0.6, "lw": 0, "pad": 1},
            )  # fmt: skip
        ax.set_xticks(range(len(l1)), [value_text(v) for v in l1])
        ax.set_yticks(range(len(l0)), [value_text(v) for v in l0])
        ax.set_xlabel(d.settings[1])
        ax.set_ylabel(d.settings[0])
        ax.set_title(_label(name), fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    fig.suptitle(f"estimates over the grid ({d.confidence:.0%} intervals)", fontsize=10)
    return fig


def slug(path: str) -> str:
    """A setting path as a file-name part (`vs-SLUG`)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", path)


def study_figures(d: StudyData) -> dict[str, Figure]:
    """Every figure of the study report, by file name (without extension), in page order."""
    figs: dict[str, Figure] = {
        "leakers": histogram_figure(d, "leaked", "leakers per replication"),
        "fired": histogram_figure(d, "fired", "missiles expended per replication"),
        "outcomes": outcomes_figure(d),
    }
    for j, path in enumerate(d.settings):
        figs[f"vs-{slug(path)}"] = curves_figure(d, j)
    if len(d.settings) == 2:
        figs["heatmap"] = heatmap_figure(d)
    return figs


def render_figure(fig: Figure) -> dict[str, bytes]:
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
