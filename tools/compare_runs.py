"""Are two source trees' simulations byte-identical? For refactors that must not change results.

    git worktree add /tmp/before <commit>
    python tools/compare_runs.py /tmp/before/src src [--seeds 1 2 3]

Runs every built-in scenario x seed x flyout (kinematic, guided) in each tree
(a subprocess with PYTHONPATH=tree), hashes the events table written as Parquet
and the summary, prints one line per case and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import hashlib, io, json
import pyarrow.parquet as pq
from skydome.scenario import builtin_names, compile_scenario, load_scenario
from skydome.engine import simulate
from skydome.results import events_table, summarize
out = {}
for name in builtin_names():
    for flyout in ("kinematic", "guided"):
        s = load_scenario(name)
        s = s.model_copy(update={"run": s.run.model_copy(update={"flyout": flyout})})
        p = compile_scenario(s)
        for seed in SEEDS:
            r = simulate(p, seed=seed)
            buf = io.BytesIO()
            table = events_table(r)
            pq.write_table(table, buf)
            summary = json.dumps(summarize(r), sort_keys=True).encode()
            out[f"{name}/{flyout}/s{seed}"] = [
                hashlib.sha256(buf.getvalue()).hexdigest()[:16],
                hashlib.sha256(summary).hexdigest()[:16],
                table.num_rows,
            ]
print(json.dumps(out))
"""


def run_tree(tree: str, seeds: list[int]) -> dict[str, list[object]]:
    """The hashes of every case, computed by the code under `tree`."""
    r = subprocess.run(
        [sys.executable, "-c", CHILD.replace("SEEDS", repr(seeds))],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": tree, "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )
    if r.returncode:
        sys.exit(f"{tree}: {r.stderr[-3000:]}")
    result: dict[str, list[object]] = json.loads(r.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Compare the two trees named on the command line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old", help="source tree before (the directory holding skydome/)")
    ap.add_argument("new", help="source tree after")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    a = ap.parse_args()
    old, new = run_tree(a.old, a.seeds), run_tree(a.new, a.seeds)
    bad = 0
    for case, value in old.items():
        same = new.get(case) == value
        bad += not same
        tag = "same" if same else "DIFF"
        print(f"{tag} {case}: events {value[2]}, {value[:2]} vs {new.get(case)}")
    print(f"{len(old) - bad} identical, {bad} different")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
