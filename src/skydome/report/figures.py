"""Static figures of one run (matplotlib): map, altitude profile, timeline, magazines.

Each `*_figure` function takes a `RunData` and returns a matplotlib Figure;
`save_figures` writes all of them as PNG and SVG. Distances are drawn in km.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed or wanted

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from skydome.arrays import F64  # noqa: E402
from skydome.geo import EFFECTIVE_EARTH_RADIUS_M  # noqa: E402
from skydome.report.data import RunData  # noqa: E402
from skydome.sensors.coverage import (  # noqa: E402
    REPORT_ALTITUDE_M,
    REPORT_RCS_M2,
    RING_SAMPLES,
    coverage,
)

__all__ = [
    "FIGURES",
    "coverage_ring",
    "magazine_figure",
    "map_figure",
    "profile_figure",
    "save_figures",
    "timeline_figure",
]


COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
"""Matplotlib's tab10, by threat type (the replay uses the same)."""
KILL_COLOUR = "#1a9850"
LEAK_COLOUR = "#d73027"


def coverage_ring(
    d: RunData, r: int, rcs_m2: float, altitude_m: float, n: int = RING_SAMPLES
) -> tuple[F64, F64]:
    """Ground range at which radar `r` detects a target, around its sector.

    The run's own `coverage.parquet` when it is for this target and sampling
    (the reports' default); otherwise the sensor stage's `coverage` for the
    radars as run.

    Returns:
        (azimuth_rad, ground_range_m), each (n,), azimuth clockwise from north.
    """
    if (rcs_m2, altitude_m, n) == (REPORT_RCS_M2, REPORT_ALTITUDE_M, RING_SAMPLES):
        return d.coverage_ring(r)
    c = coverage(d.params.radars, rcs_m2, altitude_m, n)
    return c.azimuth_rad[r], np.full(n, c.ground_range_m[r])


def _threat_styles(d: RunData) -> tuple[list[str], dict[int, int]]:
    th = d.params.threats
    return list(th.type_names), {i: int(th.type_index[i]) for i in range(th.n)}


def map_figure(d: RunData, rcs_m2: float = 1.0, altitude_m: float = 100.0) -> Figure:
    """Top-down map: assets, launchers, radar coverage, paths, detections, intercepts, leaks.

    Radar coverage is drawn for a target of `rcs_m2` at `altitude_m` (the
    horizon makes the low-altitude hole show).
    """
    p = d.params
    fig, ax = plt.subplots(figsize=(9, 8), layout="constrained")
    names, ttype = _threat_styles(d)
    for tid, g in d.truth.groupby("threat_id"):
        c = COLOURS[ttype[int(tid)] % len(COLOURS)]
        ax.plot(g["x_m"] / 1e3, g["y_m"] / 1e3, "-", lw=0.8, color=c, alpha=0.6)
    for i, name in enumerate(names):
        ax.plot([], [], "-", color=COLOURS[i % len(COLOURS)], label=name)
    for r in range(p.radars.n):
        az, rng = coverage_ring(d, r, rcs_m2, altitude_m)
        x0, y0 = p.radars.pos_m[r, :2]
        xs = np.r_[x0, x0 + rng * np.sin(az), x0] if p.radars.az_half_width_rad[r] < np.pi else (
            x0 + rng * np.sin(az)
        )  # fmt: skip
        ys = np.r_[y0, y0 + rng * np.cos(az), y0] if p.radars.az_half_width_rad[r] < np.pi else (
            y0 + rng * np.cos(az)
        )  # fmt: skip
        ax.plot(xs / 1e3, ys / 1e3, "--", lw=1.0, color="0.35", gid=f"coverage-{r}")
        ax.plot(x0 / 1e3, y0 / 1e3, "s", color="0.2", ms=6)
        ax.annotate(p.radars.names[r], (x0 / 1e3, y0 / 1e3), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")  # fmt: skip
    ax.plot([], [], "--", color="0.35", label=f"radar coverage, {rcs_m2:g} m² at {altitude_m:g} m")
    for i, name in enumerate(p.assets.names):
        x, y = p.assets.pos_m[i, :2] / 1e3
        ax.plot(x, y, "*", color="k", ms=14)
        circ = Circle((x, y), p.assets.radius_m[i] / 1e3, fill=False, color="k", lw=0.6)
        ax.add_patch(circ)
        ax.annotate(name, (x, y), fontsize=8, xytext=(6, -10), textcoords="offset points")
    bx, by = p.batteries.pos_m[:, 0] / 1e3, p.batteries.pos_m[:, 1] / 1e3
    ax.plot(bx, by, "^", color="navy", ms=9, label="batteries")
    det = d.kind("detect")
    ax.plot(det["x_m"] / 1e3, det["y_m"] / 1e3, ".", color="0.1", ms=3, label="first detection")
    kill = d.kind("kill")
    ax.plot(kill["x_m"] / 1e3, kill["y_m"] / 1e3, "x", color=KILL_COLOUR, ms=7, mew=2,
            label=f"intercepts ({len(kill)})", gid="intercepts")  # fmt: skip
    leak = d.kind("leak")
    ax.plot(leak["x_m"] / 1e3, leak["y_m"] / 1e3, "o", mfc="none", color=LEAK_COLOUR, ms=8,
            mew=1.5, label=f"leakers ({len(leak)})", gid="leakers")  # fmt: skip
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("east (km)")
    ax.set_ylabel("north (km)")
    ax.set_title(f"{p.name} (seed {d.summary['seed']}): engagement map")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=7)
    return fig


def profile_figure(d: RunData) -> Figure:
    """Altitude against ground range from the first battery, with envelopes and horizon."""
    p = d.params
    fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
    origin = p.batteries.pos_m[0, :2]
    names, ttype = _threat_styles(d)
    for tid, g in d.truth.groupby("threat_id"):
        rng = np.hypot(g["x_m"] - origin[0], g["y_m"] - origin[1]) / 1e3
        c = COLOURS[ttype[int(tid)] % len(COLOURS)]
        ax.plot(rng, g["z_m"] / 1e3, "-", lw=0.8, color=c, alpha=0.6)
    for i, name in enumerate(names):
        ax.plot([], [], "-", color=COLOURS[i % len(COLOURS)], label=name)
    m = p.missiles
    for k, name in enumerate(m.names):
        x0, x1 = m.min_range_m[k] / 1e3, m.max_range_m[k] / 1e3
        y0, y1 = m.min_alt_m[k] / 1e3, m.max_alt_m[k] / 1e3
        ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], ":", lw=1.0,
                color=COLOURS[(k + 5) % len(COLOURS)], label=f"{name} envelope")  # fmt: skip
    # Lowest altitude the first radar sees at each range: over the 4/3-earth horizon.
    hr = float(p.radars.pos_m[0, 2])
    d_m = np.linspace(0.0, float(p.radars.max_range_m[0]), 300)
    dh = np.maximum(d_m - np.sqrt(2.0 * EFFECTIVE_EARTH_RADIUS_M * hr), 0.0)
    ax.plot(d_m / 1e3, dh**2 / (2.0 * EFFECTIVE_EARTH_RADIUS_M) / 1e3, "-", color="0.3",
            lw=1.2, label=f"{p.radars.names[0]} horizon")  # fmt: skip
    kill = d.kind("kill")
    ax.plot(np.hypot(kill["x_m"] - origin[0], kill["y_m"] - origin[1]) / 1e3, kill["z_m"] / 1e3,
            "x", color=KILL_COLOUR, ms=7, mew=2, label="intercepts")  # fmt: skip
    ax.set_xlabel(f"ground range from {p.batteries.names[0]} (km)")
    ax.set_ylabel("altitude (km)")
    zmax = float(max(d.truth["z_m"].max() if len(d.truth) else 0.0, m.max_alt_m.max())) / 1e3
    ax.set_ylim(0, zmax * 1.05 + 0.1)
    ax.set_title("altitude profile")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=7)
    return fig


def timeline_figure(d: RunData) -> Figure:
    """One row per threat: in the air, detected, tracked, engaged, killed or leaked."""
    p = d.params
    th = p.threats
    n = th.n
    first = {}
    for kind in ("detect", "track", "launch", "kill", "leak"):
        ev = d.kind(kind)
        ev = ev[ev["threat_id"].notna()]
        first[kind] = ev.groupby("threat_id")["time_s"].min()
    order = np.argsort(th.launch_s, kind="stable")
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.08 * n + 1.5)), layout="constrained")
    row = np.empty(n, dtype=np.int64)
    row[order] = np.arange(n)
    end = np.minimum(th.end_s, p.duration_s)
    kt = first["kill"].reindex(range(n)).to_numpy(dtype=float)
    end = np.where(np.isfinite(kt), np.minimum(end, kt), end)
    ax.hlines(row, th.launch_s, end, color=[COLOURS[i % 10] for i in th.type_index], lw=2,
              alpha=0.6)  # fmt: skip
    marks = (
        ("detect", "|", "0.2", "detected"),
        ("track", "|", "tab:blue", "tracked"),
        ("launch", ">", "navy", "first launch"),
        ("kill", "x", KILL_COLOUR, "killed"),
        ("leak", "o", LEAK_COLOUR, "leaked"),
    )
    for kind, marker, colour, label in marks:
        s = first[kind]
        ids = s.index.to_numpy(dtype=np.int64)
        ax.plot(s.to_numpy(), row[ids], marker, color=colour, ms=5, ls="none", label=label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("threat (by launch time)")
    ax.set_xlim(0, p.duration_s)
    ax.set_title("engagement timeline")
    ax.legend(loc="lower right", fontsize=7, ncols=3)
    ax.grid(axis="x", alpha=0.3)
    return fig


def magazine_figure(d: RunData) -> Figure:
    """Missiles left (on launchers and in reserve) over time, per battery and type."""
    p = d.params
    b = p.batteries
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    la = d.kind("launch")
    start = b.inventory + b.reserve
    k = 0
    for bi, bname in enumerate(b.names):
        for mi, mname in enumerate(p.missiles.names):
            if start[bi, mi] == 0:
                continue
            t = np.sort(
                la[(la["battery"] == bname) & (la["missile_type"] == mname)]["time_s"].to_numpy()
            )
            times = np.r_[0.0, t, p.duration_s]
            left = start[bi, mi] - np.r_[0, np.arange(1, t.size + 1), t.size]
            ax.step(times, left, where="post", color=COLOURS[k % 10], label=f"{bname} {mname}")
            k += 1
    ax.set_xlabel("time (s)")
    ax.set_ylabel("missiles left")
    ax.set_xlim(0, p.duration_s)
    ax.set_ylim(bottom=0)
    ax.set_title("magazine depletion")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=7)
    return fig


FIGURES = {
    "map": map_figure,
    "profile": profile_figure,
    "timeline": timeline_figure,
    "magazines": magazine_figure,
}
"""Figure name -> function, in report order."""


def save_figures(d: RunData, out_dir: Path) -> dict[str, Path]:
    """Write every figure as PNG and SVG into `out_dir`; return the PNG paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, fn in FIGURES.items():
        fig = fn(d)
        for ext in ("png", "svg"):
            fig.savefig(out_dir / f"{name}.{ext}", dpi=110, metadata=_metadata(ext))
        plt.close(fig)
        paths[name] = out_dir / f"{name}.png"
    return paths


def _metadata(ext: str) -> dict[str, str | None]:
    # No creation dates: the same run gives the same files.
    return {"Software": None} if ext == "png" else {"Date": None, "Creator": None}
