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
import json
from pathlib import Path
from typing import Any

from skydome.report.study_data import (
    CURVE_METRICS,
    StudyData,
    is_study_dir,
    load_study,
    value_text,
)
from skydome.report.study_figures import (
    curves_figure,
    estimate_text,
    fmt_number,
    heatmap_figure,
    histogram_figure,
    outcomes_figure,
    render_figure,
    slug,
    study_figures,
)
from skydome.report.templates import render_page
from skydome.study.metrics import label as _label

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

_METHODS = {
    "wilson": "Wilson score",
    "t": "Student t",
    "delta": "delta method",
}


# --------------------------------------------------------------------------- page


def _metric_cell(d: StudyData, cell: int, name: str) -> dict[str, Any]:
    """A table cell: the metric's text and, for data attributes, its summary numbers as JSON."""
    m = d.cells[cell]["metrics"][name]
    return {
        "cell": cell,
        "metric": name,
        "text": estimate_text(d.metric(cell, name)),
        **{k: json.dumps(m[k]) for k in ("estimate", "lo", "hi", "n")},
    }


def _summary_table(d: StudyData) -> dict[str, Any]:
    """Every metric of every cell: a row per metric, a column per cell."""
    if d.is_sweep:
        head = [[s, "", *(value_text(c["values"][s]) for c in d.cells)] for s in d.settings]
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
            "text": fmt_number(e),
            "lo_text": fmt_number(lo),
            "hi_text": fmt_number(hi),
            "n": f"{m['n']:,}",
        }
    cols = ["p_no_leaker", "leaked", "fired", "missiles_per_kill"]
    cols = [m for m in cols if m in d.cells[0]["metrics"]]
    return {
        "table": {
            "head": [*d.settings, *(_label(m) for m in cols)],
            "rows": [
                {
                    "setting_values": [value_text(c["values"][s]) for s in d.settings],
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
    path = next(s for s in d.settings if f"vs-{slug(s)}" == name)
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
    rendered = {name: render_figure(fig) for name, fig in study_figures(d).items()}

    def write(tmp: Path) -> None:
        for name, files in rendered.items():
            for ext, data in files.items():
                (tmp / f"{name}.{ext}").write_bytes(data)

    write_atomic_dir(d.path / "figures", write)
    out = d.path / "report.html"
    write_atomic_file(out, study_html(d, {n: f["png"] for n, f in rendered.items()}))
    return out
