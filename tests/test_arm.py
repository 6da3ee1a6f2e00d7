"""Anti-radiation missiles: the hit formula by hand, arrival times, kill rates (issue 15).

Oracles, derived by hand:

- circular-normal miss with CEP c: P(miss <= R) = 1 - exp(-R^2 ln 2 / c^2), so
  R = c gives 1/2 and R = 2c gives 1 - 2^-4 = 15/16;
- an ARM flies its route (launch point, then the radar's antenna) at constant
  speed: it arrives at launch + |antenna - launch| / speed;
- against an always-on radar the seeker homes all the way: P(destroyed) =
  pk (1 - exp(-R^2 ln 2 / cep^2)); measured over 400 ARMs (one per radar, one
  run), the 99 % Clopper-Pearson interval must hold it;
- a destroyed radar makes no scan after its destruction time.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import yaml
from scipy.stats import beta

from skydome.engine import simulate
from skydome.engine.simulate import RunResult
from skydome.events import EVENT_KINDS
from skydome.scenario import compile_scenario
from skydome.scenario.load import parse_scenario
from skydome.sensors.antiradiation import ArmParams, hit_probability, resolve_hits
from tests.conftest import SMALL, dump

K = {k: i for i, k in enumerate(EVENT_KINDS)}
Emission = dict[str, Any] | Callable[[int], dict[str, Any]] | None
SPEED = 680.0  # Mach 2 at sea level, the assumed HARM-class speed


def clopper_pearson(k: int, n: int, confidence: float = 0.99) -> tuple[float, float]:
    """Exact binomial interval (Clopper & Pearson 1934)."""
    a = 1.0 - confidence
    lo = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def arm_field(n: int, *, arm: dict[str, Any] | None = None, emission: Emission = None,
              watch: bool = False, duration_s: float = 100.0) -> dict[str, Any]:  # fmt: skip
    """`n` radars 3 km apart on the east axis, each attacked by one ARM from 50 km south.

    The attacked radars see 1 km (they never detect the ARMs: no scan cost); with
    `watch` a surveillance radar (always on, not attacked) tracks the ARMs for the
    command post. The battery has no missile: nothing intercepts the ARMs.
    """
    d: dict[str, Any] = yaml.safe_load(SMALL)
    d["run"]["duration_s"] = duration_s
    d["batteries"][0]["load"] = {"m1": 0}
    proto = d["radars"][0]
    radars, raids = [], []
    for i in range(n):
        r = copy.deepcopy(proto)
        r.update(name=f"r{i}", position={"east_km": 3.0 * i, "north_km": 0},
                 detection_range_km=1, max_range_km=1, scan_period_s=600)  # fmt: skip
        if emission is not None:
            r["emission"] = emission(i) if callable(emission) else copy.deepcopy(emission)
        radars.append(r)
        raids.append({
            "name": f"harm{i}", "type": "anti-radiation missile", "count": 1,
            "target": f"r{i}", "rcs_m2": 0.01, "speed_mps": SPEED,
            "route": [{"east_km": 3.0 * i, "north_km": -50, "altitude_m": 10000}],
            "arm": dict(arm or {}),
        })  # fmt: skip
    if watch:
        w = copy.deepcopy(proto)
        w.update(name="watch", position={"east_km": 0, "north_km": -100})
        radars.append(w)
    d["radars"], d["raids"] = radars, raids
    return d


def run(d: dict[str, Any], seed: int = 1, detections: bool = False) -> RunResult:
    p = compile_scenario(parse_scenario(dump(d), "arm.yaml"))
    assert p.arms is not None
    return simulate(p, seed=seed, record_detections=detections)


def arms(r: RunResult) -> ArmParams:
    assert r.params.arms is not None
    return r.params.arms


def destroyed_share(r: RunResult) -> tuple[int, int]:
    ev = r.events
    n_arm = r.params.arms.n if r.params.arms is not None else 0
    return int((ev.kind == K["radar_destroyed"]).sum()), n_arm


def test_hit_probability_by_hand() -> None:
    """R = CEP: 1/2; R = 2 CEP: 15/16; R -> 0: R^2 ln2 / CEP^2 to first order."""
    assert hit_probability(7.0, 7.0) == pytest.approx(0.5, rel=1e-12)
    assert hit_probability(5.0, 10.0) == pytest.approx(15.0 / 16.0, rel=1e-12)
    assert hit_probability(100.0, 0.1) == pytest.approx(1e-6 * math.log(2.0), rel=1e-5)


def test_miss_draw_has_the_cep_as_median() -> None:
    """Half the misses drawn with CEP c fall within c (the definition of the CEP)."""
    n = 4000
    arms = ArmParams(
        *(np.arange(n), np.zeros(n, dtype=np.int64)),
        *(np.full(n, v) for v in (6e4, 10.0, 20.0, 50.0, 1.0, 20.0, 1.0)),
    )
    rows = np.arange(n)
    out = resolve_hits(arms, rows, np.full(n, 100.0), np.full(n, 100.0), np.ones(n, bool),
                       np.random.default_rng(5))  # fmt: skip
    assert np.all(out.cep_m == 20.0)
    lo, hi = clopper_pearson(int((out.miss_m <= 20.0).sum()), n)
    assert lo <= 0.5 <= hi
    # The lethal radius equals the CEP here: destroyed exactly when within it.
    assert np.array_equal(out.destroyed, out.miss_m <= 20.0)


def test_memory_cep_grows_with_silence_and_unacquired_never_hits() -> None:
    """Silence s <= memory: homing CEP; s > memory: memory CEP + drift (s - memory)."""
    arms = ArmParams(np.arange(3), np.zeros(3, dtype=np.int64), *(np.full(3, v) for v in
                     (6e4, 10.0, 7.0, 30.0, 2.0, 10.0, 1.0)))  # fmt: skip
    out = resolve_hits(arms, np.arange(3), np.full(3, 100.0), np.array([95.0, 60.0, 100.0]),
                       np.array([True, True, False]), np.random.default_rng(1))  # fmt: skip
    assert out.cep_m[0] == 7.0  # 5 s of silence, within the 10 s memory
    assert out.cep_m[1] == 30.0 + 2.0 * (40.0 - 10.0)
    assert np.isnan(out.cep_m[2]) and not out.destroyed[2]


def test_arrival_time_is_route_length_over_speed() -> None:
    """Each ARM ends (a leak naming its radar) at |antenna - launch| / speed, exactly once."""
    r = run(arm_field(5))
    p = r.params
    ev = r.events
    leak = ev.kind == K["leak"]
    assert np.array_equal(np.sort(ev.threat_id[leak]), np.arange(5))
    expect = math.hypot(50_000.0, 10_000.0 - 20.0) / SPEED  # mast 20 m
    order = np.argsort(ev.threat_id[leak])
    assert ev.time_s[leak][order] == pytest.approx(np.full(5, expect), abs=1e-9)
    assert np.array_equal(ev.radar[leak][order], arms(r).radar)
    assert np.isfinite(r.leak_time_s).all() and not np.isfinite(r.kill_time_s).any()
    # Asset value is untouched: ARMs attack radars.
    assert np.allclose(r.asset_value_end, p.assets.value)


@pytest.mark.parametrize(("cep", "radius", "pk"), [(7.0, 10.0, 1.0), (10.0, 8.0, 0.8)])
def test_always_on_radar_is_destroyed_at_the_formula_rate(
    cep: float, radius: float, pk: float
) -> None:
    """400 ARMs against 400 always-on radars: destroyed share within 99 % CP of the formula."""
    r = run(arm_field(400, arm={"cep_m": cep, "lethal_radius_m": radius,
                                "kill_probability": pk}))  # fmt: skip
    k, n = destroyed_share(r)
    expect = pk * (1.0 - math.exp(-(radius**2) * math.log(2.0) / cep**2))
    lo, hi = clopper_pearson(k, n)
    assert lo <= expect <= hi, (k, n, expect)
    # Each destruction names the ARM's radar, at its arrival time.
    ev = r.events
    d = ev.kind == K["radar_destroyed"]
    assert np.array_equal(ev.radar[d], arms(r).radar[ev.threat_id[d]])
    assert np.allclose(ev.time_s[d], r.params.threats.end_s[ev.threat_id[d]])


def test_scheduled_radars_are_hit_at_the_phase_averaged_rate() -> None:
    """Schedule on 20 s / off 40 s, offsets spread over the cycle; memory 10 s.

    Arriving at silence s (uniform over the cycle's phases): s <= 10 s (30 of the
    60 s of phase) gives the homing CEP 7 m; s in (10, 40] the memory CEP
    30 + 2 (s - 10) m. The expected rate is the phase average of the hit formula;
    the 99 % CP interval over 400 radars must hold it, and sit below the always-on rate.
    """
    n = 400

    def sched(i: int) -> dict[str, Any]:
        return {"mode": "scheduled", "on_s": 20, "off_s": 40, "offset_s": 60.0 * i / n}

    r = run(arm_field(n, emission=sched))
    k, _ = destroyed_share(r)
    s = np.linspace(10.0, 40.0, 30_001)
    mem = float(np.mean(hit_probability(30.0 + 2.0 * (s - 10.0), 10.0)))
    expect = 0.5 * float(hit_probability(7.0, 10.0)) + 0.5 * mem
    lo, hi = clopper_pearson(k, n)
    assert lo <= expect <= hi, (k, n, expect)
    k_on, _ = destroyed_share(run(arm_field(n)))
    assert hi < clopper_pearson(k_on, n)[0]


def test_blinking_radars_are_hit_less_often() -> None:
    """Blink off 200 s: a surveillance radar's ARM tracks silence the radars ~70 s before
    impact (silence > memory), so the CEP is >= 30 + 2 (40 - 10) = 90 m and P(hit) <=
    1 - exp(-100 ln2 / 8100) ~ 0.009 each: the intervals separate from always-on."""
    n = 200
    blink = run(arm_field(n, emission={"mode": "blink", "off_s": 200}, watch=True))
    on = run(arm_field(n, watch=True))
    k_b, _ = destroyed_share(blink)
    k_on, _ = destroyed_share(on)
    assert clopper_pearson(k_b, n)[1] < clopper_pearson(k_on, n)[0]
    assert clopper_pearson(k_b, n)[0] <= float(hit_probability(90.0, 10.0))
    ev = blink.events
    off = ev.kind == K["radar_off"]
    assert set(ev.radar[off].tolist()) == set(range(n))  # every attacked radar went silent
    assert (ev.time_s[off] < 74.0).all()


def test_destroyed_radar_makes_no_scan_after_its_destruction() -> None:
    """A radar watching its ARM: scans stop at the destruction; its tracks coast and go."""
    d = arm_field(1, arm={"cep_m": 1.0})  # P(hit) = 1 - 2^-100: certain
    d["radars"][0].update(detection_range_km=300, max_range_km=300, scan_period_s=2)
    d["run"]["duration_s"] = 200
    r = run(d, detections=True)
    ev = r.events
    dead = ev.kind == K["radar_destroyed"]
    assert dead.sum() == 1
    t_dead = float(ev.time_s[dead][0])
    times = np.array([x.time_s for x in r.detections if x.radar == 0])
    assert times.size and times.max() <= t_dead
    assert (times < t_dead - 2.0).any()
    # The ARM was tracked, and the picture loses its tracks after the radar is gone.
    assert (ev.kind == K["track"]).any()
