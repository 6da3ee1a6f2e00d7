"""Batched flyout and kill assessment (`skydome.engine.flyout_batch`) against the single run.

Real states come from the single engine (built-in `default` and `saturation`,
kinematic and guided flyout, several seeds); at steps where missiles fly, the
batch of R in {1, 3, 5} replications must equal each replication's own
`flyout.launch` / `flyout.advance` / `assessment.assess`, concatenated, byte
for byte, and leave every generator in the same state.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np
import pytest

from skydome.arrays import F64, I64, concat_rows
from skydome.engagement.assessment import Outcome
from skydome.engagement.flyout import InFlight
from skydome.engine.flyout_batch import (
    advance_batch,
    aim_picture_batch,
    assess_batch,
    launch_batch,
    reads_picture_batch,
    supports_batch,
)
from skydome.engine.pipeline import Arrivals, Pipeline
from skydome.engine.stages import default_pipeline
from skydome.engine.state import Missiles, SimState, WorldState
from skydome.engine.step import Rngs, step
from skydome.scenario import compile_scenario, load_scenario
from skydome.threats import tile_threats
from skydome.tracking.base import TrackState

SEEDS = (11, 12, 13, 14, 15)
N_STEPS = {"default": 110, "saturation": 110}


@dataclass(frozen=True)
class Snap:
    """One replication before one step: its state and its two generators."""

    state: SimState
    after: SimState
    seeker: np.random.Generator
    engagement: np.random.Generator


@cache
def _pipe(name: str, flyout: str) -> Pipeline:
    s = load_scenario(name)
    s = s.model_copy(update={"run": s.run.model_copy(update={"flyout": flyout})})
    return default_pipeline(compile_scenario(s))


@cache
def _run(name: str, flyout: str, seed: int) -> tuple[Snap, ...]:
    """The replication's state before each of its first steps (step k -> index k - 1)."""
    pipe = _pipe(name, flyout)
    p = pipe.params
    rngs = Rngs.from_seed(seed, p.radars.names)
    state = SimState.initial(p, pipe.flyout.empty())
    out = []
    for k in range(1, N_STEPS[name] + 1):
        seeker, eng = copy.deepcopy(rngs.seeker), copy.deepcopy(rngs.engagement)
        new, _ = step(pipe, state, k * p.step_s, rngs)
        out.append(Snap(state, new, seeker, eng))
        state = new
    return tuple(out)


def _cat_pictures(pics: list[TrackState]) -> TrackState:
    out = pics[0]
    for p in pics[1:]:
        out = concat_rows(out, p)
    return out


def _cat(items: list[Any]) -> Any:
    out = items[0]
    for x in items[1:]:
        out = concat_rows(out, x)
    return out


def _assert_same(a: Any, b: Any, path: str = "") -> None:
    """Equal dataclasses / arrays, byte for byte (dtype, shape, values, nan where nan)."""
    if a is None or b is None:
        assert a is None and b is None, path
        return
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), path
        assert a.dtype == b.dtype and a.shape == b.shape, (path, a.dtype, b.dtype, a.shape, b.shape)
        assert a.tobytes() == b.tobytes(), (path, a, b)
        return
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            _assert_same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        return
    assert a == b, (path, a, b)


def _per_rep_predict(pipe: Pipeline, trep: I64, n_reps: int) -> Any:
    """The picture extrapolation, replication by replication (as the single engine does)."""

    def predict(pic: TrackState, t: float, rows: I64) -> F64:
        parts = []
        for r in range(n_reps):
            sub = pic.select(trep == r)
            parts.append(pipe.predict(sub, t, np.arange(sub.n)))
        return np.concatenate(parts)[rows]

    return predict


def _single_aim(pipe: Pipeline, st: SimState, t: float) -> TrackState:
    """`step`'s aim picture for one replication."""
    reads = getattr(pipe.flyout, "reads_picture", None)
    pic = st.picture
    if pic.n and t > pic.time_s and (reads is None or reads(st.missiles, t)):
        return replace(pic, x=pipe.predict(pic, t, np.arange(pic.n)), time_s=t)
    return pic


def _check_step(
    name: str,
    flyout: str,
    seeds: tuple[int, ...],
    k: int,
    worlds: list[WorldState] | None = None,
    pipe: Pipeline | None = None,
) -> tuple[int, int, int]:
    """Batch vs loop at step k for replications `seeds`; (arrivals, switches, launches) seen.

    `worlds`: replaces each replication's truth (threat fates) before the step;
    `pipe`: the stages to compare (default: the scenario's).
    """
    pipe = _pipe(name, flyout) if pipe is None else pipe
    p = pipe.params
    n_reps = len(seeds)
    snaps = [_run(name, flyout, s)[k - 1] for s in seeds]
    if worlds is not None:
        snaps = [
            replace(sn, state=replace(sn.state, world=w))
            for sn, w in zip(snaps, worlds, strict=True)
        ]
    t0, t1 = snaps[0].state.t_s, (k) * p.step_s
    fly, ass = pipe.flyout, pipe.assessment
    assert supports_batch(fly, ass)

    # --- the loop: the single engine's calls, replication by replication
    ref_m, ref_arr, ref_arep, ref_rows, ref_out, ref_kill = [], [], [], [], [], []
    seek_ref, eng_ref = [], []
    offset = 0
    for r, sn in enumerate(snaps):
        st = sn.state
        g_s, g_e = copy.deepcopy(sn.seeker), copy.deepcopy(sn.engagement)
        kill = st.world.kill_time_s
        if st.missiles.n:
            aim = _single_aim(pipe, st, t1)
            m, arr = fly.advance(st.missiles, t0, t1, st.world, aim, g_s)
            ref_m.append(m)
            if arr is not None:
                out = ass.assess(arr, st.world, g_e)
                kill = out.kill_time_s
                ref_arr.append(arr)
                ref_arep.append(np.full(arr.due.n, r, dtype=np.int64))
                ref_out.append(out)
                if arr.ended is not None:
                    ref_rows.append(arr.ended.row + offset)
        else:
            ref_m.append(st.missiles)
        ref_kill.append(kill)
        offset += st.missiles.n
        seek_ref.append(g_s)
        eng_ref.append(g_e)

    # --- the batch
    mrep = np.concatenate(
        [np.full(s.state.missiles.n, r, dtype=np.int64) for r, s in enumerate(snaps)]
    )
    missiles = _cat([s.state.missiles for s in snaps])
    pic = _cat_pictures([s.state.picture for s in snaps])
    trep = np.concatenate(
        [np.full(s.state.picture.n, r, dtype=np.int64) for r, s in enumerate(snaps)]
    )
    world = WorldState(
        *(
            np.concatenate([getattr(s.state.world, f.name) for s in snaps])
            for f in dataclasses.fields(WorldState)
        )
    )
    seek, eng = (
        [copy.deepcopy(s.seeker) for s in snaps],
        [copy.deepcopy(s.engagement) for s in snaps],
    )
    n_arr = n_sw = 0
    if missiles.n:
        reads = getattr(fly, "reads_picture", None)
        assert reads_picture_batch(fly, missiles, mrep, t1) == any(
            s.state.missiles.n and (reads is None or reads(s.state.missiles, t1)) for s in snaps
        )
        aim = aim_picture_batch(fly, missiles, mrep, pic, t1, _per_rep_predict(pipe, trep, n_reps))
        m_b, mrep_b, arr_b, arep_b = advance_batch(
            fly, missiles, mrep, t0, t1, world, aim, trep, seek, n_reps
        )
        _assert_same(m_b, _cat(ref_m), "missiles")
        _assert_same(
            mrep_b,
            np.concatenate([np.full(m.n, r, dtype=np.int64) for r, m in enumerate(ref_m)]),
            "mrep",
        )
        if not ref_arr:
            assert arr_b is None and arep_b is None
            kill_b = world.kill_time_s
        else:
            assert arr_b is not None and arep_b is not None
            ref = _cat(ref_arr)
            if ref.ended is not None:
                ref = replace(ref, ended=replace(ref.ended, row=np.concatenate(ref_rows)))
            _assert_same(arr_b, ref, "arrivals")
            _assert_same(arep_b, np.concatenate(ref_arep), "arep")
            out_b = assess_batch(ass, arr_b, arep_b, world, eng, n_reps)
            ref_o = _cat(ref_out)
            _assert_same(replace(out_b, kill_time_s=ref_o.kill_time_s), ref_o, "outcome")
            kill_b = out_b.kill_time_s
            n_arr = arr_b.due.n
            n_sw = 0 if out_b.switched is None else int(np.count_nonzero(out_b.switched))
        _assert_same(kill_b, np.concatenate(ref_kill), "kill_time_s")
    for r in range(n_reps):
        assert seek[r].bit_generator.state == seek_ref[r].bit_generator.state
        assert eng[r].bit_generator.state == eng_ref[r].bit_generator.state

    # --- launches at this step: the missiles the step launched appended to the flying ones
    news, new_rep, pics, ref_l = [], [], [], []
    for r, sn in enumerate(snaps):
        fl = sn.after.missiles
        new_rows = fl.flight.missile_id >= sn.state.c2.n_launched
        new = fl.flight.take(new_rows)
        news.append(new)
        new_rep.append(np.full(new.n, r, dtype=np.int64))
        pics.append(sn.after.picture)
        ref_l.append(fly.launch(sn.state.missiles, new, sn.after.picture))
    if any(x.n for x in news):
        pic_a = _cat_pictures(pics)
        trep_a = np.concatenate([np.full(x.n, r, dtype=np.int64) for r, x in enumerate(pics)])
        got, grep = launch_batch(
            fly, missiles, mrep, _cat(news), np.concatenate(new_rep), pic_a, trep_a
        )
        _assert_same(got, _cat(ref_l), "launch")
        _assert_same(
            grep,
            np.concatenate([np.full(m.n, r, dtype=np.int64) for r, m in enumerate(ref_l)]),
            "launch rep",
        )
    return n_arr, n_sw, sum(x.n for x in news)


def _steps(name: str, flyout: str, seeds: tuple[int, ...], every: int) -> list[int]:
    """Steps with missiles flying: all with arrivals or launches, every `every`-th of the others."""
    out = []
    for k in range(1, N_STEPS[name] + 1):
        sn = [_run(name, flyout, s)[k - 1] for s in seeds]
        flying = any(x.state.missiles.n for x in sn)
        event = any(
            x.after.c2.n_launched > x.state.c2.n_launched
            or x.after.missiles.n
            < x.state.missiles.n + x.after.c2.n_launched - x.state.c2.n_launched
            for x in sn
        )
        if event or (flying and k % every == 0):
            out.append(k)
    return out


@pytest.mark.parametrize("flyout", ["kinematic", "guided"])
@pytest.mark.parametrize("name", ["default", "saturation"])
@pytest.mark.parametrize("n_reps", [1, 3, 5])
def test_batch_equals_loop(name: str, flyout: str, n_reps: int) -> None:
    seeds = SEEDS[:n_reps] if n_reps != 1 else (SEEDS[0],)
    steps = _steps(name, flyout, seeds, 3 if n_reps == 5 else 7)
    assert steps
    seen = np.zeros(3, dtype=np.int64)
    for k in steps:
        seen += _check_step(name, flyout, seeds, k)
    print(name, flyout, n_reps, "steps", len(steps), "arrivals, switches, launches", seen)
    assert seen[0] > 0 and seen[2] > 0  # the assessment and the launch ran


def test_replications_in_any_order() -> None:
    """Reps whose missiles interleave differently (seed order reversed, a seed twice)."""
    seeds = (15, 11, 15)
    for flyout in ("kinematic", "guided"):
        for k in _steps("default", flyout, seeds, 9):
            _check_step("default", flyout, seeds, k)


@pytest.mark.parametrize("flyout", ["kinematic", "guided"])
def test_replications_with_different_truth(flyout: str) -> None:
    """One replication's state three times, its threats' fates changed in two.

    Every threat dead just before the step in one, every threat breaking
    (evasion started 1 s before it) in another, both orders. A kernel that
    reads another replication's truth differs from the loop here.
    """
    name = "default"
    seed = SEEDS[1]
    snaps = _run(name, flyout, seed)
    # Every threat an evader (the scenario's evaders are not engaged this early).
    base = _pipe(name, flyout)
    th = base.params.threats
    th = replace(th, evade_amp_m=np.full(th.n, 300.0), evade_dur_s=np.full(th.n, 20.0))
    pipe = default_pipeline(replace(base.params, threats=th))
    n_arr = 0
    for k in _steps(name, flyout, (seed,), 1000):
        w = snaps[k - 1].state.world
        t0 = snaps[k - 1].state.t_s
        dead = replace(w, kill_time_s=np.minimum(w.kill_time_s, t0 - 0.25))
        brk = replace(w, evade_start_s=np.full(w.evade_start_s.size, t0 - 1.0))
        for worlds in ([dead, w, brk], [brk, w, dead]):
            n_arr += _check_step(name, flyout, (seed, seed, seed), k, worlds, pipe)[0]
    assert n_arr > 0


def test_tile_threats_rows_equal_single() -> None:
    th = _pipe("default", "kinematic").params.threats
    tiled = tile_threats(th, 3)
    assert tiled.n == 3 * th.n
    assert tile_threats(th, 3) is tiled
    ev = np.full(3 * th.n, np.inf)
    ev[th.n + 4] = 100.0
    rows = np.arange(3 * th.n)
    pos, vel = tiled.state_at(120.0, rows, evade_start_s=ev)
    for r in range(3):
        p1, v1 = th.state_at(120.0, np.arange(th.n), evade_start_s=ev[r * th.n : (r + 1) * th.n])
        assert p1.tobytes() == pos[r * th.n : (r + 1) * th.n].tobytes()
        assert v1.tobytes() == vel[r * th.n : (r + 1) * th.n].tobytes()


def test_cross_replication_acquisition_is_impossible() -> None:
    """A guided missile acquires only threats of its own replication.

    Two replications with the same missiles; in replication 1 every threat is
    dead, so its missiles must acquire nothing while replication 0's do.
    """
    name, flyout = "default", "guided"
    pipe = _pipe(name, flyout)
    snaps = _run(name, flyout, SEEDS[0])
    k = next(
        i + 1
        for i, s in enumerate(snaps)
        if s.after.missiles.physics is not None and (s.after.missiles.physics.target >= 0).any()
    )
    sn = snaps[k - 1]
    st = sn.state
    n = pipe.params.threats.n
    missiles = _cat([st.missiles, st.missiles])
    mrep = np.repeat(np.arange(2), st.missiles.n)
    pic = _cat_pictures([st.picture, st.picture])
    trep = np.repeat(np.arange(2), st.picture.n)
    dead = np.full(n, -1.0)
    world = WorldState(
        np.concatenate([st.world.kill_time_s, dead]),
        np.concatenate([st.world.leak_time_s] * 2),
        np.concatenate([st.world.evade_start_s] * 2),
        np.concatenate([st.world.asset_value] * 2),
    )
    t1 = k * pipe.params.step_s
    aim = aim_picture_batch(pipe.flyout, missiles, mrep, pic, t1, _per_rep_predict(pipe, trep, 2))
    gens = [copy.deepcopy(sn.seeker), copy.deepcopy(sn.seeker)]
    m, mrep_b, arr, arep = advance_batch(
        pipe.flyout, missiles, mrep, st.t_s, t1, world, aim, trep, gens, 2
    )
    assert m.physics is not None
    tgt = [m.physics.target[mrep_b == r] for r in range(2)]
    if arr is not None and arr.ended is not None and arep is not None:
        tgt = [np.concatenate([tgt[r], arr.ended.target[arep == r]]) for r in range(2)]
    tgt0, tgt1 = tgt
    assert (tgt0 >= 0).any()
    assert (tgt1 < 0).all()


def test_empty_batch() -> None:
    pipe = _pipe("default", "kinematic")
    n = pipe.params.threats.n
    world = WorldState(
        np.full(2 * n, np.inf), np.full(2 * n, np.inf), np.full(2 * n, np.inf), np.ones(2)
    )
    empty = pipe.flyout.empty()
    none = np.zeros(0, dtype=np.int64)
    gens = [np.random.default_rng(1), np.random.default_rng(2)]
    for fly in (pipe.flyout, _pipe("default", "guided").flyout):
        e = fly.empty()
        m, r, arr, arep = advance_batch(
            fly, e, none, 0.0, 1.0, world, TrackState.empty(), none, gens, 2
        )
        assert m.n == 0 and r.size == 0 and arr is None and arep is None
    got, rep = launch_batch(
        pipe.flyout, empty, none, InFlight.empty(), none, TrackState.empty(), none
    )
    assert got.n == 0 and rep.size == 0
    assert isinstance(Outcome, type) and isinstance(Arrivals, type) and isinstance(Missiles, type)
