"""Networked and autonomous batteries (issue 15, item 4): who may engage which track.

Oracles by construction: an autonomous battery launches only at tracks its own
radars updated within the doctrine's track age; a networked battery at a track
only other units' radars hold only `cue_delay_s` after their first update; a
cue delay longer than the run makes a networked regiment fight exactly as an
autonomous one (byte-identical events); engage-on-remote lets the regiment's
all-round surveillance radar guide shots at drones behind every engagement
radar's sector, which no other rule can engage.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from skydome import compile_scenario, load_scenario, simulate
from skydome.engagement.params import BatteryParams
from skydome.engine.network import RadarTrackTimes, engage_mask, network_active
from skydome.engine.stages import default_pipeline
from skydome.engine.state import SimState
from skydome.engine.step import Rngs, step
from skydome.events import EVENT_KINDS, Events
from skydome.scenario import builtin_names
from skydome.scenario.compile import SimParams
from tests.conftest import RUN_SEEDS
from tests.test_engine import check_invariants

LAUNCH = EVENT_KINDS.index("launch")


def _regiment(
    network: str, cue_delay_s: float | None = None, duration_s: float = 900.0
) -> SimParams:
    s = load_scenario("regiment")
    doc = s.doctrine.model_copy(update={"network": network})
    bats = s.batteries
    if cue_delay_s is not None:
        bats = [b.model_copy(update={"cue_delay_s": cue_delay_s}) for b in bats]
    run = s.run.model_copy(update={"duration_s": duration_s})
    return compile_scenario(s.model_copy(update={"doctrine": doc, "batteries": bats, "run": run}))


def _bat(organic: list[list[bool]], cue: list[float]) -> BatteryParams:
    n = len(organic)
    z = np.zeros(n)
    zi = np.zeros(n, dtype=np.int64)
    return BatteryParams(
        names=tuple(f"b{i}" for i in range(n)), pos_m=np.zeros((n, 3)), launchers=zi,
        inventory=zi[:, None], load=zi[:, None], reserve=zi[:, None], reload_s=z, fc_radar=zi,
        target_channels=zi, missile_channels=zi, reaction_s=z, launch_interval_s=z,
        organic=np.array(organic, dtype=bool), cue_delay_s=np.array(cue),
    )  # fmt: skip


def test_engage_mask_by_hand() -> None:
    """Two batteries (own radar 0; own radar 1, cue 10 s), three tracks, at t = 100 s."""
    bat = _bat([[True, False], [False, True]], [0.0, 10.0])
    times = RadarTrackTimes(
        track_id=np.array([7, 3, 5]),
        # track 7: radar 0 since 50 s, now; track 3: radar 1 only, from 95 s;
        # track 5: radar 0 stale (last 90 s), radar 1 from 80 s.
        first_s=np.array([[50.0, np.inf], [np.inf, 95.0], [60.0, 80.0]]),
        last_s=np.array([[100.0, -np.inf], [-np.inf, 99.0], [90.0, 100.0]]),
    )
    ids = np.array([3, 5, 7, 9])  # another order, and a track never seen
    auto = engage_mask(times, ids, bat, True, 100.0, 5.0)
    # autonomous: b0 holds 7 fresh (5 stale); b1 holds 3 and 5.
    assert auto.tolist() == [[False, True], [False, True], [True, False], [False, False]]
    net = engage_mask(times, ids, bat, False, 100.0, 5.0)
    # networked: b0 (no delay) engages 3 and 5 on radar 1's cue; b1 engages 7 only
    # 10 s after radar 0 first saw it (50 + 10 <= 100) and 5 on its own radar.
    assert net.tolist() == [[True, True], [True, True], [True, True], [False, False]]
    late = engage_mask(
        times, ids, _bat([[True, False], [False, True]], [0.0, 60.0]), False, 100.0, 5.0
    )
    assert late[2].tolist() == [True, False]  # 50 + 60 > 100: the cue has not arrived


def test_alignment_follows_track_ids() -> None:
    t = RadarTrackTimes(np.array([4, 2]), np.array([[1.0], [2.0]]), np.array([[3.0], [4.0]]))
    a = t.aligned(np.array([2, 9, 4]))
    assert a.first_s[:, 0].tolist() == [2.0, np.inf, 1.0]
    assert a.last_s[:, 0].tolist() == [4.0, -np.inf, 3.0]


@pytest.mark.parametrize("name", builtin_names())
def test_builtins_other_than_autonomous_keep_no_network_state(name: str) -> None:
    """The bookkeeping exists only when a rule needs it: default runs are unchanged."""
    p = compile_scenario(load_scenario(name))
    assert network_active(p.batteries, p.doctrine.network == "autonomous") == (
        name == "regiment"  # its battalions have a 10 s cue delay
    )


def _launches_with_state(p: SimParams, seed: int) -> list[tuple[float, int, int, RadarTrackTimes]]:
    """Every launch (decision time, battery, track) with the radar times at that decision."""
    pipe = default_pipeline(p)
    state = SimState.initial(p, pipe.flyout.empty())
    rngs = Rngs.from_seed(seed, p.radars.names)
    out = []
    n = int(round(p.duration_s / p.step_s))
    for i in range(1, n + 1):
        t = i * p.step_s
        state, ev = step(pipe, state, t, rngs)
        e = ev.log.finish()
        rows = np.flatnonzero(e.kind == LAUNCH)
        seen = state.c2.radar_seen
        assert seen is not None
        for j in rows:
            out.append((t, int(e.battery[j]), int(e.track_id[j]), seen))
    return out


@given(seed=st.integers(1, 10_000))
@RUN_SEEDS
def test_autonomous_batteries_fire_only_on_their_own_radars_tracks(seed: int) -> None:
    p = _regiment("autonomous")
    launches = _launches_with_state(p, seed)
    assert launches
    age = p.doctrine.max_track_age_s
    for t, b, trk, seen in launches:
        row = seen.aligned(np.array([trk]))
        own = p.batteries.organic[b]
        assert row.last_s[0, own].max() >= t - age - 1e-9, (t, b, trk)


def _remote_shots(seed: int, cue_s: float = 30.0) -> tuple[int, int]:
    """(launches at tracks the battery's own radars do not hold, those before the cue)."""
    p = _regiment("networked", cue_delay_s=cue_s)
    age = p.doctrine.max_track_age_s
    remote = early = 0
    for t, b, trk, seen in _launches_with_state(p, seed):
        row = seen.aligned(np.array([trk]))
        own = p.batteries.organic[b]
        if row.last_s[0, own].max() >= t - age - 1e-9:
            continue
        remote += 1
        early += int(row.first_s[0, ~own].min() + cue_s > t + 1e-9)
    return remote, early


@given(seed=st.integers(1, 10_000))
@RUN_SEEDS
def test_networked_batteries_wait_for_the_cue_on_remote_tracks(seed: int) -> None:
    """Every launch at a track only other units' radars hold comes >= the cue delay after
    their first update (remote launches are rare: about two a run, none in some)."""
    _, early = _remote_shots(seed)
    assert early == 0


def test_remote_launches_happen_and_wait_for_the_cue() -> None:
    """Seed 1 has remote launches (the rule above is not vacuous), all after the cue."""
    remote, early = _remote_shots(1)
    assert remote > 0 and early == 0


def _events_bytes(p: SimParams, seed: int) -> bytes:
    ev = simulate(p, seed=seed).events
    return b"".join(np.ascontiguousarray(getattr(ev, f.name)).tobytes() for f in fields(ev))


def test_a_cue_longer_than_the_run_is_autonomy() -> None:
    """No remote track ever reaches a battery: the networked run is the autonomous one."""
    never = _regiment("networked", cue_delay_s=3600.0, duration_s=1200.0)
    alone = _regiment("autonomous", duration_s=1200.0)
    assert _events_bytes(never, 3) == _events_bytes(alone, 3)
    # ... and the cue delay matters at all: with none the networked regiment differs.
    assert _events_bytes(_regiment("networked", 0.0, 1200.0), 3) != _events_bytes(alone, 3)


def test_engage_on_remote_reaches_the_drones_behind_the_sectors() -> None:
    """drone-rear comes from the east, outside every engagement radar's 180 deg sector."""
    for net, engaged in (("networked", False), ("autonomous", False), ("engage_on_remote", True)):
        p = _regiment(net, duration_s=1200.0)
        r = simulate(p, seed=1)
        check_invariants(r)
        rear = np.flatnonzero(np.asarray(p.threats.raid_index) == _raid(p, "drone-rear"))
        e = r.events
        shot = np.isin(e.threat_id[e.kind == LAUNCH], rear).any()
        assert shot == engaged, net


def _raid(p: SimParams, name: str) -> int:
    s = load_scenario("regiment")
    return [r.name for r in s.raids].index(name)


@given(seed=st.integers(1, 10_000))
@RUN_SEEDS
def test_regiment_invariants_in_every_mode(seed: int) -> None:
    for net in ("networked", "autonomous", "engage_on_remote"):
        check_invariants(simulate(_regiment(net, duration_s=1200.0), seed=seed))


def test_unknown_battery_radar_is_a_clear_error(tmp_path: Path) -> None:
    from skydome.scenario.builtin import builtin_text

    d = yaml.safe_load(builtin_text("regiment"))
    d["batteries"][1]["radars"] = ["engagement-centre", "no-such-radar"]
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(d))
    out = subprocess.run(
        [sys.executable, "-m", "skydome", "run", str(f), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "batteries[1].radars[1]" in out.stderr or "batteries.1.radars.1" in out.stderr
    assert "no-such-radar" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "o").exists()


def _sead(network: str, duration_s: float = 900.0) -> SimParams:
    """sead with the engagement radar (the battalion's fire control) on 60 s, off 60 s."""
    s = load_scenario("sead")
    radars = list(s.radars)
    assert radars[2].name == "engagement"
    em = radars[2].emission
    assert em is not None
    on_off = em.model_copy(update={"mode": "scheduled", "on_s": 60.0, "off_s": 60.0})
    radars[2] = radars[2].model_copy(update={"emission": on_off})
    doc = s.doctrine.model_copy(update={"network": network})
    run = s.run.model_copy(update={"duration_s": duration_s})
    return compile_scenario(s.model_copy(update={"radars": radars, "doctrine": doc, "run": run}))


def _off_windows(e: Events, radar: int, end_s: float) -> list[tuple[float, float]]:
    """(off, on) times of radar `radar` from its radar_off / radar_on events."""
    kinds, times, rad = e.kind, e.time_s, e.radar
    off = times[(kinds == EVENT_KINDS.index("radar_off")) & (rad == radar)]
    on = times[(kinds == EVENT_KINDS.index("radar_on")) & (rad == radar)]
    out = []
    for t0 in off:
        later = on[on > t0]
        out.append((float(t0), float(later[0]) if later.size else end_s))
    return out


@given(seed=st.integers(1, 10_000))
@RUN_SEEDS
def test_a_quiet_fire_control_radar_grounds_its_battery_unless_another_guides(seed: int) -> None:
    """No launch while the battery's fire-control radar is off (networked: it guides its own
    shots); with engage_on_remote the surveillance radar guides shots in those windows."""
    launches_in_off = {}
    for net in ("networked", "engage_on_remote"):
        p = _sead(net)
        r = simulate(p, seed=seed)
        check_invariants(r)
        e = r.events
        windows = _off_windows(e, 2, p.duration_s)
        assert len(windows) >= 5  # the schedule: off at 60, 180, 300, ... s
        t_launch = e.time_s[e.kind == LAUNCH]
        # A launch is logged at its launch time, after the reaction time of the decision
        # that chose it: test the decision time (launch - reaction, at most).
        t_decide = t_launch - p.batteries.reaction_s[0]
        inside = np.zeros(t_decide.size, dtype=bool)
        for a, b in windows:
            inside |= (t_decide > a + p.doctrine.decision_period_s) & (t_decide < b - 1e-9)
        launches_in_off[net] = int(inside.sum())
    assert launches_in_off["networked"] == 0
    assert launches_in_off["engage_on_remote"] > 0


def test_regiment_runs_from_the_command_line(tmp_path: Path) -> None:
    """run, report, mc and the study of the docs (a sweep over the network rule)."""
    import json

    from tests.cli import sky

    run_dir, mc_dir, sweep_dir = tmp_path / "run", tmp_path / "mc", tmp_path / "sweep"
    out = sky("run", "regiment", "--out", str(run_dir))
    assert out.returncode == 0, out.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["scenario"] == "regiment" and summary["missiles"]["fired"] > 0
    out = sky("report", str(run_dir))
    assert out.returncode == 0, out.stderr
    html = (run_dir / "report.html").read_text()
    for name in ("battalion-north", "battalion-centre", "battalion-south"):
        assert name in html
    out = sky("mc", "regiment", "-n", "2", "--jobs", "1", "--out", str(mc_dir))
    assert out.returncode == 0, out.stderr
    out = sky(
        "sweep", "regiment", "--set", "doctrine.network=autonomous,engage_on_remote", "-n", "1",
        "--jobs", "1", "--out", str(sweep_dir),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = pq.read_table(sweep_dir / "replications.parquet").to_pandas()
    assert sorted(rows["doctrine.network"]) == ["autonomous", "engage_on_remote"]


def test_each_radar_is_credited_only_with_the_tracks_its_own_scan_updated() -> None:
    """regiment: five radars, several scanning in the same tick (periods 10, 5, 2, 2, 2 s).
    A (track, radar) update at t needs a detection of that track's threat by that radar at
    t. Crediting every track updated at t (by any radar) gave 43 % wrong marks."""
    p = _regiment("autonomous", duration_s=400.0)
    pipe = default_pipeline(p)
    state = SimState.initial(p, pipe.flyout.empty())
    rngs = Rngs.from_seed(1, p.radars.names)
    marks = wrong = 0
    for i in range(1, int(p.duration_s / p.step_s) + 1):
        t = i * p.step_s
        state, ev = step(pipe, state, t, rngs)
        seen = state.c2.radar_seen
        assert seen is not None
        tab = seen.aligned(state.picture.track_id)
        truth = state.picture.truth
        by_radar = {int(d.radar): set(d.truth[d.truth >= 0].tolist()) for d in ev.detections}
        rows, radars = np.nonzero(tab.last_s == t)
        for k, r in zip(rows.tolist(), radars.tolist(), strict=True):
            if truth[k] < 0:
                continue  # a false track: no threat to check against
            marks += 1
            wrong += int(truth[k] not in by_radar.get(r, set()))
    assert marks > 1000
    assert wrong == 0
