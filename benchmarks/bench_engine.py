"""Claim: the default scenario runs at least 1,000x faster than real time on one core.

Prints simulated seconds per wall second for the built-in scenarios, median of
several runs (the machines are shared and noisy: read the median, not the best).

    python benchmarks/bench_engine.py [--repeats 7]

With `--doctrine planner=lookahead policy=adaptive` every scenario runs with
those doctrine fields overridden (in both trees under --against); `--variants`
times plain and overridden doctrine side by side (greedy vs the override).

With `--against OTHER_SRC` (a source tree, e.g. a `git worktree` of an older
commit) it times both trees side by side instead: each measurement is one
`simulate` in a fresh subprocess with PYTHONPATH set to the tree, alternating
between the trees so a busy moment of the host hits both, and prints the
medians and their ratio.

    git worktree add /tmp/before <commit>
    python benchmarks/bench_engine.py --against /tmp/before/src [--repeats 7]
    python benchmarks/bench_engine.py --against /tmp/before/src --scenarios default \
        --doctrine planner=lookahead policy=adaptive --variants
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from skydome import compile_scenario, load_scenario, simulate  # noqa: E402

HERE = Path(__file__).resolve()
SRC = HERE.parents[1] / "src"

CHILD = """
import json, os, sys, time
os.environ.setdefault("OMP_NUM_THREADS", "1")
from skydome import compile_scenario, load_scenario, simulate
s = load_scenario(sys.argv[1])
s = s.model_copy(update={"doctrine": s.doctrine.model_copy(update=json.loads(sys.argv[3]))})
p = compile_scenario(s)
simulate(p)  # warm-up: imports, caches
t0, c0 = time.perf_counter(), time.process_time()
simulate(p, seed=int(sys.argv[2]))
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "sim": p.duration_s}))
"""


def _doctrine(items: list[str]) -> dict[str, object]:
    """`field=value` pairs as a doctrine update (values parsed as JSON when they parse)."""
    out: dict[str, object] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _load(name: str, doctrine: dict[str, object]) -> Any:
    """The compiled scenario `name` with the doctrine fields in `doctrine` overridden."""
    s = load_scenario(name)
    s = s.model_copy(update={"doctrine": s.doctrine.model_copy(update=doctrine)})
    return compile_scenario(s)


def _child(
    tree: Path, name: str, seed: int, doctrine: dict[str, object]
) -> tuple[float, float, float]:
    """(wall s, CPU s, simulated s) of one `simulate` of `name` in a fresh process on `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, name, str(seed), json.dumps(doctrine)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    row = json.loads(out.stdout.strip().splitlines()[-1])
    return float(row["wall"]), float(row["cpu"]), float(row["sim"])


def compare(
    other: Path, scenarios: list[str], repeats: int, variants: list[dict[str, object]]
) -> None:
    """Median wall time of this tree and `other`, alternating, one run per subprocess.

    The CPU-time ratio is printed too: on a shared host the wall time of a
    process that waits for a core is noise, its CPU time much less so.
    """
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'scenario':<12} {'doctrine':<34} {'other s':>9} {'this s':>9} {'this/other':>11} "
          f"{'other x rt':>11} {'this x rt':>10} {'other cpu s':>12} {'this cpu s':>11} "
          f"{'cpu this/other':>15}")  # fmt: skip
    for name, doctrine in [(n, d) for n in scenarios for d in variants]:
        walls: dict[str, list[float]] = {"other": [], "this": []}
        cpus: dict[str, list[float]] = {"other": [], "this": []}
        sim = 0.0
        for i in range(repeats):
            order = (("other", other), ("this", SRC)) if i % 2 == 0 else (
                ("this", SRC), ("other", other))  # fmt: skip
            for label, tree in order:
                w, c, sim = _child(tree, name, i, doctrine)
                walls[label].append(w)
                cpus[label].append(c)
        mo, mt = statistics.median(walls["other"]), statistics.median(walls["this"])
        co, ct = statistics.median(cpus["other"]), statistics.median(cpus["this"])
        label = " ".join(f"{k}={v}" for k, v in doctrine.items()) or "(scenario's)"
        print(f"{name:<12} {label:<34} {mo:>9.3f} {mt:>9.3f} {mt / mo:>11.3f} "
              f"{sim / mo:>11,.0f} {sim / mt:>10,.0f} {co:>12.3f} {ct:>11.3f} "
              f"{ct / co:>15.3f}")  # fmt: skip
    print("x rt: simulated s per wall s (median); on a loaded host compare the CPU ratio")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--scenarios", nargs="*", default=["default", "saturation"])
    ap.add_argument("--against", type=Path, default=None, help="another source tree to time")
    ap.add_argument(
        "--doctrine", nargs="*", default=[], metavar="FIELD=VALUE",
        help="doctrine fields to override in every scenario (planner=lookahead policy=adaptive)",
    )  # fmt: skip
    ap.add_argument(
        "--variants", action="store_true",
        help="time the scenario's own doctrine and the --doctrine override side by side",
    )  # fmt: skip
    args = ap.parse_args()
    override = _doctrine(args.doctrine)
    variants = [{}, override] if args.variants and override else [override]
    if args.against is not None:
        compare(args.against.resolve(), args.scenarios, args.repeats, variants)
        return
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'scenario':<12} {'doctrine':<34} {'threats':>7} {'sim s':>7} {'wall s (median)':>16} "
          f"{'min':>7} {'max':>7} {'x real time':>12} {'cpu s':>7}")  # fmt: skip
    for name, doctrine in [(n, d) for n in args.scenarios for d in variants]:
        p = _load(name, doctrine)
        simulate(p)  # warm-up: imports, caches
        walls, cpus = [], []
        for i in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            simulate(p, seed=i)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        med = statistics.median(walls)
        label = " ".join(f"{k}={v}" for k, v in doctrine.items()) or "(scenario's)"
        print(
            f"{name:<12} {label:<34} {p.threats.n:>7} {p.duration_s:>7.0f} {med:>16.3f} "
            f"{min(walls):>7.3f} {max(walls):>7.3f} {p.duration_s / med:>12,.0f} "
            f"{statistics.median(cpus):>7.3f}"
        )


if __name__ == "__main__":
    main()
