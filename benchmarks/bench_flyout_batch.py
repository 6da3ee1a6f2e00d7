"""Claim: batched flyout and kill assessment of R replications beat R single calls per step.

`skydome.engine.flyout_batch` against the single stages, replication by replication.

States are real: the single engine runs a few seeds of a built-in scenario
(kinematic and guided flyout) and keeps each replication's state before every
step; a batch of R replications at step k takes those of the seeds in turn
(replication r is seed r mod S), so every replication is a real state, several
of them identical. Per step the loop does what `step` does in its part 1 (the
aim picture, `flyout.advance`, `assessment.assess` when something arrived) and
its launch (`flyout.launch`) for every replication; the batch does
`aim_picture_batch`, `advance_batch`, `assess_batch`, `launch_batch` once. The
figure is ms per step over the steps from the first launch to the end of the
window, both on the same inputs (outputs are not checked here: the tests do);
CPU time of the process (`time.process_time`: the machine is shared), every
`--every`-th step of the window. `tile ms`: tiling the threats R times
(`tile_threats`), once per batch run, not counted per step.

    python benchmarks/bench_flyout_batch.py [--reps 16 64 256] [--seeds 6] [--steps 110] [--every 1]
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import dataclass, fields, replace

import numpy as np

from skydome.arrays import concat_rows
from skydome.engine.flyout_batch import (
    advance_batch,
    aim_picture_batch,
    assess_batch,
    launch_batch,
)
from skydome.engine.pipeline import Pipeline
from skydome.engine.stages import default_pipeline
from skydome.engine.state import SimState, WorldState
from skydome.engine.step import Rngs, step
from skydome.scenario import compile_scenario, load_scenario
from skydome.threats import tile_threats


@dataclass(frozen=True)
class Snap:
    """One replication before one step: its state, the state after, its two generators."""

    state: SimState
    after: SimState
    seeker: np.random.Generator
    engagement: np.random.Generator


def _pipe(name: str, flyout: str) -> Pipeline:
    s = load_scenario(name)
    s = s.model_copy(update={"run": s.run.model_copy(update={"flyout": flyout})})
    return default_pipeline(compile_scenario(s))


def _run(pipe: Pipeline, seed: int, n_steps: int) -> list[Snap]:
    p = pipe.params
    rngs = Rngs.from_seed(seed, p.radars.names)
    state = SimState.initial(p, pipe.flyout.empty())
    out = []
    for k in range(1, n_steps + 1):
        sk, en = copy.deepcopy(rngs.seeker), copy.deepcopy(rngs.engagement)
        new, _ = step(pipe, state, k * p.step_s, rngs)
        out.append(Snap(state, new, sk, en))
        state = new
    return out


def _cat(items: list) -> object:  # type: ignore[type-arg]
    out = items[0]
    for x in items[1:]:
        out = concat_rows(out, x)
    return out


def _loop(pipe: Pipeline, snaps: list[Snap], t1: float) -> None:
    fly, ass = pipe.flyout, pipe.assessment
    reads = getattr(fly, "reads_picture", None)
    for sn in snaps:
        st = sn.state
        m = st.missiles
        if m.n:
            pic = st.picture
            aim = pic
            if pic.n and t1 > pic.time_s and (reads is None or reads(m, t1)):
                aim = replace(pic, x=pipe.predict(pic, t1, np.arange(pic.n)), time_s=t1)
            m, arr = fly.advance(m, st.t_s, t1, st.world, aim, sn.seeker)
            if arr is not None:
                ass.assess(arr, st.world, sn.engagement)
        new = sn.after.missiles.flight.take(sn.after.missiles.flight.missile_id >= st.c2.n_launched)
        if new.n:
            fly.launch(m, new, sn.after.picture)


def _batch(pipe: Pipeline, snaps: list[Snap], t1: float, inputs: dict) -> None:  # type: ignore[type-arg]
    fly, ass = pipe.flyout, pipe.assessment
    n_reps = len(snaps)
    missiles, mrep = inputs["missiles"], inputs["mrep"]
    pic, trep, world = inputs["pic"], inputs["trep"], inputs["world"]
    seek = [sn.seeker for sn in snaps]
    eng = [sn.engagement for sn in snaps]
    if missiles.n:
        aim = aim_picture_batch(fly, missiles, mrep, pic, t1, pipe.predict)
        missiles, mrep, arr, arep = advance_batch(
            fly, missiles, mrep, snaps[0].state.t_s, t1, world, aim, trep, seek, n_reps
        )
        if arr is not None and arep is not None:
            assess_batch(ass, arr, arep, world, eng, n_reps)
    if inputs["new"].n:
        launch_batch(fly, missiles, mrep, inputs["new"], inputs["new_rep"], inputs["pic_after"],
                     inputs["trep_after"])  # fmt: skip


def _rep(counts: list[int]) -> np.ndarray:
    """(sum,) replication of each row, `counts[r]` rows of replication r."""
    return np.repeat(np.arange(len(counts)), counts).astype(np.int64)


def _inputs(snaps: list[Snap]) -> dict:  # type: ignore[type-arg]
    """The batch's inputs at one step (built outside the timing: the batched engine holds them)."""
    news = [
        sn.after.missiles.flight.take(sn.after.missiles.flight.missile_id >= sn.state.c2.n_launched)
        for sn in snaps
    ]
    return {
        "missiles": _cat([sn.state.missiles for sn in snaps]),
        "mrep": _rep([sn.state.missiles.n for sn in snaps]),
        "pic": _cat([sn.state.picture for sn in snaps]),
        "trep": _rep([sn.state.picture.n for sn in snaps]),
        "world": WorldState(
            *(
                np.concatenate([getattr(sn.state.world, f.name) for sn in snaps])
                for f in fields(WorldState)
            )
        ),
        "new": _cat(news),
        "new_rep": _rep([x.n for x in news]),
        "pic_after": _cat([sn.after.picture for sn in snaps]),
        "trep_after": _rep([sn.after.picture.n for sn in snaps]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, nargs="+", default=[16, 64, 256])
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--steps", type=int, default=110)
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--scenarios", nargs="+", default=["default", "saturation"])
    ap.add_argument("--flyouts", nargs="+", default=["kinematic", "guided"])
    args = ap.parse_args()
    print(
        f"{'scenario':<11}{'flyout':<10}{'R':>5}{'loop ms/step':>14}{'batch ms/step':>15}{'x':>7}"
    )
    for name in args.scenarios:
        for flyout in args.flyouts:
            pipe = _pipe(name, flyout)
            runs = [_run(pipe, 100 + s, args.steps) for s in range(args.seeds)]
            first = min(next(k for k, sn in enumerate(run) if sn.after.missiles.n) for run in runs)
            steps = range(first + 1, args.steps, args.every)
            for n_reps in args.reps:
                # Once per batch run, not per step (the threats tiled R times): untimed.
                t0 = time.process_time()
                tile_threats(pipe.params.threats, n_reps)
                t_tile = time.process_time() - t0
                t_loop = t_batch = 0.0
                for k in steps:
                    snaps = [runs[r % args.seeds][k] for r in range(n_reps)]
                    t1 = (k + 1) * pipe.params.step_s
                    fresh = [
                        replace(sn, seeker=copy.deepcopy(sn.seeker),
                                engagement=copy.deepcopy(sn.engagement))
                        for sn in snaps
                    ]  # fmt: skip
                    t0 = time.process_time()
                    _loop(pipe, fresh, t1)
                    t_loop += time.process_time() - t0
                    fresh = [
                        replace(sn, seeker=copy.deepcopy(sn.seeker),
                                engagement=copy.deepcopy(sn.engagement))
                        for sn in snaps
                    ]  # fmt: skip
                    inputs = _inputs(fresh)
                    t0 = time.process_time()
                    _batch(pipe, fresh, t1, inputs)
                    t_batch += time.process_time() - t0
                n = len(steps)
                print(
                    f"{name:<11}{flyout:<10}{n_reps:>5}{1e3 * t_loop / n:>14.2f}"
                    f"{1e3 * t_batch / n:>15.2f}{t_loop / max(t_batch, 1e-12):>7.1f}"
                    f"{1e3 * t_tile:>12.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
