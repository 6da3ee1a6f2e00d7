"""What plugging a Stone Soup tracker into skydome costs: default scenario wall time.

Runs the default scenario with skydome's built-in tracker (`GnnTracker`) and
with `skydome.interop.stonesoup.StoneSoupTracker` (Kalman predictor/updater,
Mahalanobis hypothesiser, GNN 2-D assignment, single-point initiator, with
skydome's track management) on the same seeds, and prints the median wall
time of each, the slow-down, and the kills of each run. Stone Soup is an
optional dependency (``pip install 'skydome[interop]'``).

    python benchmarks/bench_interop.py [--repeats 3] [--scenario default]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from skydome import compile_scenario, load_scenario, simulate  # noqa: E402
from skydome.interop.stonesoup import StoneSoupTracker  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scenario", default="default")
    args = ap.parse_args()
    p = compile_scenario(load_scenario(args.scenario))
    trackers = {"built-in GnnTracker": None, "StoneSoupTracker": StoneSoupTracker(p.tracker)}
    simulate(p, seed=0)  # warm-up: imports, caches
    print(f"{args.scenario}: {p.threats.n} threats, {p.duration_s:.0f} s simulated, "
          f"{args.repeats} runs each (seeds 1..{args.repeats})")  # fmt: skip
    print(f"{'tracker':<20} {'wall s (median)':>16} {'min':>8} {'max':>8} {'kills':>12}")
    medians = []
    for name, tracker in trackers.items():
        walls, kills = [], []
        for seed in range(1, args.repeats + 1):
            t0 = time.perf_counter()
            r = simulate(p, seed=seed, tracker=tracker)
            walls.append(time.perf_counter() - t0)
            kills.append(int(np.isfinite(r.kill_time_s).sum()))
        med = statistics.median(walls)
        medians.append(med)
        print(
            f"{name:<20} {med:>16.2f} {min(walls):>8.2f} {max(walls):>8.2f} "
            f"{'/'.join(map(str, kills)):>12}",
            flush=True,
        )
    print(f"slow-down: {medians[1] / medians[0]:.0f}x")


if __name__ == "__main__":
    main()
