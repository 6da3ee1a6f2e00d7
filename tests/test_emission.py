"""Radar emission control: schedules, switches, silences, and their cost (issue 15).

Oracles, by hand: a radar scheduled on 20 s / off 30 s from offset 5 s is off
at t = 0 (phase (0 - 5) mod 50 = 45 >= 20), on at 5, off at 25, on at 55, off
at 75, ...; its last emission at t = 40 was at 25, at t = 60 it is t itself.
A silent radar scans nothing; its on/off events alternate on that schedule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import yaml

from skydome.engine import simulate
from skydome.errors import ScenarioError
from skydome.events import EVENT_KINDS
from skydome.scenario import compile_scenario
from skydome.scenario.load import parse_scenario
from skydome.sensors.emission import (
    BLINK,
    SCHEDULED,
    EmissionParams,
    EmissionState,
    blink_trigger,
    emitting,
    last_emission_s,
    schedule_on,
    switches,
)
from tests.conftest import SMALL, dump

K = {k: i for i, k in enumerate(EVENT_KINDS)}


def params(mode: int, on: float, off: float, offset: float) -> EmissionParams:
    """Radar 0 always on, radar 1 in `mode`."""
    return EmissionParams(
        mode=np.array([0, mode]),
        on_s=np.array([np.inf, on]),
        off_s=np.array([0.0, off]),
        offset_s=np.array([0.0, offset]),
    )


def test_schedule_by_hand() -> None:
    ep = params(SCHEDULED, 20.0, 30.0, 5.0)
    t = np.array([0.0, 4.9, 5.0, 24.9, 25.0, 54.9, 55.0, 74.9, 75.0])
    on = schedule_on(ep, t)
    assert on.shape == (2, t.size)
    assert on[0].all()
    assert on[1].tolist() == [False, False, True, True, False, False, True, True, False]
    sw = switches(ep, EmissionState.initial(ep, 0), 0.0, 100.0)
    order = np.argsort(sw.time_s)
    assert sw.time_s[order].tolist() == [0.0, 5.0, 25.0, 55.0, 75.0]
    assert sw.on[order].tolist() == [False, True, False, True, False]
    assert (sw.radar == 1).all()
    # Half-open steps: a switch at a step's end belongs to that step only.
    assert switches(ep, EmissionState.initial(ep, 0), 5.0, 25.0).time_s.tolist() == [25.0]
    st = EmissionState.initial(ep, 0)
    last = last_emission_s(ep, st, np.array([40.0, 60.0, 40.0]), np.array([1, 1, 0]))
    assert last.tolist() == [25.0, 60.0, 40.0]


def test_destroyed_and_blink_silences() -> None:
    ep = params(BLINK, np.inf, 30.0, 0.0)
    st = EmissionState.initial(ep, 0)
    # A fresh ARM track at t = 10 silences the blink radar (only it) until 40.
    st, go = blink_trigger(ep, st, 10.0, np.array([10.0]))
    assert go.tolist() == [1]
    assert emitting(ep, st, 20.0).tolist() == [True, False]
    assert emitting(ep, st, 40.0).tolist() == [True, True]
    assert last_emission_s(ep, st, np.array([35.0]), np.array([1])).tolist() == [10.0]
    sw = switches(ep, st, 39.0, 41.0)
    assert sw.time_s.tolist() == [40.0] and sw.on.tolist() == [True]
    # Back on at 40: a track last updated before then does not silence it again.
    _, go = blink_trigger(ep, st, 41.0, np.array([12.0]))
    assert go.size == 0
    _, go = blink_trigger(ep, st, 41.0, np.array([41.0]))
    assert go.tolist() == [1]
    # Not at the instant it came on (it emits one step at least).
    _, go = blink_trigger(ep, st, 40.0, np.array([40.0]))
    assert go.size == 0
    # Destroyed at 50: silent for good, last emission 50, no switch after.
    dead = EmissionState(np.array([50.0, np.inf]), st.silent_from_s, st.silent_until_s,
                         st.arm_acquired)  # fmt: skip
    assert emitting(ep, dead, 60.0).tolist() == [False, True]
    assert last_emission_s(ep, dead, np.array([70.0]), np.array([0])).tolist() == [50.0]


def scheduled_run(on: float, off: float, offset: float, seed: int = 1) -> Any:
    d = yaml.safe_load(SMALL)
    d["radars"][0]["emission"] = {"mode": "scheduled", "on_s": on, "off_s": off,
                                  "offset_s": offset}  # fmt: skip
    p = compile_scenario(parse_scenario(dump(d), "emission.yaml"))
    return simulate(p, seed=seed, record_detections=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_scheduled_radar_scans_only_while_on_and_events_alternate(seed: int) -> None:
    r = scheduled_run(40.0, 60.0, 10.0, seed)
    on = schedule_on(r.params.emission, np.array([x.time_s for x in r.detections]))
    assert on[0].all()  # every scan made falls in an emitting window
    assert len(r.detections) > 0
    ev = r.events
    sel = (ev.kind == K["radar_off"]) | (ev.kind == K["radar_on"])
    kinds = ev.kind[sel]
    assert (kinds[0::2] == K["radar_off"]).all() and (kinds[1::2] == K["radar_on"]).all()
    times = ev.time_s[sel]
    # off at 0 (phase 90 >= 40), then on at 10 + 100 k, off at 50 + 100 k.
    expect = np.sort(np.r_[0.0, np.arange(10.0, 600.0, 100.0), np.arange(50.0, 600.0, 100.0)])
    assert times.tolist() == expect[expect <= 600.0].tolist()


def test_silence_costs_detections_and_tracks() -> None:
    """The same raid seen by an always-on radar and one on 1/4 of the time: fewer scans,
    the jets first detected no earlier, and tracks lost while the radar is silent."""
    d = yaml.safe_load(SMALL)
    always = simulate(compile_scenario(parse_scenario(dump(d), "a.yaml")), seed=1,
                      record_detections=True)  # fmt: skip
    quiet = scheduled_run(20.0, 60.0, 0.0)
    assert len(quiet.detections) < 0.4 * len(always.detections)
    assert (quiet.first_detect_s >= always.first_detect_s).all()
    lost = quiet.events.kind == K["track_lost"]
    assert lost.sum() > (always.events.kind == K["track_lost"]).sum()


@pytest.mark.parametrize(
    ("emission", "message"),
    [
        ({"mode": "scheduled", "on_s": 10}, "needs off_s"),
        ({"mode": "blink"}, "needs off_s"),
        ({"mode": "scheduled", "off_s": 10}, "needs on_s"),
        ({"mode": "sometimes"}, "mode"),
    ],
)
def test_bad_emission_is_a_clear_error(emission: dict[str, Any], message: str) -> None:
    d = yaml.safe_load(SMALL)
    d["radars"][0]["emission"] = emission
    with pytest.raises(ScenarioError) as e:
        parse_scenario(dump(d), "bad.yaml")
    assert "radars[0].emission" in str(e.value) and message in str(e.value)


def test_arm_target_must_be_a_radar() -> None:
    d = yaml.safe_load(SMALL)
    d["raids"][0]["arm"] = {}
    with pytest.raises(ScenarioError) as e:
        parse_scenario(dump(d), "bad.yaml")
    assert "raids[0].target" in str(e.value) and "must name a radar" in str(e.value)
    d["raids"][0]["target"] = "r1"
    d["raids"][0]["release_range_km"] = 5
    with pytest.raises(ScenarioError) as e:
        parse_scenario(dump(d), "bad.yaml")
    assert "release_range_km" in str(e.value)


def test_no_emission_control_no_state() -> None:
    """Without ARMs or emission control the engine carries no radar state (old path)."""
    p = compile_scenario(parse_scenario(SMALL, "small.yaml"))
    assert p.emission is None and p.arms is None
