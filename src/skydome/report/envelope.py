"""The engagement-envelope figure of a missile library (matplotlib, files only).

One panel per missile type: the region its own 3-DOF flights reach (ground
range x altitude, from `skydome.engagement.flyout_table`), time-of-flight
contours inside it, and the tabled (public) max range and ceiling as dashed
lines -- the picture analysts expect of a surface-to-air missile.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed or wanted

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from skydome.engagement.flyout_table import FlyoutTable  # noqa: E402
from skydome.engagement.params import MissileParams  # noqa: E402
from skydome.io import atomic_output  # noqa: E402

__all__ = ["envelope_figure", "save_envelope_figure"]


def envelope_figure(missiles: MissileParams, table: FlyoutTable) -> Figure:
    """Reach vs altitude of each type with time-of-flight contours (one panel per type).

    Args:
        missiles: the library (names, tabled max range and altitude).
        table: its flyout table.
    """
    n = len(missiles.names)
    cols = min(n, 2)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.0 * cols, 4.2 * rows), squeeze=False)
    for m, name in enumerate(missiles.names):
        ax = axes[m // cols][m % cols]
        g_km = table.ground_m[m] / 1e3
        h_km = table.alt_m[m] / 1e3
        # The reach curve closed along the ground: the envelope's outline.
        env_h = table.envelope_alt_m[m] / 1e3
        env_r = table.envelope_reach_m[m] / 1e3
        ax.fill_betweenx(env_h, 0.0, env_r, color="tab:blue", alpha=0.15, lw=0)
        ax.plot(env_r, env_h, color="tab:blue", lw=1.5, label="reach (own flights)")
        # Contours of the table's time of flight on a fine grid, inside the reach only.
        gg, hh = np.meshgrid(
            np.linspace(0.0, table.ground_m[m, -1], 80), np.linspace(0.0, table.alt_m[m, -1], 60)
        )
        mm = np.full(gg.shape, m)
        tof = np.where(gg <= table.reach(mm, hh), table.tof(mm, gg, hh), np.nan)
        if np.isfinite(tof).sum() >= 4:
            cs = ax.contour(
                gg / 1e3, hh / 1e3, tof, levels=_levels(float(np.nanmax(tof))),
                colors="0.35", linewidths=0.8,
            )  # fmt: skip
            ax.clabel(cs, fmt="%d s", fontsize=7)
        ax.axvline(missiles.max_range_m[m] / 1e3, color="tab:red", ls="--", lw=1, label="max range")
        ax.axhline(missiles.max_alt_m[m] / 1e3, color="tab:orange", ls="--", lw=1, label="ceiling")
        peak, ceiling_km = table.peak_speed_mps[m], table.ceiling_m[m] / 1e3
        ax.set_title(f"{name}: peak {peak:,.0f} m/s, ceiling {ceiling_km:.1f} km")
        ax.set_xlabel("ground range (km)")
        ax.set_ylabel("altitude (km)")
        ax.set_xlim(0.0, float(g_km[-1]))
        ax.set_ylim(0.0, float(h_km[-1]))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=7)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle("Engagement envelopes: each type's own 3-DOF flights (time-of-flight contours)")
    fig.tight_layout()
    return fig


def _levels(t_max_s: float) -> list[float]:
    """About six round time-of-flight contour levels up to `t_max_s`, s."""
    raw = t_max_s / 6.0
    mag = 10 ** np.floor(np.log10(max(raw, 1e-9)))
    step = min((s * mag for s in (1, 2, 5, 10) if s * mag >= raw), default=raw)
    return [float(x) for x in np.arange(step, t_max_s, step)]


def save_envelope_figure(fig: Figure, path: Path) -> None:
    """Write `fig` to `path` atomically (format from the suffix: .png, .svg, .pdf)."""
    ext = path.suffix.lower().lstrip(".") or "png"
    # No creation dates: the same library gives the same file.
    meta: dict[str, str | None] = (
        {"Software": None} if ext == "png" else {"Date": None, "Creator": None}
    )
    if ext == "pdf":
        meta = {"CreationDate": None, "Creator": None, "Producer": None}
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format=ext, dpi=110, metadata=meta)
    plt.close(fig)
