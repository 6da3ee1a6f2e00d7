"""The batched decision cycle equals `step._decide` per replication, byte for byte.

Real states: single replications of built-in scenarios stepped with
`skydome.engine.step.step`, recording every `_decide` and `_log_held` call
(inputs and outputs); the states of R seeds at one decision time are joined in
the batch layout and `decide_batch` / `log_held_batch` must return the
concatenation of the single results.
"""

from __future__ import annotations

import importlib
from dataclasses import fields, replace
from functools import cache
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skydome.engagement.flyout import InFlight
from skydome.engagement.launchers import Launchers, allocate_slots, start_reloads
from skydome.engine import decide_batch as db
from skydome.engine.pipeline import PlanRequest
from skydome.engine.stages import GreedyPlanner, default_pipeline
from skydome.engine.state import SimState
from skydome.events import EventLog
from skydome.scenario import compile_scenario, load_scenario
from skydome.tracking.base import TrackState

stepmod = importlib.import_module("skydome.engine.step")

SEEDS = (11, 12, 13, 14, 15)
REPS = {1: (13,), 3: (12, 14, 15), 5: SEEDS}


# (scenario, flyout, planner, policy/rules variant, run until t, s)
CONFIGS = {
    "default-kinematic-greedy": ("default", "kinematic", "greedy", None, 160.0),
    "default-kinematic-wta": ("default", "kinematic", "wta", None, 110.0),
    "default-guided-greedy": ("default", "guided", "greedy", None, 40.0),
    "saturation-guided-wta": ("saturation", "guided", "wta", None, 30.0),
    "saturation-kinematic-greedy": ("saturation", "kinematic", "greedy", None, 110.0),
    "saturation-kinematic-wta": ("saturation", "kinematic", "wta", None, 80.0),
    "default-kinematic-adaptive-reserve": ("default", "kinematic", "greedy", "rules", 150.0),
    "saturation-kinematic-shoot-shoot-range": ("saturation", "kinematic", "greedy", "ss", 70.0),
}


def _params(name: str, flyout: str, planner: str, variant: str | None) -> Any:
    p = compile_scenario(load_scenario(name))
    doc = replace(p.doctrine, planner=planner)
    if variant == "rules":
        share = np.full(doc.reserve_share.shape, 0.8)
        doc = replace(doc, policy="adaptive", reserve_share=share, engage_order="time_to_go")
    elif variant == "ss":
        doc = replace(doc, policy="shoot_shoot", max_missiles_per_target=3, engage_order="range")
        # small magazines and reserves: launchers run dry, reload, and tracks wait for one
        bat = p.batteries
        load, n_l = np.minimum(bat.load, 1), np.minimum(bat.launchers, 2)
        bat = replace(bat, launchers=n_l, load=load, inventory=load * n_l[:, None], reserve=load)
        p = replace(p, batteries=bat)
    return replace(p, flyout=flyout, doctrine=doc)


@cache
def _pipe(cfg: str) -> Any:
    name, flyout, planner, variant, _ = CONFIGS[cfg]
    return default_pipeline(_params(name, flyout, planner, variant))


@cache
def _record(cfg: str, seed: int) -> dict[float, dict[str, Any]]:
    """Every decision of one replication: `_decide`'s and `_log_held`'s inputs and outputs."""
    pipe = _pipe(cfg)
    params = pipe.params
    t_end = CONFIGS[cfg][4]
    rngs = stepmod.Rngs.from_seed(seed, params.radars.names)
    state = SimState.initial(params, pipe.flyout.empty())
    out: dict[float, dict[str, Any]] = {}
    decide, log_held = stepmod._decide, stepmod._log_held

    def rec_decide(*a: Any, **k: Any) -> Any:
        res = decide(*a, **k)
        out[a[1]] = {"args": a, "out": res}
        return res

    def rec_held(log: EventLog, pipe_: Any, t: float, *a: Any) -> Any:
        mine = EventLog()
        res = log_held(mine, pipe_, t, *a)
        log._parts.extend(mine._parts)
        out[t]["held"] = (a, res, mine._parts)
        return res

    with (
        mock.patch.object(stepmod, "_decide", rec_decide),
        mock.patch.object(stepmod, "_log_held", rec_held),
    ):
        for i in range(1, int(t_end / params.step_s) + 1):
            state, _ = stepmod.step(pipe, state, i * params.step_s, rngs)
    return out


def _join_tracks(parts: list[TrackState]) -> tuple[TrackState, np.ndarray]:
    t0 = parts[0].time_s
    assert all(p.time_s == t0 for p in parts)
    cols = {
        f.name: np.concatenate([getattr(p, f.name) for p in parts])
        for f in fields(TrackState)
        if f.name not in ("time_s", "next_id")
    }
    rep = np.repeat(np.arange(len(parts)), [p.n for p in parts])
    return TrackState(time_s=t0, next_id=0, **cols), rep


def _join_inflight(parts: list[InFlight]) -> tuple[InFlight, np.ndarray]:
    out = InFlight.empty()
    for p in parts:
        out = out.concat(p)
    return out, np.repeat(np.arange(len(parts)), [p.n for p in parts])


def _join_launchers(parts: list[Launchers]) -> Launchers:
    n_b = parts[0].reserve.shape[0]
    return Launchers(
        battery=np.concatenate([p.battery + k * n_b for k, p in enumerate(parts)]),
        stock=np.concatenate([p.stock for p in parts]),
        ready_s=np.concatenate([p.ready_s for p in parts]),
        reserve=np.concatenate([p.reserve for p in parts]),
    )


def _same(a: Any, b: Any, what: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype or (a.size == 0 and b.size == 0), (what, a.dtype, b.dtype)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    eq = np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    assert eq, (what, a, b)
    assert a.tobytes() == b.tobytes() or a.dtype.kind == "f", what


def _check_decision(cfg: str, seeds: tuple[int, ...], t: float, dry: int | None = None) -> bool:
    """decide_batch (and log_held_batch) at `t` against the recorded single decisions.

    `dry`: this replication's launchers are emptied first (the single decision is
    then recomputed; the held log is not compared).
    """
    pipe = _pipe(cfg)
    recs = [_record(cfg, s)[t] for s in seeds]
    args = [r["args"] for r in recs]
    if dry is not None:
        a = list(args[dry])
        a[5] = replace(a[5], stock=np.zeros_like(a[5].stock))
        args[dry] = tuple(a)
        recs = [{"args": x, "out": stepmod._decide(*x)} for x in args]
    tracks, trep = _join_tracks([a[2] for a in args])
    inflight, irep = _join_inflight([a[3] for a in args])
    waiting = np.concatenate([a[4] for a in args]).astype(np.int64)
    wrep = np.repeat(np.arange(len(seeds)), [a[4].size for a in args])
    launchers = _join_launchers([a[5] for a in args])
    first = np.array([a[6] for a in args], dtype=np.int64)
    bat_tiled = db.tile_batteries(pipe.params.batteries, len(seeds))
    new, nrep, ln, score, rank, reason = db.decide_batch(
        pipe, t, tracks, trep, inflight, irep, waiting, wrep, launchers, bat_tiled, first,
        len(seeds),
    )  # fmt: skip
    outs = [r["out"] for r in recs]
    if dry is not None:  # the emptied replication held its candidates for want of a launcher
        assert (outs[dry][4] == stepmod.fc.HOLD_LAUNCHER).any()
    want_new, want_rep = _join_inflight([o[0] for o in outs])
    for f in fields(InFlight):
        _same(getattr(new, f.name), getattr(want_new, f.name), f"new.{f.name}")
    _same(nrep, want_rep, "rep")
    want_ln = _join_launchers([o[1] for o in outs])
    for f in fields(Launchers):
        _same(getattr(ln, f.name), getattr(want_ln, f.name), f"launchers.{f.name}")
    _same(score, np.concatenate([o[2] for o in outs]), "score")
    _same(rank, np.concatenate([o[3] for o in outs]), "rank")
    _same(reason, np.concatenate([o[4] for o in outs]), "reason")
    if dry is not None:
        return bool(new.n)
    # held events and record
    helds = [r["held"] for r in recs]
    prev_track = np.concatenate([h[0][2] for h in helds]).astype(np.int64)
    prev_logged = np.concatenate([h[0][3] for h in helds]).astype(np.int64)
    prev_rep = np.repeat(np.arange(len(seeds)), [h[0][2].size for h in helds])
    rows, ids, logged, hrep = db.log_held_batch(
        pipe, t, tracks, trep, reason, prev_track, prev_logged, prev_rep
    )
    _same(ids, np.concatenate([h[1][0] for h in helds]), "held ids")
    _same(logged, np.concatenate([h[1][1] for h in helds]), "held logged")
    _same(hrep, np.repeat(np.arange(len(seeds)), [h[1][0].size for h in helds]), "held rep")
    parts = [(k, p) for k, h in enumerate(helds) for p in h[2]]
    _same(
        rows.track_id,
        np.concatenate([p["track_id"] for _, p in parts] or [[]]).astype(np.int64),
        "held track",
    )
    if parts:
        _same(rows.threat_id, np.concatenate([p["threat_id"] for _, p in parts]), "held threat")
        _same(rows.note, np.concatenate([p["note"] for _, p in parts]), "held note")
        _same(rows.pos_m[:, 0], np.concatenate([p["x_m"] for _, p in parts]), "held x")
        _same(
            rows.rep, np.concatenate([np.full(p["track_id"].size, k) for k, p in parts]), "held rep"
        )
    return bool(new.n)


@pytest.mark.parametrize("cfg", sorted(CONFIGS))
def test_decide_batch_equals_single(cfg: str) -> None:
    assert db.supports_batch(_pipe(cfg))
    for n_reps, seeds in REPS.items():  # one test per scenario: its runs recorded once
        times = sorted(set.intersection(*(set(_record(cfg, s)) for s in seeds)))
        assert times
        # every decision with a launch in one of the replications, every 4th of the rest
        busy = [t for t in times if any(_record(cfg, s)[t]["out"][0].n for s in seeds)]
        launched = 0
        for t in sorted(set(busy) | set(times[::4])):
            launched += _check_decision(cfg, seeds, t)
        assert launched > 0, n_reps  # the comparison saw launches


def test_decide_batch_dry_replication() -> None:
    """A replication whose launchers are all empty holds its candidates; the others fire."""
    cfg = "default-kinematic-greedy"
    seeds = REPS[3]
    times = sorted(set.intersection(*(set(_record(cfg, s)) for s in seeds)))
    busy = [t for t in times if any(_record(cfg, s)[t]["out"][0].n for s in seeds)]
    assert sum(_check_decision(cfg, seeds, t, dry=1) for t in busy[:6]) > 0


def test_tile_launchers() -> None:
    bat = _pipe("saturation-kinematic-greedy").params.batteries
    a = db.tile_launchers(Launchers.from_params(bat), 3)
    b = Launchers.from_params(db.tile_batteries(bat, 3))
    for f in fields(Launchers):
        _same(getattr(a, f.name), getattr(b, f.name), f.name)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_reps=st.integers(1, 5))
def test_slots_and_reloads_equal_single(seed: int, n_reps: int) -> None:
    rng = np.random.default_rng(seed)
    bat = _pipe("saturation-kinematic-greedy").params.batteries
    n_b, n_m = bat.load.shape
    bat = replace(bat, launch_interval_s=rng.choice([0.0, 2.0, 3.5], n_b))
    parts = []
    for _ in range(n_reps):
        ln = Launchers.from_params(bat)
        stock = ln.stock * (rng.random(ln.stock.shape) < 0.5)
        ready = rng.choice([0.0, 5.0, 7.0, 20.0], ln.ready_s.shape)
        reserve = rng.integers(0, 6, ln.reserve.shape)
        parts.append(Launchers(ln.battery, stock, ready, reserve))
    tiled = db.tile_batteries(bat, n_reps)
    joined = _join_launchers(parts)
    t = 6.0
    ln_b, started = db.start_reloads_batch(joined, tiled, t)
    singles = [start_reloads(p, bat, t) for p in parts]
    want = _join_launchers([s[0] for s in singles])
    n_l = parts[0].battery.size
    for f in fields(Launchers):
        _same(getattr(ln_b, f.name), getattr(want, f.name), f.name)
    _same(started, np.concatenate([s[1] + k * n_l for k, s in enumerate(singles)]), "started")
    # launch slots on the reloaded launchers
    gs, ms, res = [], [], []
    for k, s in enumerate(singles):
        n = int(rng.integers(0, 12))
        b = rng.integers(0, n_b, n)
        m = rng.integers(0, n_m, n)
        order = np.lexsort((m, b)) if rng.random() < 0.5 else np.arange(n)
        b, m = b[order], m[order]
        res.append(allocate_slots(s[0], bat, b, m, t + bat.reaction_s[b]))
        gs.append(b + k * n_b)
        ms.append(m)
    g, m = np.concatenate(gs), np.concatenate(ms)
    launcher, t_launch = db.allocate_slots_batch(ln_b, tiled, g, m, t + tiled.reaction_s[g])
    want_l = np.concatenate([np.where(r[0] >= 0, r[0] + k * n_l, -1) for k, r in enumerate(res)])
    _same(launcher, want_l, "launcher")
    _same(t_launch, np.concatenate([r[1] for r in res]), "t_launch")


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_reps=st.integers(1, 4))
def test_greedy_kernel_equals_greedy_planner(seed: int, n_reps: int) -> None:
    rng = np.random.default_rng(seed)
    mis = _pipe("saturation-kinematic-greedy").params.missiles
    n_m = mis.cost.size
    n_b = int(rng.integers(1, 4))
    salvo_size = int(rng.integers(1, 3))
    planner = GreedyPlanner(replace(mis, cost=rng.choice([1.0, 2.0, 5.0], n_m)), salvo_size)
    sizes = rng.integers(0, 9, n_reps)
    n = int(sizes.sum())
    crep = np.repeat(np.arange(n_reps), sizes)
    cut = np.concatenate([[0], np.cumsum(sizes)])
    feasible = rng.random((n, n_b, n_m)) < 0.5
    # coarse times: ties of preference are common
    t_rel = rng.choice([10.0, 20.0, 30.0, np.inf], (n, n_b, n_m))
    stock = rng.integers(0, 7, (n_reps, n_b, n_m))
    tch = rng.integers(0, 4, (n_reps, n_b))
    mch = rng.integers(0, 8, (n_reps, n_b))
    orders = [rng.permutation(s) + cut[k] for k, s in enumerate(sizes)]
    order = np.concatenate(orders).astype(np.int64)
    option = db.greedy_plan_batch(planner, order, cut, feasible, t_rel, stock, tch, mch, crep)
    salvo = np.full(n, salvo_size)
    for k in range(n_reps):
        s = slice(cut[k], cut[k + 1])
        if sizes[k] == 0:
            continue
        plan = planner.plan(
            PlanRequest(
                np.zeros(sizes[k]),
                orders[k] - cut[k],
                salvo[s],
                feasible[s],
                t_rel[s],
                stock[k],
                tch[k],
                mch[k],
            )  # fmt: skip
        )
        want = np.full(sizes[k], -1)
        want[plan.rows] = plan.option
        _same(option[s], want, "option")
