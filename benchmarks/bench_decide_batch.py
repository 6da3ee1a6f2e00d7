"""Claim: the batched decision cycle of R replications costs far less than R single ones.

Records real decision inputs from single replications (`step._decide` calls of
`--seeds` seeds, stepped to `--until` s), then at each recorded decision time
joins R replications (seeds cycled) in the batch layout and times

* loop: `_decide` on each replication in turn (what R single runs pay),
* batch: one `decide_batch` on the joined state,

reporting ms per decision cycle (all R replications) and the ratio.

    python benchmarks/bench_decide_batch.py [--scenario default] [--planner greedy]
        [--flyout kinematic] [--reps 16 64 256] [--seeds 8] [--until 400] [--every 10]
"""

from __future__ import annotations

import argparse
import importlib
import time
from dataclasses import fields, replace
from typing import Any
from unittest import mock

import numpy as np

from skydome.engagement.flyout import InFlight
from skydome.engagement.launchers import Launchers
from skydome.engine import decide_batch as db
from skydome.engine.stages import default_pipeline
from skydome.engine.state import SimState
from skydome.scenario import compile_scenario, load_scenario
from skydome.tracking.base import TrackState

stepmod = importlib.import_module("skydome.engine.step")


def record(pipe: Any, seed: int, until: float) -> dict[float, tuple[Any, ...]]:
    """`_decide`'s arguments at every decision of one replication up to `until` s."""
    params = pipe.params
    rngs = stepmod.Rngs.from_seed(seed, params.radars.names)
    state = SimState.initial(params, pipe.flyout.empty())
    out: dict[float, tuple[Any, ...]] = {}
    decide = stepmod._decide

    def rec(*a: Any, **k: Any) -> Any:
        out[a[1]] = a
        return decide(*a, **k)

    with mock.patch.object(stepmod, "_decide", rec):
        for i in range(1, int(until / params.step_s) + 1):
            state, _ = stepmod.step(pipe, state, i * params.step_s, rngs)
    return out


def join(args: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The batch inputs of R replications' `_decide` arguments."""
    tr = [a[2] for a in args]
    cols = {
        f.name: np.concatenate([getattr(p, f.name) for p in tr])
        for f in fields(TrackState)
        if f.name not in ("time_s", "next_id")
    }
    tracks = TrackState(time_s=tr[0].time_s, next_id=0, **cols)
    trep = np.repeat(np.arange(len(tr)), [p.n for p in tr])
    flights = [a[3] for a in args]
    inflight = InFlight.empty()
    for f in flights:
        inflight = inflight.concat(f)
    irep = np.repeat(np.arange(len(args)), [f.n for f in flights])
    waiting = np.concatenate([a[4] for a in args]).astype(np.int64)
    wrep = np.repeat(np.arange(len(args)), [a[4].size for a in args])
    lns = [a[5] for a in args]
    n_b = lns[0].reserve.shape[0]
    ln = Launchers(
        np.concatenate([x.battery + k * n_b for k, x in enumerate(lns)]),
        np.concatenate([x.stock for x in lns]),
        np.concatenate([x.ready_s for x in lns]),
        np.concatenate([x.reserve for x in lns]),
    )
    first = np.array([a[6] for a in args], dtype=np.int64)
    return tracks, trep, inflight, irep, waiting, wrep, ln, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--planner", default="greedy")
    ap.add_argument("--flyout", default="kinematic")
    ap.add_argument("--reps", type=int, nargs="+", default=[16, 64, 256])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--until", type=float, default=400.0)
    ap.add_argument("--every", type=int, default=10, help="time every n-th decision")
    a = ap.parse_args()
    p = compile_scenario(load_scenario(a.scenario))
    p = replace(p, flyout=a.flyout, doctrine=replace(p.doctrine, planner=a.planner))
    pipe = default_pipeline(p)
    assert db.supports_batch(pipe)
    t0 = time.perf_counter()
    recs = [record(pipe, s, a.until) for s in range(1, a.seeds + 1)]
    times = sorted(set.intersection(*(set(r) for r in recs)))[a.every :: a.every]
    print(
        f"{a.scenario} {a.flyout} {a.planner}: {len(times)} decision times up to {a.until:.0f} s, "
        f"{a.seeds} recorded seeds ({time.perf_counter() - t0:.1f} s to record)"
    )
    # warm up the compiled kernels
    w = join([recs[0][times[0]]])
    tracks, trep, infl, irep, wait, wrep, ln, first = w
    db.decide_batch(
        pipe, times[0], tracks, trep, infl, irep, wait, wrep, ln,
        db.tile_batteries(p.batteries, 1), first, 1,
    )  # fmt: skip
    head = ("R", "loop ms", "batch ms", "ratio", "us/rep batch", "tracks")
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, (5, 10, 10, 7, 13, 7), strict=True)))
    for r in a.reps:
        bat_tiled = db.tile_batteries(p.batteries, r)
        loop = batch = 0.0
        n_tracks = 0
        for t in times:
            args = [recs[k % a.seeds][t] for k in range(r)]
            t1 = time.perf_counter()
            for x in args:
                stepmod._decide(*x)
            t2 = time.perf_counter()
            j = join(args)
            n_tracks += j[0].n
            t3 = time.perf_counter()
            tracks, trep, infl, irep, wait, wrep, ln, first = j
            db.decide_batch(pipe, t, tracks, trep, infl, irep, wait, wrep, ln, bat_tiled, first, r)
            t4 = time.perf_counter()
            loop += t2 - t1
            batch += t4 - t3
        k = len(times)
        print(
            f"{r:>5} {1e3 * loop / k:>10.2f} {1e3 * batch / k:>10.2f} {loop / batch:>7.1f} "
            f"{1e6 * batch / k / r:>13.1f} {n_tracks // k:>7}"
        )


if __name__ == "__main__":
    main()
