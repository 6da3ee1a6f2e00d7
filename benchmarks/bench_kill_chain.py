"""Claim (issue 13): no kill of a threat no sensor saw; ghost tracks cut by an order of magnitude.

Runs the dense low-level raid (`tests/scenarios/dense_lowlevel.yaml`: 30 cruise
missiles at 20 m, trailing and crossing, one radar on a 25 m mast) and the
built-ins over several seeds, kinematic and guided, and prints per case:

- confirmed tracks, and *ghost* tracks among them: a confirmed track that at
  some sample (every scan period) is labelled with no threat (false alarm), or
  whose estimate is more than 3 km or 100 m/s from the threat it is labelled
  with (plots of different threats paired into one track);
- kills, kills of threats with no detection event before the kill (*unseen*),
  and kills of threats no missile was launched at (*unengaged*).

    python benchmarks/bench_kill_chain.py [--seeds 5] [--scenarios dense default]
    python benchmarks/bench_kill_chain.py --against /tmp/before/src   # before | after

With `--against SRC` the same cases run in that source tree too (a subprocess
with PYTHONPATH=SRC) and both are printed side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DENSE = ROOT / "tests" / "scenarios" / "dense_lowlevel.yaml"
POS_TOL_M = 3000.0
VEL_TOL_MPS = 100.0


def measure(scenario: str, flyout: str, seed: int) -> dict[str, Any]:
    """Ghost tracks and kills without a cause in one run."""
    from skydome.engine import simulate
    from skydome.events import EVENT_KINDS
    from skydome.scenario import compile_scenario, load_scenario

    s = load_scenario(str(DENSE) if scenario == "dense" else scenario)
    s = s.model_copy(update={"run": s.run.model_copy(update={"flyout": flyout})})
    p = compile_scenario(s)
    period = float(np.min(p.radars.scan_period_s))
    r = simulate(p, seed=seed, record_every_s=period)
    ts = r.track_samples
    conf = ts["confirmed"].astype(bool)
    tid = ts["threat_id"][conf].astype(np.int64)
    t = ts["time_s"][conf]
    est = np.column_stack(
        [ts[c][conf] for c in ("x_m", "y_m", "z_m", "vx_mps", "vy_mps", "vz_mps")]
    )
    ghost = tid < 0
    ok = ~ghost
    if ok.any():
        pos, vel = p.threats.state_at(t[ok], tid[ok])
        bad = (np.linalg.norm(est[ok, :3] - pos, axis=1) > POS_TOL_M) | (
            np.linalg.norm(est[ok, 3:] - vel, axis=1) > VEL_TOL_MPS
        )
        ghost[np.flatnonzero(ok)[bad]] = True
    track_ids = ts["track_id"][conf].astype(np.int64)
    ev = r.events
    kind = ev.kind
    kills = np.flatnonzero(kind == EVENT_KINDS.index("kill"))
    det = kind == EVENT_KINDS.index("detect")
    first_det = np.full(p.threats.n, np.inf)
    np.minimum.at(first_det, ev.threat_id[det], ev.time_s[det])
    launched_at = set(ev.threat_id[kind == EVENT_KINDS.index("launch")].tolist())
    kt = ev.threat_id[kills]
    unseen = int((first_det[kt] > ev.time_s[kills]).sum())
    unengaged = int(sum(1 for x in kt.tolist() if x not in launched_at))
    return {
        "tracks": int(np.unique(track_ids).size),
        "ghosts": int(np.unique(track_ids[ghost]).size),
        "kills": int(kills.size),
        "unseen": unseen,
        "unengaged": unengaged,
    }


def _in_tree(tree: Path, scenario: str, flyout: str, seed: int) -> dict[str, Any]:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        "import bench_kill_chain as b; "
        "print(json.dumps(b.measure(sys.argv[2], sys.argv[3], int(sys.argv[4]))))"
    )
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), scenario, flyout, str(seed)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--scenarios", nargs="*", default=["dense", "default", "saturation"])
    ap.add_argument("--flyouts", nargs="*", default=["kinematic", "guided"])
    ap.add_argument("--against", type=Path, default=None, help="another source tree (before)")
    args = ap.parse_args()
    cols = ("tracks", "ghosts", "kills", "unseen", "unengaged")
    trees: list[tuple[str, Path | None]] = [("this", None)]
    if args.against is not None:
        trees = [("before", args.against.resolve()), ("after", None)]
    print(f"{'scenario':<11} {'flyout':<10} {'tree':<7} " + " ".join(f"{c:>9}" for c in cols))
    for name in args.scenarios:
        for flyout in args.flyouts:
            for label, tree in trees:
                tot = dict.fromkeys(cols, 0)
                for seed in range(1, args.seeds + 1):
                    row = (
                        measure(name, flyout, seed)
                        if tree is None
                        else _in_tree(tree, name, flyout, seed)
                    )
                    for c in cols:
                        tot[c] += row[c]
                print(
                    f"{name:<11} {flyout:<10} {label:<7} " + " ".join(f"{tot[c]:>9}" for c in cols)
                )
    print(f"(sums over seeds 1..{args.seeds}; ghost: no threat, or > 3 km / 100 m/s off it)")


if __name__ == "__main__":
    main()
