"""Contract checkers for pipeline stages: what any user's stage must satisfy.

Each `check_*` runs the stage on a small synthetic case and raises
`AssertionError` naming the stage and the first broken rule (like
`skydome.tracking.contract.check_tracker` for trackers):

- `check_identification`: (K,) int64 identities, -1 or a threat index, picture unchanged;
- `check_evaluation`: one row per track, dtypes, finite non-negative scores;
- `check_planner`: rows unique, options feasible, counts within salvo, stock
  and channels;
- `check_pipeline`: a whole pipeline (sensor, flyout and kill assessment in
  context) stepped over its scenario, the state's invariants checked every tick.

All of them also check determinism: the same input gives identical output.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from skydome.arrays import I64
from skydome.engine.pipeline import Identification, Pipeline, Plan, Planner, PlanRequest
from skydome.engine.pipeline import ThreatEvaluation as Evaluation
from skydome.engine.state import SimState
from skydome.engine.step import Rngs, step
from skydome.events import EVENT_KINDS
from skydome.tracking.base import TrackState

__all__ = ["check_evaluation", "check_identification", "check_pipeline", "check_planner"]


_RESOLVED = (EVENT_KINDS.index("kill"), EVENT_KINDS.index("miss"))


def _name(stage: object) -> str:
    return type(stage).__name__


def _picture(n: int, seed: int) -> TrackState:
    """A picture of `n` tracks, some on threats 0..n-1, some false (truth -1)."""
    rng = np.random.default_rng(seed)
    e = TrackState.empty()
    cols: dict[str, object] = {}
    for f in fields(TrackState):
        v = getattr(e, f.name)
        if isinstance(v, np.ndarray):
            cols[f.name] = np.zeros((n, *v.shape[1:]), dtype=v.dtype)
        else:
            cols[f.name] = v
    x = np.concatenate(
        [rng.uniform(-2e5, 2e5, (n, 2)), rng.uniform(1e3, 1e4, (n, 1)), rng.normal(0, 250, (n, 3))],
        axis=1,
    )
    truth = np.where(rng.random(n) < 0.8, rng.permutation(n), -1).astype(np.int64)
    cols.update(
        x=x,
        P=np.tile(np.eye(6) * 100.0, (n, 1, 1)),
        track_id=np.arange(n, dtype=np.int64),
        confirmed=np.ones(n, dtype=bool),
        truth=truth,
        next_id=n,
        time_s=10.0,
    )
    return TrackState(**cols)  # type: ignore[arg-type]


def check_identification(stage: Identification, n_threats: int = 12, seed: int = 0) -> None:
    """Run the identification contract; raise `AssertionError` on the first violation."""
    who = _name(stage)
    pic = _picture(n_threats, seed)
    x0 = pic.x.copy()
    rows = np.arange(0, pic.n, 2, dtype=np.int64)
    out = stage.identify(pic, rows)
    assert isinstance(out, np.ndarray), f"{who}.identify returned {type(out).__name__}, not array"
    assert out.shape == rows.shape, f"{who}.identify: shape {out.shape}, expected {rows.shape}"
    assert out.dtype == np.int64, f"{who}.identify: dtype {out.dtype}, expected int64"
    assert ((out >= -1) & (out < n_threats)).all(), f"{who}.identify: ids outside [-1, N)"
    assert np.array_equal(pic.x, x0), f"{who}.identify changed the picture"
    assert np.array_equal(out, stage.identify(pic, rows)), f"{who}.identify: not deterministic"
    assert stage.identify(pic, rows[:0]).shape == (0,), f"{who}.identify: no rows -> (0,)"


def check_evaluation(stage: Evaluation, n_threats: int = 12, seed: int = 0) -> None:
    """Run the threat evaluation contract; raise `AssertionError` on the first violation.

    Args:
        stage: the evaluation.
        n_threats: threats in its scenario (identities are -1 or below this).
        seed: seed of the synthetic tracks.
    """
    who = _name(stage)
    rng = np.random.default_rng(seed)
    k = 9
    pos = np.concatenate([rng.uniform(-2e5, 2e5, (k, 2)), rng.uniform(1e3, 1e4, (k, 1))], 1)
    vel = rng.normal(0.0, 250.0, (k, 3))
    ident = np.r_[np.arange(k - 2) % n_threats, -1, -1].astype(np.int64)
    ta = stage.evaluate(pos, vel, ident)
    for name in ("score", "tgo_s", "cpa_m", "range_m", "asset"):
        a = getattr(ta, name)
        assert a.shape == (k,), f"{who}.evaluate: {name} shape {a.shape}, expected ({k},)"
    assert ta.asset.dtype == np.int64, f"{who}.evaluate: asset dtype {ta.asset.dtype}"
    assert np.isfinite(ta.score).all() and (ta.score >= 0).all(), (
        f"{who}.evaluate: scores must be finite and >= 0"
    )
    assert (ta.cpa_m >= 0).all() and (ta.range_m >= 0).all(), f"{who}.evaluate: negative distance"
    again = stage.evaluate(pos, vel, ident)
    assert np.array_equal(ta.score, again.score), f"{who}.evaluate: not deterministic"
    assert stage.evaluate(pos[:0], vel[:0], ident[:0]).score.shape == (0,), (
        f"{who}.evaluate: no tracks -> (0,) scores"
    )


def _requests(seed: int, m: int) -> list[PlanRequest]:
    rng = np.random.default_rng(seed)
    out = []
    for n, b in ((12, 3), (1, 1), (30, 2)):
        score = rng.exponential(1.0, n)
        feasible = rng.random((n, b, m)) < 0.6
        stock = rng.integers(0, 6, (b, m)).astype(np.int64)
        out.append(
            PlanRequest(
                score=score,
                order=np.argsort(-score, kind="stable").astype(np.int64),
                salvo=rng.integers(1, 3, n).astype(np.int64),
                feasible=feasible & (stock > 0)[None],
                t_intercept_rel_s=np.where(feasible, rng.uniform(5, 200, (n, b, m)), np.inf),
                stock=stock,
                target_channels_free=rng.integers(0, 5, b).astype(np.int64),
                missile_channels_free=rng.integers(0, 8, b).astype(np.int64),
            )
        )
    return out


def check_planner(stage: Planner, n_types: int = 2, seed: int = 0) -> None:
    """Run the planner contract; raise `AssertionError` on the first violation.

    Args:
        stage: the planner.
        n_types: missile types in its library (options are batteries x types).
        seed: seed of the synthetic requests.
    """
    who = _name(stage)
    for req in _requests(seed, n_types):
        n, n_b, n_m = req.feasible.shape
        plan = stage.plan(req)
        assert isinstance(plan, Plan), f"{who}.plan returned {type(plan).__name__}, not Plan"
        for name in ("rows", "option", "count"):
            a = np.asarray(getattr(plan, name))
            assert a.ndim == 1 and a.shape == plan.rows.shape, f"{who}.plan: {name} shape"
            assert a.dtype.kind == "i", f"{who}.plan: {name} dtype {a.dtype}, expected integer"
        rows, opt, count = plan.rows, plan.option, plan.count
        assert np.unique(rows).size == rows.size, f"{who}.plan: a track planned twice"
        assert ((rows >= 0) & (rows < n)).all(), f"{who}.plan: row outside [0, {n})"
        assert ((opt >= 0) & (opt < n_b * n_m)).all(), f"{who}.plan: option outside [0, B*M)"
        assert ((count >= 1) & (count <= req.salvo[rows])).all(), (
            f"{who}.plan: count must be in [1, salvo]"
        )
        b, m = opt // n_m, opt % n_m
        assert req.feasible[rows, b, m].all(), f"{who}.plan: an infeasible (track, option)"
        used = np.bincount(opt, weights=count, minlength=n_b * n_m).reshape(n_b, n_m)
        assert (used <= req.stock).all(), f"{who}.plan: more missiles than stock"
        assert (np.bincount(b, minlength=n_b) <= req.target_channels_free).all(), (
            f"{who}.plan: more targets than a battery's free target channels"
        )
        assert (np.bincount(b, weights=count, minlength=n_b) <= req.missile_channels_free).all(), (
            f"{who}.plan: more missiles than a battery's free missile channels"
        )
        again = stage.plan(req)
        assert all(
            np.array_equal(getattr(plan, f), getattr(again, f)) for f in ("rows", "option", "count")
        ), f"{who}.plan: not deterministic"


def check_pipeline(pipe: Pipeline, seed: int = 0, max_steps: int | None = None) -> None:
    """Step `pipe` over its scenario; check the state's invariants after every tick.

    Checks: time advances; kill and leak times only ever set once, never
    earlier than launch; every missile row aligned with its physics row;
    missile ids unique and every launched missile either in the air or
    resolved exactly once; event times within the step's reach.
    """
    p = pipe.params
    rngs = Rngs.from_seed(seed, p.radars.names)
    state = SimState.initial(p, pipe.flyout.empty())
    n_steps = int(np.ceil(p.duration_s / p.step_s - 1e-9))
    if max_steps is not None:
        n_steps = min(n_steps, max_steps)
    resolved: list[I64] = []
    for k in range(1, n_steps + 1):
        t = min(k * p.step_s, p.duration_s)
        before = state
        state, ev = step(pipe, state, t, rngs)
        assert state.t_s == t, f"step: state time {state.t_s} != {t}"
        for name in ("kill_time_s", "leak_time_s"):
            old, new = getattr(before.world, name), getattr(state.world, name)
            assert new.shape == old.shape, f"world.{name}: shape changed"
            set_before = np.isfinite(old)
            assert np.array_equal(old[set_before], new[set_before]), f"world.{name} changed"
            assert (new[~set_before & np.isfinite(new)] <= t + 1e-9).all(), (
                f"world.{name}: a time after the step"
            )
        ms = state.missiles
        if ms.physics is not None:
            assert ms.physics.n == ms.n, (
                f"{_name(pipe.flyout)}: physics rows {ms.physics.n} != missiles {ms.n}"
            )
        assert np.unique(ms.flight.missile_id).size == ms.n, "missile ids not unique in the air"
        for part in ev.log._parts:
            if int(part["kind"][0]) in _RESOLVED:
                resolved.append(part["missile_id"].astype(np.int64))
    done = np.concatenate(resolved) if resolved else np.zeros(0, dtype=np.int64)
    assert np.unique(done).size == done.size, (
        f"{_name(pipe.flyout)}/{_name(pipe.assessment)}: a missile resolved twice"
    )
    assert not np.isin(done, state.missiles.flight.missile_id).any(), (
        "a resolved missile is still in the air"
    )
    launched = state.c2.n_launched
    assert done.size + state.missiles.n == launched, (
        f"missiles launched {launched} != resolved {done.size} + in the air {state.missiles.n}"
    )
