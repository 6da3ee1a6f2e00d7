"""Batched sensing (`engine.sense_batch`, `sensors.radar_batch`) equals the single-run code.

Replication states are real: the single engine is stepped for several seeds and
its world state (kill and evasion times) and radar streams are snapshotted at two
times; a batch of R replications mixes those snapshots. Every `Detections` field
must be byte-identical to `RadarSensor.detect` run on each replication's slice,
and every generator must end in the same state.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import yaml

from skydome.arrays import F64
from skydome.engine import sense_batch as rb
from skydome.engine.stages import RadarSensor, default_pipeline
from skydome.engine.state import SimState
from skydome.engine.step import Rngs, step
from skydome.scenario import builtin_text, compile_scenario, load_scenario
from skydome.scenario.compile import SimParams
from skydome.scenario.load import parse_scenario
from skydome.sensors import radar_batch
from skydome.sensors.base import Detections
from skydome.sensors.jamming import Jammers
from skydome.sensors.radar import detect
from skydome.threats import tile_threats

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Snap:
    """One replication's state at `t_s`: what the sense stage reads."""

    t_s: float
    kill_time_s: F64
    evade_start_s: F64
    radar_rngs: tuple[np.random.Generator, ...]


def _rich_default() -> SimParams:
    """The default scenario with jammers (self-screening strike aircraft and drones),
    Swerling III raids (a mix of models), evasive breaks on every route raid, false
    alarms and an ESA engagement radar with 3 channels."""
    d = yaml.safe_load(builtin_text("default"))
    for raid in d["raids"]:
        if "route" in raid and "evasion" not in raid:  # breaks early in the run
            raid["evasion"] = {"g": 4, "duration_s": 15}
        if raid["name"] == "strike-wave":
            raid["jammer"] = {"erp_dbw": 0, "bandwidth_mhz": 500}
        elif raid["name"] == "drone-swarm":
            raid["jammer"] = {"erp_dbw": -10, "bandwidth_mhz": 100}
        elif raid["name"] == "stealth-pair":  # not Swerling 0: scipy.stats costs seconds to import
            raid["swerling"] = 3
        elif raid["name"] == "cruise-north":
            raid["swerling"] = 3
    d["radars"][0]["false_alarms_per_scan"] = 1.0
    d["radars"][2]["false_alarms_per_scan"] = 2.0
    d["radars"][2]["scan"] = "esa"
    d["radars"][2]["track_channels"] = 3
    return compile_scenario(parse_scenario(yaml.safe_dump(d, sort_keys=False)))


SCENARIOS = {
    # name: (params factory, seeds, snapshot times)
    "default": (lambda: compile_scenario(load_scenario("default")), (1, 2, 3), (100.0, 180.0)),
    "saturation": (lambda: compile_scenario(load_scenario("saturation")), (1, 2), (100.0, 180.0)),
    "jammed": (_rich_default, (4, 5), (150.0, 240.0)),
    "ballistic-raid": (
        lambda: compile_scenario(load_scenario(str(HERE / "scenarios" / "ballistic_raid.yaml"))),
        (1, 2),
        (200.0, 280.0),
    ),
}


@cache
def _world(name: str) -> tuple[SimParams, RadarSensor, tuple[Snap, ...]]:
    """The scenario, its sensor stage and a snapshot per (seed, time), latest time first."""
    make, seeds, times = SCENARIOS[name]
    params = make()
    pipe = default_pipeline(params)
    snaps: list[Snap] = []
    for seed in seeds:
        rngs = Rngs.from_seed(seed, params.radars.names)
        state = SimState.initial(params, pipe.flyout.empty())
        k = 0
        for t_snap in times:
            while k * params.step_s < t_snap:
                k += 1
                state, _ = step(pipe, state, k * params.step_s, rngs)
            w = state.world
            snaps.append(
                Snap(
                    t_snap, w.kill_time_s.copy(), w.evade_start_s.copy(), copy.deepcopy(rngs.radar)
                )
            )
    snaps.sort(key=lambda s: -s.t_s)
    assert isinstance(pipe.sensor, RadarSensor)
    return params, pipe.sensor, tuple(snaps)


def _single(
    sensor: RadarSensor, r: int, t: float, snap: Snap, rng: np.random.Generator
) -> tuple[F64, F64, Detections]:
    """The single engine's sense stage for one replication (engine/step.py, 3-4)."""
    th = sensor.threats
    in_sky = (th.launch_s <= t) & (t < th.end_s) & (snap.kill_time_s > t)
    pos, vel = th.state_at(t, evade_start_s=snap.evade_start_s)
    on_air = in_sky & (th.jam_erp_w > 0.0)
    jam = Jammers(pos[on_air], th.jam_erp_w[on_air], th.jam_bandwidth_hz[on_air])
    return pos, vel, sensor.detect(r, t, pos, in_sky, jam, rng)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _check_batch(
    sensor: RadarSensor, t: float, snaps: list[Snap], kill: list[F64] | None = None
) -> list[int]:
    """Batch vs loop at `t` for every radar; returns the detections per radar."""
    th, n, n_reps = sensor.threats, sensor.threats.n, len(snaps)
    if kill is not None:
        snaps = [
            Snap(s.t_s, k, s.evade_start_s, s.radar_rngs) for s, k in zip(snaps, kill, strict=True)
        ]
    kill_all = np.concatenate([s.kill_time_s for s in snaps])
    evade_all = np.concatenate([s.evade_start_s for s in snaps])
    pos, vel = rb.truth_batch(th, t, evade_all, n_reps)
    in_sky = rb.in_sky_batch(th, t, kill_all, n_reps)
    jam, jam_rep = rb.jammers_batch(th, pos, in_sky, n_reps)
    assert np.all(np.diff(jam_rep) >= 0)
    n_det = []
    for r in range(sensor.radars.n):
        loop_rngs = [copy.deepcopy(s.radar_rngs[r]) for s in snaps]
        batch_rngs = [copy.deepcopy(s.radar_rngs[r]) for s in snaps]
        det, rep = rb.detect_batch(sensor, r, t, pos, in_sky, jam, jam_rep, batch_rngs, n_reps)
        assert det.time_s == t and det.radar == r
        assert rep.dtype == np.int64 and np.all(np.diff(rep) >= 0)
        for k, snap in enumerate(snaps):
            p1, v1, d1 = _single(sensor, r, t, snap, loop_rngs[k])
            rows = slice(k * n, (k + 1) * n)
            assert _same(pos[rows], p1) and _same(vel[rows], v1)
            mine = rep == k
            for f in ("pos_m", "cov_m2", "polar", "truth"):
                assert _same(getattr(det, f)[mine], getattr(d1, f)), (r, k, f)
            assert loop_rngs[k].bit_generator.state == batch_rngs[k].bit_generator.state
        n_det.append(det.n)
    return n_det


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scan_equals_single_replications(name: str) -> None:
    """R = 1, 3, 5 replications at distinct states (kills, evasive-break starts)."""
    _, sensor, snaps = _world(name)
    states = {s.kill_time_s.tobytes() + s.evade_start_s.tobytes() for s in snaps}
    assert len(states) >= 2
    if name != "ballistic-raid":  # nothing is killed there this early
        assert len({s.kill_time_s.tobytes() for s in snaps}) >= 2
    assert any(np.isfinite(s.evade_start_s).any() for s in snaps)
    for n_reps in (1, 3, 5):
        picked = [snaps[i % len(snaps)] for i in range(n_reps)]
        t = max(s.t_s for s in picked)
        assert sum(_check_batch(sensor, t, picked)) > 0  # something seen: the test can fail


def test_jammers_only_jam_their_own_replication() -> None:
    """Replications with all, some and none of their jammers alive, in one batch."""
    params, sensor, snaps = _world("jammed")
    th = sensor.threats
    t = snaps[0].t_s
    carriers = np.flatnonzero(th.jam_erp_w > 0.0)
    picked = [snaps[0], snaps[1], snaps[2], snaps[0]]
    kill = [s.kill_time_s.copy() for s in picked]
    kill[1][carriers] = 0.0  # all its jammers dead
    kill[2][carriers[::2]] = 0.0  # half of them
    _check_batch(sensor, t, picked, kill)
    # Jamming matters here: without it some scan of a replication would differ.
    differs = False
    for r in range(params.radars.n):
        rng_a, rng_b = copy.deepcopy(snaps[0].radar_rngs[r]), copy.deepcopy(snaps[0].radar_rngs[r])
        in_sky = (th.launch_s <= t) & (t < th.end_s) & (snaps[0].kill_time_s > t)
        pos, _ = th.state_at(t, evade_start_s=snaps[0].evade_start_s)
        on = in_sky & (th.jam_erp_w > 0.0)
        assert on.any()
        a = sensor.detect(
            r, t, pos, in_sky, Jammers(pos[on], th.jam_erp_w[on], th.jam_bandwidth_hz[on]), rng_a
        )
        b = sensor.detect(r, t, pos, in_sky, Jammers.empty(), rng_b)
        differs |= not _same(a.polar, b.polar)
    assert differs


def test_esa_channels_and_false_alarms_per_replication() -> None:
    """The ESA radar's channel limit binds in some replications and not in others."""
    _, sensor, snaps = _world("jammed")
    esa = int(np.flatnonzero(sensor.radars.esa)[0])
    channels = int(sensor.radars.track_channels[esa])
    t = snaps[0].t_s
    kill = [s.kill_time_s.copy() for s in snaps[:3]]
    kill[1][:] = 0.0  # nothing in the sky: false alarms fill every channel
    n_det = _check_batch(sensor, t, list(snaps[:3]), kill)
    assert 0 < n_det[esa] <= 3 * channels


def test_early_time_before_launches() -> None:
    """At t = 1 s most threats are not launched yet (start points, zero velocity)."""
    _, sensor, snaps = _world("default")
    _check_batch(sensor, 1.0, list(snaps[:3]))


def test_tile_threats_rows() -> None:
    params = compile_scenario(load_scenario(str(HERE / "scenarios" / "ballistic_raid.yaml")))
    th = params.threats
    tt = tile_threats(th, 3)
    assert tt is tile_threats(th, 3)
    assert tt.n == 3 * th.n
    np.testing.assert_array_equal(tt.wp_m[2 * th.n :], th.wp_m)
    np.testing.assert_array_equal(tt.reentry_row[th.n : 2 * th.n], th.reentry_row)
    assert tt.drag_t_s is th.drag_t_s
    assert rb.supports_batch(default_pipeline(params).sensor)
    assert not rb.supports_batch(object())


@pytest.mark.parametrize("name", ["jammed"])
def test_scan_during_evasive_breaks(name: str) -> None:
    """At a time when some replications' threats are in their evasive break (their
    positions differ from the other replications'), truth and scans still match."""
    _, sensor, snaps = _world(name)
    th, n = sensor.threats, sensor.threats.n
    picked = list(snaps[:5])
    ev = np.concatenate([s.evade_start_s for s in picked])
    dur = np.tile(th.evade_dur_s, len(picked))
    amp = np.tile(th.evade_amp_m, len(picked))
    fits = ev + dur <= np.tile(th.end_s, len(picked))  # a break that would outlast the route: none
    can = np.flatnonzero(np.isfinite(ev) & (amp > 0.0) & fits)
    first = int(can[np.argmin(ev[can])])
    t = float(ev[first] + 0.3 * dur[first])
    breaking = (t - ev > 0.0) & (t - ev < dur) & (amp > 0.0) & fits
    assert 0 < breaking.sum() < breaking.size
    pos, _ = rb.truth_batch(th, t, ev, len(picked))
    bits = pos.view(np.int64).reshape(len(picked), n, 3)
    assert not (bits == bits[:1]).all()  # replications' positions differ
    _check_batch(sensor, t, picked)


def test_sensor_kernel_carries_ids_and_checks_shapes() -> None:
    """`sensors.radar_batch.detect_batch` against `radar.detect` with other ids, and a
    batch whose rows do not match R x N is refused."""
    _, sensor, snaps = _world("jammed")
    th, n, t = sensor.threats, sensor.threats.n, snaps[0].t_s
    picked = list(snaps[:2])
    ids = np.arange(n, dtype=np.int64) * 7 + 100
    ev = np.concatenate([s.evade_start_s for s in picked])
    pos, _ = rb.truth_batch(th, t, ev, 2)
    in_sky = rb.in_sky_batch(th, t, np.concatenate([s.kill_time_s for s in picked]), 2)
    jam, jam_rep = rb.jammers_batch(th, pos, in_sky, 2)
    gens = [copy.deepcopy(s.radar_rngs[0]) for s in picked]
    det, rep = radar_batch.detect_batch(
        sensor.radars, 0, t, pos, th.rcs_m2, ids, gens, in_sky, th.swerling, jam, jam_rep
    )
    for k, s in enumerate(picked):
        rows = slice(k * n, (k + 1) * n)
        on = in_sky[rows] & (th.jam_erp_w > 0.0)
        one = detect(
            sensor.radars, 0, t, pos[rows], th.rcs_m2, ids, copy.deepcopy(s.radar_rngs[0]),
            in_sky[rows], th.swerling,
            Jammers(pos[rows][on], th.jam_erp_w[on], th.jam_bandwidth_hz[on]),
        )  # fmt: skip
        assert _same(det.truth[rep == k], one.truth) and _same(det.cov_m2[rep == k], one.cov_m2)
    with pytest.raises(ValueError, match="rows"):
        radar_batch.detect_batch(
            sensor.radars, 0, t, pos[:-1], th.rcs_m2, ids, gens, in_sky, th.swerling, jam, jam_rep
        )


def test_swerling_mix_with_steady_targets() -> None:
    """Swerling 0, I and III targets in one scan (scipy's Marcum Q for Swerling 0), the
    replications' skies differing; positions of the default raid at 400 s, no stepping."""
    params = compile_scenario(load_scenario("default"))
    th, n, n_reps = params.threats, params.threats.n, 3
    pos1, _ = th.state_at(400.0)
    pos = np.tile(pos1, (n_reps, 1))
    pos[n + 5] += 10.0  # one replication's threat elsewhere: its geometry is its own
    sky = np.random.default_rng(0).random(n * n_reps) < 0.8
    swerling = np.array([0, 1, 3], dtype=np.int64)[np.arange(n) % 3]
    ids = np.arange(n, dtype=np.int64)
    jam = Jammers(pos[[2, 3, 2 * n + 1]], np.array([1.0, 5.0, 2.0]), np.array([1e8, 1e8, 5e7]))
    jam_rep = np.array([0, 0, 2], dtype=np.int64)
    steady_seen = 0
    for r in range(params.radars.n):
        gens = [np.random.default_rng([r, k]) for k in range(n_reps)]
        det, rep = radar_batch.detect_batch(
            params.radars, r, 400.0, pos, th.rcs_m2, ids, gens, sky, swerling, jam, jam_rep
        )
        for k in range(n_reps):
            rows = slice(k * n, (k + 1) * n)
            mine = jam_rep == k
            g1 = np.random.default_rng([r, k])
            one = detect(
                params.radars, r, 400.0, pos[rows], th.rcs_m2, ids, g1, sky[rows], swerling,
                Jammers(jam.pos_m[mine], jam.erp_w[mine], jam.bandwidth_hz[mine]),
            )  # fmt: skip
            for f in ("pos_m", "cov_m2", "polar", "truth"):
                assert _same(getattr(det, f)[rep == k], getattr(one, f)), (r, k, f)
            assert gens[k].bit_generator.state == g1.bit_generator.state
        steady_seen += int((swerling[det.truth[det.truth >= 0]] == 0).sum())
    assert steady_seen > 0
