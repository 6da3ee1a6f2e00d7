"""Claim: stepping R replications together multiplies a study's throughput per core.

Targets (issue 16): at R = 256, `default` at least 10x and `saturation` at
least 5x the replications per second per core of single runs; the single-run
real-time factor no worse than before.

For each scenario, side by side in one run on one core:
- `simulate` one seed at a time: replications per second (median of --repeats
  runs) and the real-time factor (simulated seconds per wall second);
- `simulate_batch` at each R: replications per second, speed-up over the
  single runs, and peak memory per replication (the batch's high-water RSS
  above the process's after a warm-up, divided by R).

Each batch runs in its own process (one core: OMP_NUM_THREADS=1), so its
memory high-water mark is its own. Every replication of every batch is checked
equal to its single run elsewhere (tests/test_batch.py); here only the first
replication of each batch is compared, by its event count and kills.

    python benchmarks/bench_batch.py [--scenarios default saturation] [--reps 1 16 64 256 1024]
                                     [--repeats 3] [--flyout kinematic]
                                     [--interleave] [--against OTHER_SRC]

`--interleave` times the single runs again after every batch and takes each row's
speed-up against the mean of the single runs on either side of it; `--against`
also times single runs of another source tree (a git worktree of an older commit)
at the same moments, for "faster than before" claims side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

CHILD = r"""
import json, resource, sys, time
from skydome.scenario import compile_scenario, load_scenario
from skydome.engine.batch import simulate_batch, unbatched_reason
from skydome.engine.stages import default_pipeline
name, flyout, r = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = load_scenario(name)
s = s.model_copy(update={"run": s.run.model_copy(update={"flyout": flyout})})
p = compile_scenario(s)
pipe = default_pipeline(p)
run60 = s.run.model_copy(update={"duration_s": 60.0})
short = compile_scenario(s.model_copy(update={"run": run60}))
simulate_batch(short, [1, 2])  # warm-up: imports, compiled kernels, caches
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
out = simulate_batch(p, list(range(1000, 1000 + r)), pipeline=pipe)
wall = time.perf_counter() - t0
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"wall": wall, "rss_kb": rss1 - rss0, "events": out[0].events.n,
                  "kills": int((out[0].kill_time_s < float("inf")).sum()),
                  "batched": unbatched_reason(pipe) is None}))
"""

SINGLE = r"""
import json, sys, time
from skydome.scenario import compile_scenario, load_scenario
from skydome.engine import simulate
from skydome.engine.stages import default_pipeline
name, flyout, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = load_scenario(name)
s = s.model_copy(update={"run": s.run.model_copy(update={"flyout": flyout})})
p = compile_scenario(s)
pipe = default_pipeline(p)
simulate(p, seed=1, pipeline=pipe)
walls = []
for k in range(repeats):
    t0 = time.perf_counter()
    r = simulate(p, seed=1000, pipeline=pipe)
    walls.append(time.perf_counter() - t0)
print(json.dumps({"walls": walls, "duration": p.duration_s, "events": r.events.n,
                  "kills": int((r.kill_time_s < float("inf")).sum())}))
"""


def _child(code: str, *args: str, src: str | None = None) -> dict[str, object]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    if src is not None:  # another source tree (--against)
        env["PYTHONPATH"] = src
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode:
        sys.exit(out.stderr[-3000:])
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Print one table per scenario."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", nargs="+", default=["default", "saturation"])
    ap.add_argument("--reps", nargs="+", type=int, default=[1, 16, 64, 256, 1024])
    ap.add_argument("--repeats", type=int, default=3, help="single runs timed (median)")
    ap.add_argument("--batch-repeats", type=int, default=1, help="runs of each batch (median)")
    ap.add_argument("--flyout", default="kinematic", choices=["kinematic", "guided"])
    ap.add_argument(
        "--interleave",
        action="store_true",
        help="time single runs again after each batch; a row's speed-up is against the"
        " mean of the single runs just before and after it (a drifting host)",
    )
    ap.add_argument(
        "--against",
        metavar="SRC",
        help="also time single runs of another source tree (e.g. a git worktree of an"
        " older commit) at the same moments: the speed-up against it (with --interleave)",
    )
    a = ap.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.1f}")

    def single_wall(name: str, src: str | None = None) -> tuple[float, dict[str, object]]:
        res = _child(SINGLE, name, a.flyout, str(a.repeats), src=src)
        walls = res["walls"]
        assert isinstance(walls, list)
        return statistics.median(float(w) for w in walls), res

    for name in a.scenarios:
        w1, single = single_wall(name)
        rtf = float(single["duration"]) / w1  # type: ignore[arg-type]
        print(
            f"\n{name} ({a.flyout}): single run {w1:.2f} s = {1.0 / w1:.3f} rep/s, "
            f"{rtf:,.0f}x real time ({single['events']} events, {single['kills']} kills)"
        )
        wb = single_wall(name, a.against)[0] if a.against else float("nan")
        if a.against:
            print(f"  single run of {a.against}: {wb:.2f} s")
        extra = f" {'vs SRC':>8}" if a.against else ""
        print(f"{'R':>6} {'wall s':>8} {'rep/s':>8} {'speed-up':>9}{extra} {'MB/rep':>7}  check")
        for r in a.reps:
            runs = [_child(CHILD, name, a.flyout, str(r)) for _ in range(a.batch_repeats)]
            wall = statistics.median(float(x["wall"]) for x in runs)  # type: ignore[arg-type]
            ref, ref_b = w1, wb
            if a.interleave:
                w_next = single_wall(name)[0]
                ref, w1 = 0.5 * (w1 + w_next), w_next
                if a.against:
                    wb_next = single_wall(name, a.against)[0]
                    ref_b, wb = 0.5 * (wb + wb_next), wb_next
            res = runs[0]
            rate = r / wall
            mb = float(res["rss_kb"]) / 1024.0 / r  # type: ignore[arg-type]
            same = (
                "unbatched (one by one)"
                if not res["batched"]
                else "same"
                if (res["events"], res["kills"]) == (single["events"], single["kills"])
                else "DIFFERENT from the single run"
            )
            vs = f" {rate * ref_b:>7.2f}x" if a.against else ""
            print(f"{r:>6} {wall:>8.2f} {rate:>8.2f} {rate * ref:>8.2f}x{vs} {mb:>7.2f}  {same}")


if __name__ == "__main__":
    main()
