"""Regenerate the example inputs in this folder (deterministic: same bytes every time).

    python examples/make_examples.py

- `detections.csv`: one sensor's detections of 6 aircraft over 2 minutes
  (Pd 0.9, 40 m noise per axis, 2 false alarms per scan), in the `skydome track`
  input format (time_s, x_m, y_m, z_m in a local East-North-Up frame, metres).
- `wta_instance.json`: a static weapon-target assignment instance for
  `skydome wta`: 4 interceptor types with magazine counts and costs against
  12 threats of different values.

Synthetic data only: no real sensor, target or weapon figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from skydome.tracking.synthetic import cv_targets_in_square

HERE = Path(__file__).resolve().parent


def detections_csv() -> str:
    """The detections table as CSV text."""
    data = cv_targets_in_square(
        6, 61, side_m=150_000.0, dt_s=2.0, pd=0.9, sigma_m=40.0, clutter_per_scan=2.0, seed=7
    )
    lines = ["time_s,x_m,y_m,z_m"]
    for scan in data.scans:  # scans: the time axis, written once
        for x, y, z in scan.pos_m:
            lines.append(f"{scan.time_s:.1f},{x:.1f},{y:.1f},{z:.1f}")
    return "\n".join(lines) + "\n"


def wta_instance() -> str:
    """The WTA instance as JSON text."""
    rng = np.random.default_rng(11)
    values = np.round(rng.choice([5.0, 10.0, 40.0, 100.0], 12, p=[0.3, 0.4, 0.2, 0.1]), 1)
    base = np.array([0.85, 0.75, 0.6, 0.5])[:, None]  # long-range to short-range types
    pk = np.clip(base + rng.normal(0.0, 0.1, (4, 12)), 0.05, 0.95).round(2)
    inst = {
        "values": values.tolist(),
        "pk": pk.tolist(),
        "weapon_counts": [4, 6, 8, 12],
        "costs": [6.0, 3.0, 1.5, 0.5],
        "max_per_target": 3,
    }
    # One key per line, one pk row per line: readable and diff-friendly.
    body = ",\n".join(
        f'  "{k}": '
        + (
            "[\n" + ",\n".join(f"    {json.dumps(r)}" for r in v) + "\n  ]"
            if k == "pk"
            else json.dumps(v)
        )
        for k, v in inst.items()
    )
    return "{\n" + body + "\n}\n"


def main() -> None:
    """Write both files beside this script."""
    (HERE / "detections.csv").write_text(detections_csv(), encoding="utf-8")
    (HERE / "wta_instance.json").write_text(wta_instance(), encoding="utf-8")


if __name__ == "__main__":
    main()
