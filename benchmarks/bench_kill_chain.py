"""Claim (issue 13): no kill of a threat no sensor saw; ghost tracks cut by an order of magnitude.

Runs the dense low-level raid (`tests/scenarios/dense_lowlevel.yaml`: 30 cruise
missiles at 20 m, trailing and crossing, one radar on a 25 m mast) and the
built-ins over several seeds, kinematic and guided, and prints per case:

- confirmed tracks, and *ghost* tracks among them: a confirmed track whose
  plots up to and including the scan that confirmed it came from more than one
  source (two threats, or a threat and a false alarm, or false alarms only),
  read from the detections' truth labels by a recording wrapper around the
  tracker (`_Recorder`);
- *wrong_v*: ghosts whose velocity at confirmation is more than 100 m/s from
  the velocity of each threat that gave it a plot (the first and the
  confirming one): the track flies where no threat flies (a ghost between
  two close threats flying together is counted as a ghost but not here);
- *swaps*: confirmed tracks later updated with a plot of another source;
- *off*: confirmed tracks that at some sample (every scan period) are labelled
  with no threat, or whose estimate is more than 3 km or 100 m/s from the
  threat they are labelled with (the first reading's ghost criterion; it also
  counts honest tracks that are inaccurate at long range, or coast after their
  threat's end);
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

_NONE = -2  # no plot yet

ROOT = Path(__file__).resolve().parents[1]
DENSE = ROOT / "tests" / "scenarios" / "dense_lowlevel.yaml"
POS_TOL_M = 3000.0
VEL_TOL_MPS = 100.0


class _Recorder:
    """Wraps a tracker; per track id, whether its plots up to confirmation mix sources.

    Works with any tracker of the `Tracker` protocol (this tree's or another's):
    it reads only the `TrackState` columns every version has (track_id, hits,
    truth, confirmed).
    """

    def __init__(self, inner: Any, velocity_of: Any) -> None:
        self.inner = inner
        self.velocity_of = velocity_of  # (t_s, (K,) threat ids) -> (K, 3) true velocities
        self.wrong = np.zeros(0, dtype=bool)  # ghost whose velocity fits none of its sources
        self.first = np.full(0, _NONE, dtype=np.int64)  # truth of the first plot
        self.hits = np.zeros(0, dtype=np.int64)
        self.ghost = np.zeros(0, dtype=bool)  # mixed (or false) before or at confirmation
        self.swap = np.zeros(0, dtype=bool)  # another source after confirmation
        self.confirmed = np.zeros(0, dtype=bool)

    def predict(self, state: Any, t_s: float, rows: Any) -> Any:
        return self.inner.predict(state, t_s, rows)

    def _grow(self, n: int) -> None:
        k = n - self.first.size
        if k > 0:
            self.first = np.r_[self.first, np.full(k, _NONE, dtype=np.int64)]
            self.hits = np.r_[self.hits, np.zeros(k, dtype=np.int64)]
            for name in ("ghost", "swap", "confirmed", "wrong"):
                setattr(self, name, np.r_[getattr(self, name), np.zeros(k, dtype=bool)])

    def step(self, state: Any, det: Any, coverage: Any) -> Any:
        out, rep = self.inner.step(state, det, coverage)
        ids = out.track_id
        if ids.size:
            self._grow(int(ids.max()) + 1)
            hit = out.hits > self.hits[ids]
            i, tr = ids[hit], out.truth[hit]
            was = self.confirmed[i]
            fresh = self.first[i] == _NONE
            self.first[i[fresh]] = tr[fresh]
            other = (tr != self.first[i]) | (tr < 0)
            self.ghost[i[other & ~was]] = True
            self.swap[i[other & was]] = True
            self.hits[ids] = out.hits
            # Ghosts confirmed by this scan: does the estimate fit any source's velocity?
            new = out.confirmed & ~self.confirmed[ids] & self.ghost[ids]
            if new.any():
                j = np.flatnonzero(new)
                srcs = np.stack([self.first[ids[j]], out.truth[j]])  # (2, K)
                v = out.x[j, 3:]
                err = np.full(j.size, np.inf)
                for src in srcs:  # the first plot's threat, the confirming plot's threat
                    ok = src >= 0
                    if ok.any():
                        tv = self.velocity_of(det.time_s, src[ok])
                        err[ok] = np.minimum(err[ok], np.linalg.norm(v[ok] - tv, axis=1))
                self.wrong[ids[j]] = err > VEL_TOL_MPS
            self.confirmed[ids] |= out.confirmed
        return out, rep


def measure(scenario: str, flyout: str, seed: int) -> dict[str, Any]:
    """Ghost tracks and kills without a cause in one run."""
    from skydome.engine import simulate
    from skydome.events import EVENT_KINDS
    from skydome.scenario import compile_scenario, load_scenario

    s = load_scenario(str(DENSE) if scenario == "dense" else scenario)
    s = s.model_copy(update={"run": s.run.model_copy(update={"flyout": flyout})})
    p = compile_scenario(s)
    period = float(np.min(p.radars.scan_period_s))
    from skydome.tracking import GnnTracker

    def velocity_of(t_s: float, ids: Any) -> Any:
        return p.threats.state_at(np.full(ids.size, t_s), ids)[1]

    rec = _Recorder(GnnTracker(p.tracker), velocity_of)
    r = simulate(p, seed=seed, record_every_s=period, tracker=rec)
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
        "tracks": int(rec.confirmed.sum()),
        "ghosts": int((rec.ghost & rec.confirmed).sum()),
        "wrong_v": int((rec.wrong & rec.confirmed).sum()),
        "swaps": int((rec.swap & rec.confirmed).sum()),
        "off": int(np.unique(track_ids[ghost]).size),
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
    cols = ("tracks", "ghosts", "wrong_v", "swaps", "off", "kills", "unseen", "unengaged")
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
    print(
        f"(sums over seeds 1..{args.seeds}; ghosts: confirmed from plots of more than one "
        "source; wrong_v: ghosts whose velocity at confirmation is > 100 m/s from every "
        "source's; swaps: another source after confirmation; off: > 3 km / 100 m/s off "
        "its threat, or unlabelled, at some sample)"
    )


if __name__ == "__main__":
    main()
