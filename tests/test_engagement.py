"""Tests of skydome.engagement: intercept geometry, threat evaluation, greedy WTA,
kinematic flyout, midcourse update and kill assessment."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from skydome.engagement.assessment import (
    DESTROYED,
    KILL,
    MISS_BASKET,
    MISS_PK,
    NO_TARGET,
    OUT_OF_REACH,
    TRACK_LOST,
    assess,
)
from skydome.engagement.evaluation import evaluate_threats
from skydome.engagement.flyout import InFlight, kinematic_flyout, midcourse_update
from skydome.engagement.geometry import intercept_grid, time_of_flight
from skydome.engagement.params import AssetParams, BatteryParams, MissileParams
from skydome.engagement.wta_greedy import greedy_assign, rank_within_groups
from skydome.threats import Threats
from skydome.tracking.base import TrackState

seeds = st.integers(0, 2**32 - 1)
vec3 = st.tuples(*[st.floats(-1.0, 1.0)] * 3)


# --- time of flight -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    d_dir=vec3,
    d_len=st.floats(1.0, 500_000.0),
    v_dir=vec3,
    v_len=st.floats(0.0, 3_000.0),
    ratio=st.floats(1.001, 20.0),
)
def test_time_of_flight_solves_collision_equation(d_dir, d_len, v_dir, v_len, ratio):
    """|d + v T| = s T for a missile faster than the target (s > |v|): there is exactly one
    non-negative root, and the target is out of reach at every earlier time."""
    dn, vn = np.linalg.norm(d_dir), np.linalg.norm(v_dir)
    assume(dn > 1e-3 and vn > 1e-3)
    d = np.array(d_dir) / dn * d_len
    v = np.array(v_dir) / vn * v_len
    s = max(v_len * ratio, 1.0)
    t = float(time_of_flight(d, v, np.array(s)))
    assert math.isfinite(t) and t > 0.0
    assert np.linalg.norm(d + v * t) == pytest.approx(s * t, rel=1e-9)
    for frac in (0.0, 0.25, 0.5, 0.9, 0.999):
        tt = frac * t
        assert np.linalg.norm(d + v * tt) > s * tt


@settings(max_examples=200, deadline=None)
@given(
    d_dir=vec3,
    d_len=st.floats(1_000.0, 500_000.0),
    v_dir=vec3,
    v_len=st.floats(100.0, 5_000.0),
    ratio=st.floats(0.2, 0.999),
)
def test_time_of_flight_slower_missile(d_dir, d_len, v_dir, v_len, ratio):
    """A slower missile catches only an approaching target, at the earlier root."""
    dn, vn = np.linalg.norm(d_dir), np.linalg.norm(v_dir)
    assume(dn > 1e-3 and vn > 1e-3)
    d = np.array(d_dir) / dn * d_len
    v = np.array(v_dir) / vn * v_len
    s = v_len * ratio
    t = float(time_of_flight(d, v, np.array(s)))
    # Independent: the closest approach of the target to the launcher is reachable iff
    # the roots of (v.v - s^2) T^2 + 2 d.v T + d.d are real and positive.
    roots = np.roots([v @ v - s * s, 2 * d @ v, d @ d])
    real_pos = sorted(r.real for r in roots if abs(r.imag) < 1e-9 * abs(r) and r.real >= 0)
    if d @ v >= 0.0 or not real_pos:
        assert math.isinf(t)
    else:
        assert t == pytest.approx(real_pos[0], rel=1e-6)
        assert np.linalg.norm(d + v * t) == pytest.approx(s * t, rel=1e-6)


def test_time_of_flight_head_on_and_tail_chase():
    d = np.array([[10_000.0, 0.0, 0.0], [10_000.0, 0.0, 0.0], [0.0, 10_000.0, 0.0]])
    v = np.array([[-500.0, 0.0, 0.0], [500.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    s = np.array([1_500.0, 1_500.0, 1_000.0])
    np.testing.assert_allclose(time_of_flight(d, v, s), [5.0, 10.0, 10.0])


def test_time_of_flight_unreachable_is_inf():
    d = np.array([[10_000.0, 0.0, 0.0], [10_000.0, 0.0, 0.0]])
    v = np.array([[2_000.0, 0.0, 0.0], [0.0, 3_000.0, 0.0]])  # receding / crossing, too fast
    assert np.all(np.isinf(time_of_flight(d, v, np.array([1_000.0, 1_000.0]))))


@pytest.mark.parametrize(
    ("d", "v", "s"),
    [
        ([10_000.0, 0.0, 0.0], [-1_000.0, 0.0, 0.0], 1_000.0),  # equal speeds, head-on
        ([0.0, 0.0, 0.0], [300.0, 0.0, 0.0], 1_000.0),  # target at the launcher
        ([10_000.0, 0.0, 0.0], [-1_000.0, 0.0, 0.0], 1_000.0 * (1.0 - 1e-14)),
    ],
)
def test_time_of_flight_degenerate_cases(d, v, s):
    """Head-on along x the exact answer is |d| / (|v| + s)."""
    t = float(time_of_flight(np.array(d), np.array(v), np.array(s)))
    assert t == pytest.approx(np.linalg.norm(d) / (np.linalg.norm(v) + s), rel=1e-9, abs=1e-12)


# --- intercept grid -----------------------------------------------------------------------


def make_missiles(**over) -> MissileParams:
    base = dict(
        names=("long", "short"),
        min_range_m=np.array([5_000.0, 1_000.0]),
        max_range_m=np.array([200_000.0, 40_000.0]),
        min_alt_m=np.array([10.0, 5.0]),
        max_alt_m=np.array([30_000.0, 20_000.0]),
        speed_mps=np.array([1_500.0, 900.0]),
        max_target_speed_mps=np.array([4_800.0, 3_000.0]),
        pk=np.array([0.7, 0.8]),
        basket_m=np.array([2_000.0, 1_000.0]),
        max_tof_s=np.array([np.inf, np.inf]),
        cost=np.array([8.0, 1.0]),
    )
    base.update(over)
    return MissileParams(**base)  # type: ignore[arg-type]


def make_batteries(pos, reaction=(10.0,)) -> BatteryParams:
    pos = np.asarray(pos, dtype=np.float64).reshape(-1, 3)
    nb = pos.shape[0]
    return BatteryParams(
        names=tuple(f"b{i}" for i in range(nb)),
        pos_m=pos,
        launchers=np.full(nb, 4, dtype=np.int64),
        inventory=np.full((nb, 2), 8, dtype=np.int64),
        load=np.full((nb, 2), 2, dtype=np.int64),
        reserve=np.zeros((nb, 2), dtype=np.int64),
        reload_s=np.full(nb, 900.0),
        fc_radar=np.full(nb, -1, dtype=np.int64),
        target_channels=np.full(nb, 4, dtype=np.int64),
        missile_channels=np.full(nb, 8, dtype=np.int64),
        reaction_s=np.resize(np.asarray(reaction, dtype=np.float64), nb),
        launch_interval_s=np.full(nb, 3.0),
    )


@settings(max_examples=100, deadline=None)
@given(seed=seeds)
def test_intercept_grid_pip_is_reached_at_missile_speed(seed):
    rng = np.random.default_rng(seed)
    n = 6
    pos = np.column_stack(
        [rng.uniform(-150e3, 150e3, n), rng.uniform(-150e3, 150e3, n), rng.uniform(0, 2e4, n)]
    )
    vel = rng.normal(0.0, 300.0, (n, 3))
    bats = make_batteries(rng.uniform(-2e4, 2e4, (3, 3)) * [1, 1, 0], reaction=(5.0, 10.0, 0.0))
    mis = make_missiles()
    g = intercept_grid(pos, vel, bats, mis, np.full(n, np.inf))
    assert g.tof_s.shape == g.feasible.shape == g.t_intercept_rel_s.shape == (n, 3, 2)
    assert g.pip_m.shape == (n, 3, 2, 3)
    for i in range(n):
        for b in range(3):
            for m in range(2):
                tof = g.tof_s[i, b, m]
                if not np.isfinite(tof):
                    assert not g.feasible[i, b, m]
                    continue
                tau = bats.reaction_s[b]
                assert g.t_intercept_rel_s[i, b, m] == pytest.approx(tau + tof)
                pip = g.pip_m[i, b, m]
                # The target is at the PIP at reaction + flight time ...
                np.testing.assert_allclose(pip, pos[i] + vel[i] * (tau + tof), rtol=1e-12)
                # ... and the missile, launched after the reaction time, is there too.
                flown = np.linalg.norm(pip - bats.pos_m[b])
                assert flown == pytest.approx(mis.speed_mps[m] * tof, rel=1e-9)


def _grid_one(pos, vel, deadline=np.inf, **missile_over):
    mis = make_missiles(**missile_over)
    bats = make_batteries([[0.0, 0.0, 0.0]], reaction=(0.0,))
    g = intercept_grid(
        np.array([pos], dtype=np.float64),
        np.array([vel], dtype=np.float64),
        bats,
        mis,
        np.array([deadline]),
    )
    return g.feasible[0, 0], g


@pytest.mark.parametrize(
    ("ground_km", "expected"),
    [(0.5, [False, False]), (3.0, [False, True]), (30.0, [True, True]),
     (100.0, [True, False]), (210.0, [False, False])],
)  # fmt: skip
def test_intercept_grid_range_envelope(ground_km, expected):
    feas, _ = _grid_one([ground_km * 1e3, 0.0, 1_000.0], [0.0, 0.0, 0.0])
    assert feas.tolist() == expected


@pytest.mark.parametrize(
    ("alt_m", "expected"),
    [(7.0, [False, True]), (15_000.0, [True, True]), (25_000.0, [True, False]),
     (31_000.0, [False, False])],
)  # fmt: skip
def test_intercept_grid_altitude_envelope(alt_m, expected):
    feas, _ = _grid_one([20_000.0, 0.0, alt_m], [0.0, 0.0, 0.0])
    assert feas.tolist() == expected


def test_intercept_grid_target_speed_limit():
    fast = dict(speed_mps=np.array([6_000.0, 6_000.0]))
    ok, _ = _grid_one([30_000.0, 0.0, 10_000.0], [-2_900.0, 0.0, 0.0], **fast)
    too_fast, _ = _grid_one([30_000.0, 0.0, 10_000.0], [-3_100.0, 0.0, 0.0], **fast)
    assert ok.tolist() == [True, True]
    assert too_fast.tolist() == [True, False]


def test_intercept_grid_deadline():
    _, g = _grid_one([30_000.0, 0.0, 5_000.0], [0.0, 0.0, 0.0])
    t_rel = g.t_intercept_rel_s[0, 0]
    np.testing.assert_allclose(t_rel, np.hypot(30_000.0, 5_000.0) / np.array([1_500.0, 900.0]))
    mid = float(t_rel.mean())
    feas, _ = _grid_one([30_000.0, 0.0, 5_000.0], [0.0, 0.0, 0.0], deadline=mid)
    assert feas.tolist() == [True, False]


def test_intercept_grid_uncatchable_target():
    feas, g = _grid_one([30_000.0, 0.0, 5_000.0], [2_000.0, 0.0, 0.0])  # receding, too fast
    assert np.all(np.isinf(g.tof_s)) and not feas.any()


# --- kinematic flyout ---------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(seed=seeds)
def test_kinematic_flyout_pip_consistent(seed):
    rng = np.random.default_rng(seed)
    k = 8
    pos = rng.uniform(-1e5, 1e5, (k, 3))
    vel = rng.normal(0.0, 300.0, (k, 3))
    vel *= (rng.uniform(0.0, 790.0, k) / np.linalg.norm(vel, axis=1))[:, None]
    launch = rng.uniform(-1e4, 1e4, (k, 3))
    delay = rng.uniform(0.0, 30.0, k)
    speed = rng.uniform(800.0, 2_000.0, k)
    t_launch, t_int, pip = kinematic_flyout(50.0, pos, vel, launch, delay, speed)
    np.testing.assert_allclose(t_launch, 50.0 + delay)
    ok = np.isfinite(t_int)
    assert ok.all()  # every missile here is faster than its target
    np.testing.assert_allclose(pip, pos + vel * (t_int - 50.0)[:, None], rtol=1e-12, atol=1e-6)
    flown = np.linalg.norm(pip - launch, axis=1)
    np.testing.assert_allclose(flown, speed * (t_int - t_launch), rtol=1e-9)


# --- threat evaluation --------------------------------------------------------------------


def make_assets(pos_km, value, radius_km) -> AssetParams:
    pos = np.array([[e * 1e3, n * 1e3, 0.0] for e, n in pos_km])
    return AssetParams(
        names=tuple(f"a{i}" for i in range(len(value))),
        pos_m=pos,
        value=np.asarray(value, dtype=np.float64),
        radius_m=np.asarray(radius_km, dtype=np.float64) * 1e3,
    )


def test_evaluate_ranks_close_fast_inbound_above_receding():
    assets = make_assets([(0.0, 0.0)], [100.0], [10.0])
    pos = np.array([[50_000.0, 0.0, 1_000.0], [80_000.0, 0.0, 1_000.0], [60_000.0, 0.0, 500.0]])
    vel = np.array([[-600.0, 0.0, 0.0], [-250.0, 0.0, 0.0], [300.0, 0.0, 0.0]])
    ta = evaluate_threats(pos, vel, assets)
    assert ta.score[0] > ta.score[1] > ta.score[2]
    np.testing.assert_allclose(ta.tgo_s[:2], [50_000.0 / 600.0, 80_000.0 / 250.0])
    assert math.isinf(ta.tgo_s[2])
    np.testing.assert_allclose(ta.cpa_m[:2], 0.0, atol=1e-6)
    np.testing.assert_allclose(ta.cpa_m[2], 60_000.0)  # receding: CPA is now
    np.testing.assert_allclose(ta.range_m, [50_000.0, 80_000.0, 60_000.0])


def test_evaluate_on_course_above_off_course():
    assets = make_assets([(0.0, 0.0)], [100.0], [10.0])
    pos = np.array([[50_000.0, 0.0, 0.0], [50_000.0, 0.0, 0.0]])
    vel = np.array([[-300.0, 0.0, 0.0], [-300.0, 300.0 * 0.6, 0.0]])  # 2nd misses by ~26 km
    ta = evaluate_threats(pos, vel, assets)
    assert ta.score[0] > ta.score[1]
    assert ta.cpa_m[1] > 10_000.0


def test_evaluate_picks_the_asset_most_at_risk():
    assets = make_assets([(0.0, 0.0), (100.0, 0.0)], [10.0, 100.0], [10.0, 10.0])
    pos = np.array([[50_000.0, 0.0, 0.0], [50_000.0, 0.0, 0.0]])
    vel = np.array([[300.0, 0.0, 0.0], [-300.0, 0.0, 0.0]])
    ta = evaluate_threats(pos, vel, assets)
    assert ta.asset.tolist() == [1, 0]
    # equal distance and speed: the more valuable asset gives the higher score
    assert ta.score[0] > ta.score[1]


@settings(max_examples=100, deadline=None)
@given(seed=seeds)
def test_evaluate_cpa_is_closest_future_approach(seed):
    rng = np.random.default_rng(seed)
    assets = make_assets([(0.0, 0.0)], [1.0], [5.0])
    pos = rng.uniform(-1e5, 1e5, (4, 3))
    vel = rng.normal(0.0, 300.0, (4, 3))
    ta = evaluate_threats(pos, vel, assets)
    for i in range(4):
        r, v = pos[i, :2], vel[i, :2]
        # The closest approach is never later than |r| / |v|: sample [0, |r| / |v|] finely.
        t = np.linspace(0.0, np.linalg.norm(r) / np.linalg.norm(v), 20_001)
        d = np.linalg.norm(r[None, :] + v[None, :] * t[:, None], axis=1)
        assert ta.cpa_m[i] <= d.min() + 1e-6
        assert ta.cpa_m[i] >= d.min() - np.linalg.norm(r) / 20_000.0 - 1e-6
        assert ta.range_m[i] == pytest.approx(np.linalg.norm(r))
        if np.isfinite(ta.tgo_s[i]):
            tc = ta.tgo_s[i]
            assert np.linalg.norm(pos[i, :2] + vel[i, :2] * tc) == pytest.approx(ta.cpa_m[i])


# --- greedy weapon-target assignment ------------------------------------------------------


@st.composite
def wta_instances(draw):
    seed = draw(seeds)
    rng = np.random.default_rng(seed)
    n = draw(st.integers(0, 10))
    n_b = draw(st.integers(1, 3))
    n_o = draw(st.integers(1, 6))
    salvo = draw(st.integers(1, 3))
    feasible = rng.random((n, n_o)) < draw(st.floats(0.2, 1.0))
    preference = rng.uniform(0.0, 10.0, (n, n_o))
    option_battery = rng.integers(0, n_b, n_o)
    inventory = rng.integers(0, 8, n_o)
    tch = rng.integers(0, 5, n_b)
    mch = rng.integers(0, 10, n_b)
    order = rng.permutation(n)[: draw(st.integers(0, n))] if n else np.zeros(0, dtype=np.int64)
    return order, feasible, preference, option_battery, inventory, tch, mch, salvo


@settings(max_examples=300, deadline=None)
@given(inst=wta_instances())
def test_greedy_never_exceeds_capacity_or_feasibility(inst):
    order, feasible, preference, option_battery, inventory, tch, mch, salvo = inst
    res = greedy_assign(order, feasible, preference, option_battery, inventory, tch, mch, salvo)
    opt = res.option
    assert opt.shape == (feasible.shape[0],)
    served = np.flatnonzero(opt >= 0)
    assert set(served.tolist()) <= set(order.tolist())  # only listed threats are engaged
    assert all(feasible[i, opt[i]] for i in served)
    per_option = np.bincount(opt[served], minlength=inventory.size)
    assert np.all(per_option * salvo <= inventory)
    per_battery = np.bincount(option_battery[opt[served]], minlength=tch.size)
    assert np.all(per_battery <= tch)
    assert np.all(per_battery * salvo <= mch)


@settings(max_examples=200, deadline=None)
@given(inst=wta_instances())
def test_greedy_with_ample_capacity_gives_cheapest_feasible(inst):
    order, feasible, preference, option_battery, _, tch, _, salvo = inst
    n = feasible.shape[0]
    big = 1_000
    res = greedy_assign(
        order, feasible, preference, option_battery,
        np.full(option_battery.size, big * salvo), np.full(tch.size, big),
        np.full(tch.size, big * salvo), salvo,
    )  # fmt: skip
    for i in range(n):
        if i in set(order.tolist()) and feasible[i].any():
            best = np.argmin(np.where(feasible[i], preference[i], np.inf))
            assert res.option[i] == best
        else:
            assert res.option[i] == -1


def test_greedy_serves_priority_first_under_scarcity():
    # one option, inventory for two salvos of 2: the first two in priority order win
    feasible = np.ones((4, 1), dtype=bool)
    res = greedy_assign(
        np.array([2, 0, 3, 1]), feasible, np.zeros((4, 1)), np.array([0]), np.array([4]),
        np.array([10]), np.array([10]), 2,
    )  # fmt: skip
    assert res.option.tolist() == [0, -1, 0, -1]


def test_greedy_battery_channels_shared_between_options():
    # two options on one battery with one target channel: only the top threat is served
    feasible = np.ones((3, 2), dtype=bool)
    pref = np.array([[1.0, 2.0], [2.0, 1.0], [1.0, 2.0]])
    res = greedy_assign(
        np.array([1, 0, 2]), feasible, pref, np.array([0, 0]), np.array([9, 9]),
        np.array([1]), np.array([9]), 1,
    )  # fmt: skip
    assert res.option.tolist() == [-1, 1, -1]


def _sequential_greedy(order, feasible, preference, option_battery, inv, tch, mch, salvo):
    """The documented rule, one threat at a time: in priority order, each threat takes its
    cheapest feasible option that still has inventory and battery channels."""
    inv, tch, mch = inv.copy(), tch.copy(), mch.copy()
    out = np.full(feasible.shape[0], -1)
    for i in order:
        for o in np.argsort(np.where(feasible[i], preference[i], np.inf), kind="stable"):
            b = option_battery[o]
            if not feasible[i, o]:
                break
            if inv[o] >= salvo and tch[b] >= 1 and mch[b] >= salvo:
                out[i] = o
                inv[o] -= salvo
                tch[b] -= 1
                mch[b] -= salvo
                break
    return out


def test_greedy_rejected_bid_does_not_consume_battery_channel():
    # options: A (battery 0, 1 missile), B (battery 0, 5 missiles); battery 0 has 2 target
    # channels; salvo 1. Threats 0, 1 can use only A, threat 2 only B.
    args = (
        np.array([0, 1, 2]),
        np.array([[True, False], [True, False], [False, True]]),
        np.array([[1.0, 2.0]] * 3),
        np.array([0, 0]),
        np.array([1, 5]),
        np.array([2]),
        np.array([10]),
        1,
    )
    assert _sequential_greedy(*args).tolist() == [0, -1, 1]
    assert greedy_assign(*args).option.tolist() == [0, -1, 1]


def test_greedy_rebid_keeps_priority():
    # A and B (battery 0) hold one missile each. Threat 0: A only; threat 1: A then B;
    # threat 2: B only. In priority order 0 takes A, 1 falls back to B, 2 gets nothing.
    args = (
        np.array([0, 1, 2]),
        np.array([[True, False], [True, True], [False, True]]),
        np.array([[1.0, 2.0]] * 3),
        np.array([0, 0]),
        np.array([1, 1]),
        np.array([9]),
        np.array([9]),
        1,
    )
    assert _sequential_greedy(*args).tolist() == [0, 1, -1]
    assert greedy_assign(*args).option.tolist() == [0, 1, -1]


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(-3, 5), max_size=40))
def test_rank_within_groups_matches_reference(keys):
    seen: defaultdict[int, int] = defaultdict(int)
    expected = []
    for k in keys:
        expected.append(seen[k])
        seen[k] += 1
    got = rank_within_groups(np.array(keys, dtype=np.int64))
    assert got.tolist() == expected


# --- kill assessment ----------------------------------------------------------------------


def straight_threats(p0, p1, speed, launch) -> Threats:
    """Threats flying straight lines p0 -> p1 at constant speed, leaking at p1."""
    p0 = np.asarray(p0, dtype=np.float64).reshape(-1, 3)
    p1 = np.asarray(p1, dtype=np.float64).reshape(-1, 3)
    n = p0.shape[0]
    speed = np.broadcast_to(np.asarray(speed, dtype=np.float64), (n,))
    launch = np.broadcast_to(np.asarray(launch, dtype=np.float64), (n,)).copy()
    dur = np.linalg.norm(p1 - p0, axis=1) / speed
    z = np.zeros(n, dtype=np.int64)
    return Threats(
        type_names=("t",),
        type_index=z,
        raid_index=z,
        target=z,
        launch_s=launch,
        end_s=launch + dur,
        rcs_m2=np.ones(n),
        damage=np.full(n, 0.1),
        ballistic=np.zeros(n, dtype=bool),
        wp_m=np.stack([p0, p1], axis=1),
        wp_t_s=np.column_stack([np.zeros(n), dur]),
        n_wp=np.full(n, 2, dtype=np.int64),
        b0_m=np.zeros((n, 3)),
        b1_m=np.zeros((n, 3)),
        vz0_mps=np.zeros(n),
        tof_s=np.ones(n),
    )


def _truth_pos(p0, p1, speed, launch, t):
    p0, p1 = np.asarray(p0, dtype=np.float64), np.asarray(p1, dtype=np.float64)
    u = (p1 - p0) / np.linalg.norm(p1 - p0)
    return p0 + u * speed * (t - launch)


def _inflight(threat, t_int, pip, mtype=None, track=None) -> InFlight:
    k = len(threat)
    return InFlight(
        missile_id=np.arange(100, 100 + k, dtype=np.int64),
        battery=np.zeros(k, dtype=np.int64),
        mtype=np.zeros(k, dtype=np.int64) if mtype is None else np.asarray(mtype, np.int64),
        track_id=np.arange(k, dtype=np.int64) if track is None else np.asarray(track, np.int64),
        threat=np.asarray(threat, dtype=np.int64),
        t_launch_s=np.asarray(t_int, dtype=np.float64) - 30.0,
        t_intercept_s=np.asarray(t_int, dtype=np.float64),
        pip_m=np.asarray(pip, dtype=np.float64).reshape(k, 3),
    )


# Three threats on well-separated straight routes (>= 80 km apart while flying).
P0S = [[100_000.0, 0.0, 5_000.0], [0.0, 100_000.0, 3_000.0], [-80_000.0, 10_000.0, 100.0]]
P1S = [[0.0, 0.0, 5_000.0], [0.0, 0.0, 3_000.0], [0.0, 0.0, 100.0]]
SPEED, LAUNCH = 250.0, 10.0  # all three fly >= 320 s after launch at t = 10 s


def _three():
    return straight_threats(P0S, P1S, SPEED, LAUNCH)


def _one():
    return straight_threats(P0S[:1], P1S[:1], SPEED, LAUNCH)


def _aim(i, t):
    return _truth_pos(P0S[i], P1S[i], SPEED, LAUNCH, t)


PERFECT = dict(pk=np.array([1.0, 1.0]))


def test_assess_perfect_missiles_always_kill():
    th = _three()
    t = np.array([100.0, 150.0, 200.0])
    pip = [_aim(i, t[i]) for i in range(3)]
    out = assess(
        _inflight([0, 1, 2], t, pip), th, np.full(3, np.inf), make_missiles(**PERFECT),
        np.random.default_rng(0),
    )  # fmt: skip
    assert out.code.tolist() == [KILL] * 3
    # The end-game miss of the homing model (Rayleigh, 5 m default), not the aim error.
    assert (np.isfinite(out.miss_m) & (out.miss_m > 0.0) & (out.miss_m < 100.0)).all()
    np.testing.assert_allclose(out.threat_pos_m, np.array(pip), atol=1e-6)
    np.testing.assert_allclose(out.kill_time_s, t)


def test_assess_simultaneous_missiles_one_kill():
    th = _three()
    pip = _aim(1, 120.0)
    due = _inflight([1, 1, 1], [120.0] * 3, [pip] * 3)
    out = assess(due, th, np.full(3, np.inf), make_missiles(**PERFECT), np.random.default_rng(0))
    # The salvo partners find their target destroyed.
    assert out.code.tolist() == [KILL, DESTROYED, DESTROYED]
    assert out.kill_time_s.tolist() == [np.inf, 120.0, np.inf]


def test_assess_earliest_success_kills_regardless_of_listing_order():
    th = _three()
    t = [140.0, 110.0]
    pip = [_aim(0, x) for x in t]
    out = assess(
        _inflight([0, 0], t, pip), th, np.full(3, np.inf), make_missiles(**PERFECT),
        np.random.default_rng(0),
    )  # fmt: skip
    assert out.code.tolist() == [DESTROYED, KILL]
    assert out.kill_time_s[0] == 110.0


def test_assess_earlier_miss_then_later_kill():
    th = _three()
    t = [110.0, 140.0]
    pip = [_aim(0, 110.0) + [0.0, 0.0, 5_000.0], _aim(0, 140.0)]  # first: 5 km off
    out = assess(
        _inflight([0, 0], t, pip), th, np.full(3, np.inf), make_missiles(**PERFECT),
        np.random.default_rng(0),
    )  # fmt: skip
    assert out.code.tolist() == [MISS_BASKET, KILL]
    assert out.kill_time_s[0] == 140.0


@pytest.mark.parametrize("when", ["after_leak", "at_kill", "after_kill", "before_launch"])
def test_assess_missile_without_live_threat_finds_no_target(when):
    """A single threat, so the seeker has nothing else to find: arriving after the threat
    leaked or before its launch is NO_TARGET; at or after its kill time, DESTROYED."""
    th = _one()
    end = float(th.end_s[0])
    t, kill = {
        "after_leak": (end + 1.0, np.inf),
        "at_kill": (100.0, 100.0),
        "after_kill": (130.0, 100.0),
        "before_launch": (5.0, np.inf),
    }[when]
    pip = th.state_at(t, np.array([0]))[0]  # exact truth position: only timing can fail
    out = assess(
        _inflight([0], [t], pip), th, np.array([kill]), make_missiles(**PERFECT),
        np.random.default_rng(0),
    )  # fmt: skip
    assert out.code.tolist() == [DESTROYED if np.isfinite(kill) else NO_TARGET]
    assert math.isnan(out.miss_m[0])
    np.testing.assert_array_equal(out.kill_time_s, [kill])


@settings(max_examples=100, deadline=None)
@given(
    excess=st.floats(1.0001, 20.0),
    direction=vec3,
    mtype=st.integers(0, 1),
    t=st.floats(20.0, 300.0),
)
def test_assess_pip_error_beyond_basket_never_kills(excess, direction, mtype, t):
    dn = np.linalg.norm(direction)
    assume(dn > 1e-3)
    th = _one()
    mis = make_missiles(**PERFECT)
    err = np.array(direction) / dn * mis.basket_m[mtype] * excess
    pip = _aim(0, t) + err
    out = assess(
        _inflight([0], [t], [pip], mtype=[mtype]), th, np.full(1, np.inf), mis,
        np.random.default_rng(1),
    )  # fmt: skip
    assert out.code.tolist() == [MISS_BASKET]
    assert out.miss_m[0] == pytest.approx(mis.basket_m[mtype] * excess, rel=1e-9)
    assert np.all(np.isinf(out.kill_time_s))


def test_assess_basket_is_per_missile_type():
    th = _one()
    mis = make_missiles(**PERFECT)  # baskets: 2 km (type 0), 1 km (type 1)
    pip = _aim(0, 200.0) + [0.0, 1_500.0, 0.0]
    out0 = assess(
        _inflight([0], [200.0], [pip], mtype=[0]), th, np.full(1, np.inf), mis,
        np.random.default_rng(1),
    )  # fmt: skip
    out1 = assess(
        _inflight([0], [200.0], [pip], mtype=[1]), th, np.full(1, np.inf), mis,
        np.random.default_rng(1),
    )  # fmt: skip
    assert out0.code.tolist() == [KILL] and out1.code.tolist() == [MISS_BASKET]


def test_assess_pk_zero_never_kills():
    th = _three()
    mis = make_missiles(pk=np.array([0.0, 0.0]))
    pip = _aim(0, 100.0)
    out = assess(
        _inflight([0] * 5, [100.0] * 5, [pip] * 5), th, np.full(3, np.inf), mis,
        np.random.default_rng(2),
    )  # fmt: skip
    assert out.code.tolist() == [MISS_PK] * 5
    assert np.all(np.isinf(out.kill_time_s))


def test_assess_seeker_switches_to_the_threat_in_its_basket():
    """The threat the track followed is alive but far from the aim point (a track swap):
    the seeker homes on the threat in its basket; the outcome names it, as a switch."""
    th = _three()
    t = 150.0
    pip = [_aim(2, t), _aim(1, t) + [0.0, 500.0, 0.0]]
    out = assess(
        _inflight([0, 0], [t, t], pip), th, np.full(3, np.inf), make_missiles(**PERFECT),
        np.random.default_rng(0),
    )  # fmt: skip
    assert out.code.tolist() == [KILL, KILL]
    assert out.threat.tolist() == [2, 1]
    assert out.switched is not None and out.switched.tolist() == [True, True]
    assert (out.miss_m < 100.0).all()  # the end-game miss, not the 500 m aim error
    np.testing.assert_allclose(out.kill_time_s, [np.inf, t, t])


def test_assess_prefers_the_guided_on_threat_inside_the_basket():
    """Two threats inside the basket: the seeker keeps the one its track follows, even
    when the other is nearer the aim point; no switch."""
    th = _three()
    t = 150.0
    mid = 0.5 * (_aim(1, t) + _aim(0, t))  # the threats are ~100 km apart: widen the basket
    mis = make_missiles(**PERFECT)
    mis = replace(mis, basket_m=np.full(2, 1e6))
    out = assess(_inflight([1], [t], [mid + 1.0]), th, np.full(3, np.inf), mis,
                 np.random.default_rng(0), guided_on=np.array([1]))  # fmt: skip
    assert out.code.tolist() == [KILL] and out.threat.tolist() == [1]
    assert out.switched is not None and not out.switched.any()
    # Launched at threat 0, its track swapped to threat 1 in midcourse: a target switch.
    swap = assess(_inflight([0], [t], [mid + 1.0]), th, np.full(3, np.inf), mis,
                  np.random.default_rng(0), guided_on=np.array([1]))  # fmt: skip
    assert swap.threat.tolist() == [1]
    assert swap.switched is not None and swap.switched.tolist() == [True]


def test_assess_lost_track_self_destructs():
    """The track was dropped: the missile flies to its last aim point and self-destructs,
    even with its threat exactly there."""
    th = _three()
    t = 150.0
    out = assess(_inflight([1], [t], [_aim(1, t)]), th, np.full(3, np.inf),
                 make_missiles(**PERFECT), np.random.default_rng(0),
                 held=np.array([False]), guided_on=np.array([-1]))  # fmt: skip
    assert out.code.tolist() == [TRACK_LOST]
    assert np.isinf(out.kill_time_s).all()


def test_assess_no_switch_when_the_guided_on_threat_is_dead():
    """A salvo partner arriving after its threat died does not go on to kill a neighbour."""
    th = _three()
    t = 150.0
    mis = replace(make_missiles(**PERFECT), basket_m=np.full(2, 1e6))
    kill = np.array([np.inf, 140.0, np.inf])
    out = assess(_inflight([1], [t], [_aim(1, t)]), th, kill, mis, np.random.default_rng(0))
    assert out.code.tolist() == [DESTROYED]
    np.testing.assert_array_equal(out.kill_time_s, kill)


@settings(max_examples=60, deadline=None)
@given(
    over=st.floats(2.0, 50_000.0),
    up=st.booleans(),
    mtype=st.integers(0, 1),
)
def test_assess_aim_point_outside_the_envelope_never_kills(over, up, mtype):
    """Midcourse moved the aim point beyond the type's reach (range or ceiling) from its
    battery: OUT_OF_REACH, whatever lies there; inside it, the same threat is killed."""
    th = _three()
    t = 150.0
    mis = make_missiles(**PERFECT)
    pip = _aim(1, t)
    launch = pip.copy()
    launch[2] = 0.0
    if up:
        mis = replace(mis, max_alt_m=np.full(2, pip[2] - over))
    else:
        launch[1] -= mis.max_range_m[mtype] + over  # due south, beyond reach
    due = _inflight([1], [t], [pip], mtype=[mtype])
    out = assess(due, th, np.full(3, np.inf), mis, np.random.default_rng(0),
                 launch_pos_m=launch[None, :])  # fmt: skip
    assert out.code.tolist() == [OUT_OF_REACH]
    assert np.isinf(out.kill_time_s).all()
    near = launch.copy()
    near[1] = pip[1] - 0.5 * mis.max_range_m[mtype]
    ok = assess(due, th, np.full(3, np.inf), replace(mis, max_alt_m=np.full(2, 1e5)),
                np.random.default_rng(0), launch_pos_m=near[None, :])  # fmt: skip
    assert ok.code.tolist() == [KILL]


def test_assess_empirical_kill_rate_matches_pk():
    """20 000 independent single-shot engagements at Pk = 0.7: the kill count lies within
    5 binomial standard deviations of 14 000."""
    n_threats, reps, pk = 100, 200, 0.7
    ang = np.linspace(0.0, 2.0 * np.pi, n_threats, endpoint=False)
    p0 = np.column_stack([1e5 * np.sin(ang), 1e5 * np.cos(ang), np.full(n_threats, 3e3)])
    th = straight_threats(p0, np.zeros((n_threats, 3)), 300.0, 0.0)
    t = np.full(n_threats, 60.0)
    pip, _ = th.state_at(t)
    mis = make_missiles(pk=np.array([pk, pk]))
    due = _inflight(list(range(n_threats)), t, pip)
    rng = np.random.default_rng(6)
    kills = 0
    for _ in range(reps):
        out = assess(due, th, np.full(n_threats, np.inf), mis, rng)
        assert set(np.unique(out.code).tolist()) <= {KILL, MISS_PK}
        k = int(np.sum(out.code == KILL))
        assert np.isfinite(out.kill_time_s).sum() == k
        kills += k
    n = n_threats * reps
    assert abs(kills - n * pk) <= 5.0 * math.sqrt(n * pk * (1 - pk))


# --- midcourse update ---------------------------------------------------------------------


def _tracks(ids, x, time_s) -> TrackState:
    n = len(ids)
    z = np.zeros(n, dtype=np.int64)
    return TrackState(
        time_s=time_s,
        next_id=max(ids) + 1,
        x=np.asarray(x, dtype=np.float64),
        P=np.repeat(np.eye(6)[None], n, axis=0),
        track_id=np.asarray(ids, dtype=np.int64),
        hits=z + 3,
        opportunities=z + 3,
        misses=z,
        confirmed=np.ones(n, dtype=bool),
        born_s=np.zeros(n),
        last_update_s=np.full(n, time_s),
        truth=z,
    )


def test_midcourse_update_moves_aim_to_track_extrapolation():
    x = np.array(
        [
            [1e4, 2e4, 3e3, 100.0, 0.0, 0.0],
            [5e4, 0.0, 1e3, 0.0, -200.0, 5.0],
            [-3e4, -3e4, 8e3, 50.0, 50.0, 0.0],
        ]
    )
    tracks = _tracks([5, 2, 9], x, 100.0)
    old = np.full((4, 3), 123.0)
    due = _inflight([0, 1, 2, 3], [130.0, 110.0, 150.0, 140.0], old, track=[2, 9, 7, 5])
    out = midcourse_update(due, tracks)
    np.testing.assert_allclose(out.pip_m[0], x[1, :3] + x[1, 3:] * 30.0)
    np.testing.assert_allclose(out.pip_m[1], x[2, :3] + x[2, 3:] * 10.0)
    np.testing.assert_array_equal(out.pip_m[2], old[2])  # track 7 is gone: aim kept
    np.testing.assert_allclose(out.pip_m[3], x[0, :3] + x[0, 3:] * 40.0)
    # everything else is carried over unchanged
    for f in ("battery", "mtype", "track_id", "threat", "t_launch_s", "t_intercept_s"):
        np.testing.assert_array_equal(getattr(out, f), getattr(due, f))
    np.testing.assert_array_equal(due.pip_m, old)  # input not modified


def test_midcourse_update_without_tracks_keeps_aim():
    due = _inflight([0, 1], [130.0, 110.0], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], track=[0, 1])
    out = midcourse_update(due, TrackState.empty(100.0))
    np.testing.assert_array_equal(out.pip_m, due.pip_m)


def test_midcourse_update_track_id_beyond_all_held():
    tracks = _tracks([1, 3], np.ones((2, 6)), 0.0)
    due = _inflight([0], [10.0], [[7.0, 7.0, 7.0]], track=[99])
    np.testing.assert_array_equal(midcourse_update(due, tracks).pip_m, [[7.0, 7.0, 7.0]])


def test_inflight_take_and_concat():
    a = _inflight([0, 1, 2], [1.0, 2.0, 3.0], np.arange(9.0).reshape(3, 3))
    b = a.take(np.array([True, False, True]))
    assert b.n == 2 and b.threat.tolist() == [0, 2]
    c = b.concat(a.take(np.array([1])))
    assert c.threat.tolist() == [0, 2, 1]
    np.testing.assert_array_equal(c.pip_m[2], a.pip_m[1])
    assert InFlight.empty().n == 0


@pytest.mark.parametrize("pk", [0.05, 0.3, 0.7, 0.95])
@pytest.mark.parametrize("sigma", [0.5, 5.0, 40.0])
def test_carleton_damage_function_over_a_rayleigh_miss_averages_to_pk(pk, sigma):
    """E[P(kill | r)] over r ~ Rayleigh(sigma) equals pk (numerical quadrature)."""
    from scipy import integrate, stats

    from skydome.engagement.assessment import carleton_kill_probability

    def integrand(r: float) -> float:
        pk_r = carleton_kill_probability(np.array([r]), np.array([sigma]), np.array([pk]))[0]
        return float(pk_r * stats.rayleigh.pdf(r, scale=sigma))

    val, _ = integrate.quad(integrand, 0.0, 60.0 * sigma, limit=200)
    assert val == pytest.approx(pk, abs=1e-8)


def test_kinematic_miss_distances_follow_the_homing_model():
    """20,000 acquired engagements at Pk 0.6, homing sigma 8 m: the end-game misses are
    Rayleigh(8 m) (Kolmogorov-Smirnov), kills miss by less than Pk misses, and the kill
    rate is Pk within 5 binomial standard deviations."""
    from scipy import stats

    n_threats, reps, pk, sigma = 100, 200, 0.6, 8.0
    ang = np.linspace(0.0, 2.0 * np.pi, n_threats, endpoint=False)
    p0 = np.column_stack([1e5 * np.sin(ang), 1e5 * np.cos(ang), np.full(n_threats, 3e3)])
    th = straight_threats(p0, np.zeros((n_threats, 3)), 300.0, 0.0)
    t = np.full(n_threats, 60.0)
    pip, _ = th.state_at(t)
    mis = replace(make_missiles(pk=np.array([pk, pk])), homing_sigma_m=np.array([sigma, sigma]))
    due = _inflight(list(range(n_threats)), t, pip)
    rng = np.random.default_rng(11)
    outs = [assess(due, th, np.full(n_threats, np.inf), mis, rng) for _ in range(reps)]
    code = np.concatenate([o.code for o in outs])
    miss = np.concatenate([o.miss_m for o in outs])
    assert set(np.unique(code).tolist()) <= {KILL, MISS_PK}
    assert stats.kstest(miss, stats.rayleigh(scale=sigma).cdf).pvalue > 1e-3
    assert miss[code == KILL].mean() < miss[code == MISS_PK].mean()
    n = code.size
    assert abs((code == KILL).sum() - n * pk) <= 5.0 * math.sqrt(n * pk * (1 - pk))
