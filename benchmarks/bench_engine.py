"""Claim: the default scenario runs at least 1,000x faster than real time on one core.

Prints simulated seconds per wall second for the built-in scenarios, median of
several runs (the machines are shared and noisy: read the median, not the best).

    python benchmarks/bench_engine.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from skydome import compile_scenario, load_scenario, simulate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--scenarios", nargs="*", default=["default", "saturation"])
    args = ap.parse_args()
    print(f"{'scenario':<12} {'threats':>7} {'sim s':>7} {'wall s (median)':>16} "
          f"{'min':>7} {'max':>7} {'x real time':>12}")  # fmt: skip
    for name in args.scenarios:
        p = compile_scenario(load_scenario(name))
        simulate(p)  # warm-up: imports, caches
        walls = []
        for i in range(args.repeats):
            t0 = time.perf_counter()
            simulate(p, seed=i)
            walls.append(time.perf_counter() - t0)
        med = statistics.median(walls)
        print(
            f"{name:<12} {p.threats.n:>7} {p.duration_s:>7.0f} {med:>16.3f} "
            f"{min(walls):>7.3f} {max(walls):>7.3f} {p.duration_s / med:>12,.0f}"
        )


if __name__ == "__main__":
    main()
