"""Claim: exact WTA proves optimality to 80 x 80 in 10 s; the heuristic is fast.

The heuristic should be within 0.5 % of the optimum where it is known and solve
1000 x 1000 in under 1 s.

Instances follow the random generator of the WTA literature (Ahuja, Kumar, Jha &
Orlin, Operations Research 2007): values ~ U[25, 100], kill probabilities
~ U[0.6, 0.9], one weapon per row. Times are medians over `--seeds` instances;
"gap" is (objective - best lower bound) / objective, the bound coming from the
exact solver where it ran.

    python benchmarks/bench_wta.py [--seeds 3] [--exact-limit 10]
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from skydome.engagement.wta import WtaProblem, solve_exact, solve_heuristic  # noqa: E402

SIZES = (5, 10, 20, 50, 80, 200, 1000)
EXACT_UP_TO = 80


def instance(n: int, seed: int) -> WtaProblem:
    rng = np.random.default_rng([n, seed])
    return WtaProblem(values=rng.uniform(25, 100, n), pk=rng.uniform(0.6, 0.9, (n, n)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--exact-limit", type=float, default=10.0)
    args = ap.parse_args()
    print(
        f"{'size':>11} {'exact s':>9} {'proven':>7} {'exact gap':>10} "
        f"{'heur s':>8} {'heur gap to bound':>18}"
    )
    for n in SIZES:
        ex_s, proven, ex_gap, h_s, h_gap = [], 0, [], [], []
        for seed in range(args.seeds):
            p = instance(n, seed)
            h = solve_heuristic(p)
            h_s.append(h.seconds)
            if n <= EXACT_UP_TO:
                e = solve_exact(p, args.exact_limit, incumbent=h.x)
                ex_s.append(e.seconds)
                proven += int(e.optimal)
                ex_gap.append(e.gap or 0.0)
                lb = e.lower_bound if e.lower_bound is not None else np.nan
                h_gap.append((h.objective - lb) / h.objective)
        if ex_s:
            ex_cols = (
                f"{statistics.median(ex_s):>9.3f} {proven:>3}/{args.seeds:<3} "
                f"{100 * max(ex_gap):>9.4f}%"
            )
            hg = f"{100 * max(h_gap):>17.4f}%"
        else:
            ex_cols = f"{'-':>9} {'-':>7} {'-':>10}"
            hg = f"{'(no bound)':>18}"
        print(f"{n:>5} x {n:<5} {ex_cols} {statistics.median(h_s):>8.3f} {hg}")


if __name__ == "__main__":
    main()
