"""Contract checkers for pipeline stages: what any user's stage must satisfy.

Each `check_*` runs the stage on a small synthetic case and raises
`AssertionError` naming the stage and the first broken rule (like
`skydome.tracking.contract.check_tracker` for trackers):

- `check_identification`: (K,) int64 identities, -1 or a threat index, picture unchanged;
- `check_evaluation`: one row per track, dtypes, finite non-negative scores;
- `check_planner`: rows unique, options feasible, counts within salvo, stock
  and channels;
- `check_sensor`: detections well-formed, only of threats in the sky and inside
  the radar's own coverage, each threat at most once per scan;
- `check_flyout`: missiles launched at live tracks are conserved, each arrives
  once, inside the step that reports it and after its launch, physics rows
  aligned;
- `check_assessment`: outcome codes, kills only of live threats in the sky at
  the aim point, kill times set once, to the arrival time;
- `check_pipeline`: a whole pipeline (sensor, flyout and kill assessment in
  context) stepped over its scenario, the state's invariants checked every tick.

All of them also check determinism: the same input gives identical output.
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from skydome.arrays import F64, I64
from skydome.engagement.assessment import KILL, OUTCOME_CODES
from skydome.engagement.flyout import InFlight
from skydome.engine.pipeline import (
    Arrivals,
    Flyout,
    Identification,
    KillAssessment,
    Pipeline,
    Plan,
    Planner,
    PlanRequest,
    Sensor,
)
from skydome.engine.pipeline import ThreatEvaluation as Evaluation
from skydome.engine.state import SimState, WorldState
from skydome.engine.step import Rngs, step
from skydome.events import EVENT_KINDS
from skydome.scenario.compile import SimParams
from skydome.sensors.base import Detections
from skydome.sensors.jamming import Jammers
from skydome.tracking.base import TrackState

__all__ = [
    "check_assessment",
    "check_evaluation",
    "check_flyout",
    "check_identification",
    "check_pipeline",
    "check_planner",
    "check_sensor",
]


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


def _same_detections(a: Detections, b: Detections) -> bool:
    return all(
        np.array_equal(getattr(a, f.name), getattr(b, f.name), equal_nan=True)
        for f in fields(Detections)
    )


def check_sensor(stage: Sensor, n_threats: int, seed: int = 0) -> None:
    """Scan every radar of `stage` over its `n_threats` threats at random places; check it.

    `n_threats` is the N the sensor was built for (a sensor knows its threats'
    radar cross-sections and jammers; the engine hands it all N positions).

    Rules: `scan_period_s` is (R,) finite and positive; each scan's detections
    carry the scan's time and radar, finite (M, 3) positions and polar
    measurements, symmetric positive semi-definite (M, 3, 3) covariances and
    (M,) int64 truth in [-1, N); a threat is detected at most once per scan,
    only while in the sky, and only where the radar's own `coverage` says it
    can see; the same random stream gives the same detections.
    """
    who = _name(stage)
    period = np.asarray(stage.scan_period_s)
    assert period.ndim == 1 and period.size > 0, f"{who}.scan_period_s: expected (R,)"
    assert np.isfinite(period).all() and (period > 0).all(), f"{who}.scan_period_s: not > 0"
    rng = np.random.default_rng(seed)
    n = n_threats
    pos = np.column_stack(
        [rng.uniform(-3e5, 3e5, (n, 2)), rng.uniform(30.0, 2.5e4, n)]
    )  # ground within 300 km, 30 m to 25 km up
    in_sky = rng.random(n) < 0.8
    for r in range(period.size):
        t = 100.0 + r
        det = stage.detect(r, t, pos, in_sky, Jammers.empty(), np.random.default_rng(seed + r))
        again = stage.detect(r, t, pos, in_sky, Jammers.empty(), np.random.default_rng(seed + r))
        assert _same_detections(det, again), f"{who}.detect: not deterministic (radar {r})"
        m = det.n
        assert det.time_s == t and det.radar == r, f"{who}.detect: wrong time or radar"
        assert det.pos_m.shape == (m, 3) and det.polar.shape == (m, 3), f"{who}.detect: shapes"
        assert det.cov_m2.shape == (m, 3, 3), f"{who}.detect: cov_m2 not (M, 3, 3)"
        assert det.truth.shape == (m,) and det.truth.dtype == np.int64, f"{who}.detect: truth"
        assert np.isfinite(det.pos_m).all() and np.isfinite(det.polar).all(), (
            f"{who}.detect: non-finite measurement"
        )
        assert np.allclose(det.cov_m2, det.cov_m2.transpose(0, 2, 1)), f"{who}: cov not symmetric"
        if m:
            assert (np.linalg.eigvalsh(det.cov_m2).min(axis=1) >= -1e-6).all(), (
                f"{who}.detect: a covariance is not positive semi-definite"
            )
        assert ((det.truth >= -1) & (det.truth < n)).all(), f"{who}.detect: truth out of range"
        hit = det.truth[det.truth >= 0]
        assert np.unique(hit).size == hit.size, f"{who}.detect: a threat detected twice in a scan"
        assert in_sky[hit].all(), f"{who}.detect: detected a threat that is not in the sky"
        seen = np.asarray(stage.coverage(r)(pos[hit]))
        assert seen.shape == (hit.size,) and seen.dtype == np.bool_, (
            f"{who}.coverage: expected (K,) bool"
        )
        assert seen.all(), f"{who}.detect: detected a threat outside radar {r}'s coverage"


def _truth_picture(params: SimParams, t: float, sky: I64) -> TrackState:
    """Confirmed tracks exactly on the threats `sky` at time `t` (track id = threat index)."""
    base = _picture(sky.size, 0)
    pos, vel = params.threats.state_at(t, sky)
    return replace(
        base,
        x=np.concatenate([pos, vel], axis=1),
        track_id=sky.astype(np.int64),
        truth=sky.astype(np.int64),
        next_id=int(sky.max()) + 1,
        time_s=t,
    )


def _fly(stage: Flyout, params: SimParams, seed: int, horizon_s: float) -> list[tuple[I64, F64]]:
    """Launch at up to 24 threats in the sky mid-raid; (ids, times) of each step's arrivals."""
    who = _name(stage)
    th = params.threats
    t0 = float(np.median(0.5 * (th.launch_s + np.minimum(th.end_s, params.duration_s))))
    sky = np.flatnonzero((th.launch_s <= t0) & (t0 < th.end_s))[:24]
    assert sky.size > 0, "check_flyout: no threat in the sky at the chosen time"
    rng = np.random.default_rng(seed)
    picture = _truth_picture(params, t0, sky)
    k = sky.size
    bat = rng.integers(0, params.batteries.pos_m.shape[0], k).astype(np.int64)
    mtype = rng.integers(0, len(params.missiles.names), k).astype(np.int64)
    pip, _ = th.state_at(t0 + 20.0, sky)
    dist = np.linalg.norm(pip - params.batteries.pos_m[bat], axis=1)
    ids = np.arange(100, 100 + k, dtype=np.int64)
    new = InFlight(
        missile_id=ids,
        battery=bat,
        mtype=mtype,
        track_id=sky.astype(np.int64),
        threat=sky.astype(np.int64),
        t_launch_s=np.full(k, t0),
        t_intercept_s=t0 + dist / params.missiles.speed_mps[mtype],
        pip_m=pip,
    )
    ms = stage.launch(stage.empty(), new, picture)
    assert ms.n == k and np.array_equal(ms.flight.missile_id, ids), (
        f"{who}.launch: the missiles launched are not the rows given"
    )
    world = WorldState(
        kill_time_s=np.full(th.n, np.inf),
        leak_time_s=np.full(th.n, np.inf),
        evade_start_s=np.full(th.n, np.inf),
        asset_value=params.assets.value.copy(),
    )
    out: list[tuple[I64, F64]] = []
    seen: set[int] = set()
    step_rng = np.random.default_rng(seed)
    t = t0
    while ms.n and t < t0 + horizon_s:
        t1 = t + params.step_s
        before = set(ms.flight.missile_id.tolist())
        reads = getattr(stage, "reads_picture", None)
        blind = reads is not None and not reads(ms, t1)
        ms, arr = stage.advance(ms, t, t1, world, picture, step_rng)
        # A step it said it would not read the picture in is one without arrivals
        # (the engine then hands it the picture unextrapolated).
        assert not (blind and arr is not None), (
            f"{who}.reads_picture: False for [{t}, {t1}], but missiles arrived"
        )
        if ms.physics is not None:
            assert ms.physics.n == ms.n, f"{who}.advance: physics rows {ms.physics.n} != {ms.n}"
        got = np.zeros(0, dtype=np.int64) if arr is None else arr.due.missile_id
        times = np.zeros(0) if arr is None else arr.due.t_intercept_s
        if arr is not None and arr.ended is not None:
            assert arr.ended.row.size == arr.due.n, f"{who}.advance: ended rows != arrivals"
        still = set(ms.flight.missile_id.tolist())
        assert still | set(got.tolist()) == before and not (still & set(got.tolist())), (
            f"{who}.advance: missiles lost or duplicated between [{t}, {t1}]"
        )
        assert not (seen & set(got.tolist())), f"{who}.advance: a missile arrived twice"
        seen |= set(got.tolist())
        assert ((times >= t0) & (times <= t1 + 1e-9)).all(), (
            f"{who}.advance: an arrival time outside the launch..step end [{t0}, {t1}]"
        )
        out.append((got, times))
        t = t1
    return out


def check_flyout(stage: Flyout, params: SimParams, seed: int = 0, horizon_s: float = 600.0) -> None:
    """Launch missiles at tracks on live threats and fly them; check the bookkeeping.

    Rules: `launch` keeps the rows given; every step, the missiles still flying
    and those arriving are exactly the ones flying before (none lost, none
    twice), each arrives once, at a time between its launch and the end of the
    step that reports it; a physics sub-struct stays row-aligned; the same
    random stream gives the same arrivals; a flyout with the optional
    `reads_picture` reports no arrival in a step it said False for.
    """
    a = _fly(stage, params, seed, horizon_s)
    b = _fly(stage, params, seed, horizon_s)
    assert len(a) == len(b) and all(
        np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True)
    ), f"{_name(stage)}: not deterministic"


def check_assessment(stage: KillAssessment, params: SimParams, seed: int = 0) -> None:
    """Resolve synthetic arrivals with `stage` against `params`' threats; check the outcome.

    Missiles arrive at one time: some aimed at live threats' true positions,
    some at a threat already dead, some 1,000 km from anything. Rules: (K,)
    codes among `OUTCOME_CODES`; kill times set
    earlier are unchanged; a kill is of a threat alive and in the sky at the
    arrival, never from an aim point 1,000 km away, and a threat killed here
    has its kill time set to the arrival time; the same stream gives the
    same outcome.
    """
    who = _name(stage)
    th = params.threats
    n = th.n
    t = float(np.median(0.5 * (th.launch_s + np.minimum(th.end_s, params.duration_s))))
    sky = np.flatnonzero((th.launch_s <= t) & (t < th.end_s))
    assert sky.size > 0, "check_assessment: no threat in the sky at the chosen time"
    rng = np.random.default_rng(seed)
    kill = np.full(n, np.inf)
    dead = sky[rng.random(sky.size) < 0.2]
    kill[dead] = t - 1.0
    aim = np.concatenate([sky, sky[:3]])
    pos, _ = th.state_at(t, aim)
    far = np.zeros(aim.size, dtype=bool)
    far[sky.size :] = True
    pos[far] += np.array([1e6, 1e6, 0.0])  # 1,000 km from its threat
    k = aim.size
    ids = np.arange(k, dtype=np.int64)
    due = InFlight(
        missile_id=ids,
        battery=np.zeros(k, dtype=np.int64),
        mtype=rng.integers(0, len(params.missiles.names), k).astype(np.int64),
        track_id=ids,
        threat=aim.astype(np.int64),
        t_launch_s=np.full(k, t - 30.0),
        t_intercept_s=np.full(k, t),
        pip_m=pos,
    )
    world = WorldState(
        kill_time_s=kill.copy(),
        leak_time_s=np.full(n, np.inf),
        evade_start_s=np.full(n, np.inf),
        asset_value=params.assets.value.copy(),
    )
    out = stage.assess(Arrivals(due, None), world, np.random.default_rng(seed))
    again = stage.assess(Arrivals(due, None), world, np.random.default_rng(seed))
    assert np.array_equal(out.code, again.code), f"{who}.assess: not deterministic"
    assert out.code.shape == (k,) and out.threat.shape == (k,), f"{who}.assess: shapes"
    assert out.kill_time_s.shape == (n,), f"{who}.assess: kill_time_s not (N,)"
    assert np.isin(out.code, OUTCOME_CODES).all(), f"{who}.assess: unknown outcome code"
    assert np.array_equal(out.kill_time_s[dead], kill[dead]), (
        f"{who}.assess: changed a kill time set earlier"
    )
    killed = out.code == KILL
    assert not (killed & far).any(), f"{who}.assess: a kill from an aim point 1,000 km away"
    victims = out.threat[killed]
    assert (victims >= 0).all() and np.isin(victims, sky).all(), (
        f"{who}.assess: a kill of a threat not in the sky"
    )
    assert not np.isin(victims, dead).any(), f"{who}.assess: a dead threat killed again"
    newly = np.flatnonzero(np.isfinite(out.kill_time_s) & ~np.isfinite(kill))
    assert np.array_equal(np.sort(newly), np.unique(victims)), (
        f"{who}.assess: kill times set for threats not killed here (or missing)"
    )
    assert (out.kill_time_s[newly] == t).all(), f"{who}.assess: kill time != arrival time"


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
