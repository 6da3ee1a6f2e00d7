"""Claim: the WTA planner fires fewer missiles per kill than the greedy one.

It does so at equal or fewer leakers, on the default scenario.

Prints, per doctrine variant, the means over seeds of missiles fired, kills,
leakers, missiles per kill and wall time per run.

    python benchmarks/compare_planners.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import copy
import time
from typing import Any

import numpy as np
import yaml

from skydome import compile_scenario, simulate
from skydome.results import summarize
from skydome.scenario import builtin_text, parse_scenario

VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("greedy, salvo 2", {"planner": "greedy"}),
    ("wta heuristic, up to 2", {"planner": "wta"}),
    ("wta auto (exact), up to 2", {"planner": "wta", "wta_solver": "auto"}),
    ("greedy, salvo 1 (SLS)", {"planner": "greedy", "salvo_size": 1}),
    ("wta heuristic, 1 (SLS)", {"planner": "wta", "salvo_size": 1}),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    base = yaml.safe_load(builtin_text("default"))
    print("| doctrine | fired | killed | leaked | missiles per kill | wall s per run |")
    print("|---|---|---|---|---|---|")
    for label, change in VARIANTS:
        d = copy.deepcopy(base)
        d["doctrine"].update(change)
        p = compile_scenario(parse_scenario(yaml.safe_dump(d)))
        rows = []
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            s = summarize(simulate(p, seed=seed))
            wall = time.perf_counter() - t0
            fired, killed = s["missiles"]["fired"], s["threats"]["killed"]
            rows.append((fired, killed, s["threats"]["leaked"], fired / max(killed, 1), wall))
        m = np.mean(np.array(rows), axis=0)
        print(f"| {label} | {m[0]:.1f} | {m[1]:.1f} | {m[2]:.1f} | {m[3]:.2f} | {m[4]:.2f} |")


if __name__ == "__main__":
    main()
