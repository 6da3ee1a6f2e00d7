"""Claim: a Monte Carlo study scales across processes and onto a Dask cluster.

Targets: parallel efficiency >= 85 % at J = 2 processes, and executor overhead
(worker time not spent simulating: start-up, scheduling, transfers, writing
parts, the idle tail) under 5 % of the replications' own time.

Runs the same study (same seed, same rows) on the built-in default scenario:
in this process (J = 1), on 2 local processes (J = 2), and on a Dask
`LocalCluster` with 2 single-threaded worker processes; every run writes its
parts and final tables to a temporary study directory, as the CLI does.

    python benchmarks/bench_montecarlo.py [-n 30] [--rounds 3] [--scenario default] [--no-dask]

Columns: J workers; wall time of the study (including starting the worker
processes); replications per second; mean compute time of a replication;
efficiency = rate / (J x rate at J = 1); start-up = from asking for the
executor until a worker starts the first task (spawning workers, connecting,
shipping the scenarios); overhead = 1 - (sum of replication compute times) /
(wall time x J), everything included; per rep = the same per replication, the
one-time start-up aside, relative to a replication's compute time.

Last, two plain `simulate` loops run side by side without any executor: their
combined rate is this machine's ceiling for J = 2 (two cores slow each other
down through shared caches and memory bandwidth), and the executors' rates are
also given as a share of it.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from skydome import compile_scenario, load_scenario, simulate  # noqa: E402
from skydome.study import StudyOptions, StudyResult, plan_study, run_study  # noqa: E402


def _row(name: str, r: StudyResult, base_rate: float | None) -> float:
    rate = r.ran / r.elapsed_s
    busy = float(np.sum(r.table.column("wall_s").to_numpy()))
    overhead = 1.0 - busy / (r.elapsed_s * r.workers)
    # Per replication, the one-time start-up (worker processes, connection) aside.
    per_rep = ((r.elapsed_s - r.startup_s) * r.workers - busy) / busy
    eff = "" if base_rate is None else f"{rate / (r.workers * base_rate):.0%}"
    print(
        f"{name:<28} {r.workers:>3} {r.elapsed_s:>7.1f} {rate:>6.2f} {busy / r.ran:>6.3f} "
        f"{eff:>5} {r.startup_s:>7.2f} {overhead:>8.1%} {per_rep:>8.1%}"
    )
    return rate


def _bare(scenario: str, seeds: list[int]) -> float:
    """Seconds per replication of a plain `simulate` loop (no executor), after a warm-up."""
    params = compile_scenario(load_scenario(scenario))
    simulate(params, seed=0)
    t0 = time.perf_counter()
    for s in seeds:
        simulate(params, seed=s)
    return (time.perf_counter() - t0) / len(seeds)


def _ceiling(scenario: str, n: int, jobs: int) -> float:
    """Replications per second of `jobs` independent plain loops running at once.

    The best any executor can do on this machine: cores that share caches,
    memory bandwidth or a host's hyper-threads slow each other down.
    """
    ctx = multiprocessing.get_context("spawn")
    per = max(2, n // jobs)
    with cf.ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
        futs = [
            pool.submit(_bare, scenario, list(range(1 + j * per, 1 + (j + 1) * per)))
            for j in range(jobs)
        ]
        return sum(1.0 / f.result() for f in futs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=30, help="replications per run")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of J = 1, J = 2, Dask")
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster")
    args = ap.parse_args()

    plan = plan_study(args.scenario, seed=args.seed)
    run_study(plan, StudyOptions(n=2, jobs=1))  # warm-up: imports, caches
    print(
        f"{args.scenario}: {plan.cells[0].params.threats.n} threats, n = {args.n} per run, "
        f"{args.rounds} rounds (each executor's efficiency against that round's J = 1)"
    )
    print(
        f"{'executor':<28} {'J':>3} {'wall s':>7} {'rep/s':>6} {'s/rep':>6} "
        f"{'eff.':>5} {'start s':>7} {'overhead':>8} {'per rep':>8}"
    )
    eff: dict[str, list[float]] = {"local, J = 2 processes": [], "Dask LocalCluster, 2 workers": []}
    per_rep: dict[str, list[float]] = {k: [] for k in eff}
    results: list[StudyResult] = []
    for _ in range(args.rounds):
        # The same study on every executor, one after the other, so a noisy
        # shared machine affects a round's runs alike.
        with tempfile.TemporaryDirectory() as tmp:
            r1 = run_study(plan, StudyOptions(n=args.n, jobs=1, out_dir=Path(tmp) / "j1"))
            base = _row("local, J = 1 (in process)", r1, None)
            results.append(r1)
            r2 = run_study(plan, StudyOptions(n=args.n, jobs=2, out_dir=Path(tmp) / "j2"))
            _collect("local, J = 2 processes", r2, base, eff, per_rep)
            results.append(r2)
            if not args.no_dask:
                import distributed

                local_cluster: Any = distributed.LocalCluster  # untyped constructor
                with local_cluster(
                    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster:
                    rd = run_study(
                        plan,
                        StudyOptions(
                            n=args.n,
                            scheduler=cluster.scheduler_address,
                            out_dir=Path(tmp) / "dask",
                        ),
                    )
                _collect("Dask LocalCluster, 2 workers", rd, base, eff, per_rep)
                results.append(rd)
    print()
    for name, e in eff.items():
        if e:
            print(
                f"median over rounds, {name}: efficiency {statistics.median(e):.0%}, "
                f"executor overhead per replication {statistics.median(per_rep[name]):.1%}"
            )
    ceiling = _ceiling(args.scenario, args.n, 2)
    base_rate = statistics.median(r.ran / r.elapsed_s for r in results if r.workers == 1)
    print(
        f"2 plain simulate loops side by side (no executor, the machine's ceiling): "
        f"{ceiling:.2f} rep/s = {ceiling / (2 * base_rate):.0%} of 2 x J = 1"
    )
    ref = results[0].table.drop_columns(["wall_s"])
    same = all(r.table.drop_columns(["wall_s"]).equals(ref) for r in results[1:])
    print(f"rows identical across executors (wall_s aside): {'yes' if same else 'NO'}")


def _collect(
    name: str,
    r: StudyResult,
    base: float,
    eff: dict[str, list[float]],
    per_rep: dict[str, list[float]],
) -> None:
    rate = _row(name, r, base)
    busy = float(np.sum(r.table.column("wall_s").to_numpy()))
    eff[name].append(rate / (r.workers * base))
    per_rep[name].append(((r.elapsed_s - r.startup_s) * r.workers - busy) / busy)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"benchmark wall time {time.perf_counter() - t0:.0f} s")
