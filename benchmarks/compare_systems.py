"""A system-template comparison on one raid (issue 15, item 6).

The default scenario's raid (strike aircraft, low-observable aircraft, cruise
missiles, SRBMs, one-way attack drones against an airbase and a fuel depot) is
flown against each system template placed at the default battalion's site --
S-400-, Patriot-, SAMP/T- and HQ-9-class -- and against a mix (the S-400-class
battalion plus a Patriot-class battery at the same site), with `--reps`
replications each (`skydome.scenario.system_swap.with_systems`, the code behind
``skydome run default --system NAME``).

The study machinery is compare_planners.py's (`skydome.study` on `--jobs` local
processes). Every defence uses the same study seed, so replication i of every
defence sees the same raid draws (common random numbers; the radars' noise
streams are named after the radars, so those differ between defences).

Printed (markdown): leakers, threats killed, asset value lost (share of all asset
value) and interceptors fired ("rounds used") with 95 % intervals (Student's t),
rounds per kill (delta method), the interceptors each defence starts with, and
leakers by threat type (means); then the paired differences against the
S-400-class defence.

Caveats (docs/systems.md): templates are public approximations with many assumed
figures (Pk, radars, fire channels); every defence fights with the scenario's one
doctrine; the units differ in size (interceptors, channels), so this compares
units as templated, not systems per round.

    python benchmarks/compare_systems.py [--reps 30] [--jobs 2] [--scenario default]
        [--defences s400,patriot,samp-t,hq-9,s400+patriot] [--json out.json]
    python benchmarks/compare_systems.py --quick   # 4 reps
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from compare_planners import Cell, _cell_json, _ci, run_cell, table_types  # noqa: E402
from skydome.scenario import compile_scenario, load_scenario  # noqa: E402
from skydome.scenario.system_swap import with_systems  # noqa: E402
from skydome.stats import mean_estimate, ratio_estimate  # noqa: E402

DEFAULT_DEFENCES = ("s400", "patriot", "samp-t", "hq-9", "s400+patriot")
QUICK_REPS = 4


def table_systems(cells: list[Cell], start: dict[str, int]) -> str:
    """Leakers, kills, value lost, rounds used, rounds per kill: one row per defence."""
    lines = [
        "| defence | interceptors at start | n | leakers | kills | value lost (share) "
        "| rounds used | rounds per kill |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        lost = mean_estimate(c.value_lost)
        share = lost.estimate / c.value_total if c.value_total else float("nan")
        lines.append(
            f"| {c.variant} | {start[c.variant]} | {c.n} | {_ci(mean_estimate(c.leaked))} "
            f"| {_ci(mean_estimate(c.killed))} | {_ci(lost)} ({share:.0%}) "
            f"| {_ci(mean_estimate(c.fired))} | {_ci(ratio_estimate(c.fired, c.killed), 2)} |"
        )
    return "\n".join(lines)


def table_paired(cells: list[Cell]) -> str:
    """Paired differences against the first defence (same study seed: same raid draws)."""
    ref = cells[0]
    lines = [
        f"| defence - {ref.variant} | leakers | kills | value lost | rounds used |",
        "|---|---|---|---|---|",
    ]
    for c in cells[1:]:
        lines.append(
            f"| {c.variant} | {_ci(mean_estimate(c.leaked - ref.leaked))} "
            f"| {_ci(mean_estimate(c.killed - ref.killed))} "
            f"| {_ci(mean_estimate(c.value_lost - ref.value_lost))} "
            f"| {_ci(mean_estimate(c.fired - ref.fired))} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print markdown tables; return the exit status."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--reps", type=int, default=None, help="replications per defence (30)")
    ap.add_argument("--jobs", type=int, default=2, help="local worker processes (default 2)")
    ap.add_argument("--scenario", default="default", help="the raid: a built-in or a file")
    ap.add_argument(
        "--defences",
        default=",".join(DEFAULT_DEFENCES),
        help="comma-separated templates; A+B is a mix at each site",
    )
    ap.add_argument("--seed", type=int, default=None, help="study seed (default: the scenario's)")
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_REPS} replications")
    ap.add_argument("--json", type=Path, default=None, help="also write the cells here")
    args = ap.parse_args(argv)
    reps = args.reps if args.reps is not None else (QUICK_REPS if args.quick else 30)
    if reps < 2:
        ap.error("--reps: at least 2 for intervals")
    base = load_scenario(args.scenario)
    seed = base.run.seed if args.seed is None else args.seed
    defences = [d.strip() for d in args.defences.split(",") if d.strip()]
    print(
        f"# System templates on the {args.scenario} raid: {reps} replications per defence, "
        f"study seed {seed}, {args.jobs} worker processes, 95 % intervals (t; delta method "
        "for rounds per kill); every defence at the scenario's battery site(s), with the "
        "scenario's doctrine\n"
    )
    cells: list[Cell] = []
    start: dict[str, int] = {}
    t_all = time.perf_counter()
    for d in defences:
        sc, _ = with_systems(base, d.split("+"), args.scenario)
        start[d] = int(compile_scenario(sc).batteries.inventory.sum())
        print(f"[{d}, {reps} reps ...]", file=sys.stderr, flush=True)
        cells.append(run_cell(args.scenario, d, sc, reps, args.jobs, seed))
        print(f"[... {cells[-1].elapsed_s:.0f} s]", file=sys.stderr, flush=True)
        if args.json is not None:
            out: list[dict[str, Any]] = [_cell_json(c) for c in cells]
            args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(table_systems(cells, start) + "\n")
    print("Leakers by threat type (means):\n")
    print(table_types(cells) + "\n")
    if len(cells) > 1:
        print("Paired differences (common raid draws), 95 % intervals:\n")
        print(table_paired(cells) + "\n")
    wall = float(np.mean([np.mean(c.wall_s) for c in cells]))
    print(f"total wall time {time.perf_counter() - t_all:.0f} s ({wall:.1f} s per replication)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
