"""Battle management: the lookahead planner, adaptive shoot-look-shoot and doctrine rules.

Hand-derived decisions of the engage-now-or-keep assignment, the planner's
outputs against channels, magazines and envelopes (hypothesis), doctrine
fields validated like every scenario field, and whole runs that keep every
engagement invariant with the new doctrine.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skydome.engagement.lookahead import fire_now, lookahead_problem
from skydome.engagement.params import DoctrineParams, MissileParams
from skydome.engagement.wta import solve_brute_force
from skydome.engine import RunResult, simulate
from skydome.engine.battle import allowed_types, doctrine_rules
from skydome.engine.pipeline import PlanRequest
from skydome.engine.stages import LookaheadPlanner
from skydome.errors import ScenarioError
from skydome.events import EVENT_KINDS
from skydome.scenario import builtin_text, compile_scenario, parse_scenario
from skydome.scenario.compile import SimParams
from tests.conftest import RUN_SEEDS, dump
from tests.test_engine import check_invariants
from tests.test_kill_chain import check_kill_chain

K = {k: i for i, k in enumerate(EVENT_KINDS)}


def _one_option_each(
    value: float,
    now: list[bool],
    later: list[bool],
    cost: list[float],
    rounds: list[int],
    pk: float = 0.8,
    salvo: int = 1,
    future_value: list[float] | None = None,
    future_pk: list[list[float]] | None = None,
    discount: float = 0.9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One track, one battery, M = len(now) types; solved exactly (brute force)."""
    m = len(now)
    fv = np.array(future_value or [], dtype=float)
    fpk = np.array(future_pk or np.zeros((0, m)), dtype=float).reshape(-1, m)
    lp = lookahead_problem(
        value=np.array([value]),
        pk=np.full((1, m), pk),
        feasible=np.array(now, dtype=bool).reshape(1, 1, m),
        later=np.array(later, dtype=bool).reshape(1, 1, m),
        salvo=np.array([salvo]),
        rounds=np.array(rounds).reshape(1, m),
        cost=np.array(cost, dtype=float),
        future_value=fv,
        future_pk=fpk,
        future_salvo=2,
        discount=discount,
    )
    x = solve_brute_force(lp.problem).x
    return fire_now(lp, x)


def test_a_round_waits_for_a_cheaper_later_shot() -> None:
    # Value 5, Pk 0.8. Now: type 0 at cost 2 gains 0.8*5 - 2 = 2.0. Later: type 1
    # at cost 1 gains 0.9*0.8*5 - 1 = 2.6 > 2.0: keep (fire nothing now).
    rows, _, _ = _one_option_each(5.0, [True, False], [True, True], [2.0, 1.0], [1, 1])
    assert rows.size == 0
    # Discount 0.5: later gains 0.5*0.8*5 - 1 = 1.0 < 2.0: fire type 0 now.
    rows, opt, count = _one_option_each(
        5.0, [True, False], [True, True], [2.0, 1.0], [1, 1], discount=0.5
    )
    assert rows.tolist() == [0] and opt.tolist() == [0] and count.tolist() == [1]


def test_a_long_range_round_is_kept_for_a_threat_only_it_can_reach() -> None:
    # One long-range round (type 0), Pk 0.7 now at an aircraft of value 8: 5.6.
    # An expected ballistic missile only type 0 can engage, Pk 0.5, discount 0.8:
    # worth 0.8 * 0.5 * V_b. V_b = 10 -> 4.0 < 5.6: fire now; V_b = 20 -> 8.0: keep.
    kw: dict[str, Any] = {"pk": 0.7, "discount": 0.8, "future_pk": [[0.5]]}
    rows, _, _ = _one_option_each(8.0, [True], [True], [0.0], [1], future_value=[10.0], **kw)
    assert rows.tolist() == [0]
    rows, _, _ = _one_option_each(8.0, [True], [True], [0.0], [1], future_value=[20.0], **kw)
    assert rows.size == 0


def test_the_second_round_of_a_salvo_is_kept_when_a_later_threat_needs_it() -> None:
    # Two rounds, salvo up to 2, Pk 0.7, value 8. A second round now adds
    # 8 * 0.7 * 0.3 = 1.68; kept for an expected threat of value 8 at discount
    # 0.8 it is worth 0.8 * 0.7 * 8 = 4.48: one round now, one kept.
    rows, _, count = _one_option_each(
        8.0, [True], [True], [0.0], [2], pk=0.7, salvo=2,
        future_value=[8.0], future_pk=[[0.7]], discount=0.8,
    )  # fmt: skip
    assert rows.tolist() == [0] and count.tolist() == [1]
    # Without the later threat both go now (each adds value at no cost).
    rows, _, count = _one_option_each(8.0, [True], [True], [0.0], [2], pk=0.7, salvo=2)
    assert count.tolist() == [2]


def _planner(n_m: int, cost: np.ndarray, salvo: int) -> LookaheadPlanner:
    mis = MissileParams(
        names=tuple(f"m{i}" for i in range(n_m)),
        min_range_m=np.zeros(n_m),
        max_range_m=np.full(n_m, 1e5),
        min_alt_m=np.zeros(n_m),
        max_alt_m=np.full(n_m, 3e4),
        speed_mps=np.full(n_m, 1000.0),
        max_target_speed_mps=np.full(n_m, 3000.0),
        pk=np.full(n_m, 0.7),
        basket_m=np.full(n_m, 1000.0),
        max_tof_s=np.full(n_m, np.inf),
        cost=cost,
    )
    doc = DoctrineParams(
        salvo_size=salvo, policy="shoot_look_shoot", max_missiles_per_target=salvo,
        kill_assessment_s=4.0, max_track_age_s=5.0, engage_order="threat_score",
        decision_period_s=2.0, planner="lookahead", wta_solver="heuristic",
        wta_time_limit_s=5.0, missile_cost_weight=1.0, tgo_softening_s=60.0,
        type_weight=np.ones(1),
    )  # fmt: skip
    return LookaheadPlanner(mis, doc)


@st.composite
def _requests(draw: st.DrawFn) -> tuple[LookaheadPlanner, PlanRequest]:
    n = draw(st.integers(1, 8))
    n_b = draw(st.integers(1, 3))
    n_m = draw(st.integers(1, 3))
    f = draw(st.integers(0, 4))
    salvo = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    feasible = rng.random((n, n_b, n_m)) < 0.5
    req = PlanRequest(
        score=rng.random(n),
        order=np.arange(n),
        salvo=rng.integers(1, salvo + 1, n),
        feasible=feasible,
        t_intercept_rel_s=np.where(feasible, rng.uniform(10, 100, feasible.shape), np.inf),
        stock=rng.integers(0, 4, (n_b, n_m)),
        target_channels_free=rng.integers(0, 4, n_b),
        missile_channels_free=rng.integers(0, 6, n_b),
        pk=rng.uniform(0.2, 0.95, (n, n_m)),
        value=rng.uniform(0.0, 10.0, n),
        later=rng.random((n, n_b, n_m)) < 0.5,
        future_value=rng.uniform(0.0, 10.0, f),
        future_pk=rng.uniform(0.0, 0.9, (f, n_m)),
        reloads=rng.integers(0, 3, (n_b, n_m)),
    )
    return _planner(n_m, rng.uniform(0.0, 2.0, n_m), salvo), req


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_requests())
def test_lookahead_plans_respect_channels_magazines_and_envelopes(
    case: tuple[LookaheadPlanner, PlanRequest],
) -> None:
    planner, req = case
    plan = planner.plan(req)
    n, n_b, n_m = req.feasible.shape
    b, m = plan.option // n_m, plan.option % n_m
    # One engagement per track, within its salvo, only with an option that can fire now.
    assert np.unique(plan.rows).size == plan.rows.size
    assert (plan.count >= 1).all() and (plan.count <= req.salvo[plan.rows]).all()
    assert req.feasible[plan.rows, b, m].all()
    # Magazines on the launchers (not the reloads), target and missile channels.
    fired = np.zeros((n_b, n_m), dtype=np.int64)
    np.add.at(fired, (b, m), plan.count)
    assert (fired <= req.stock).all()
    assert (np.bincount(b, minlength=n_b) <= req.target_channels_free).all()
    assert (np.bincount(b, weights=plan.count, minlength=n_b) <= req.missile_channels_free).all()


# ----------------------------------------------------------------------------- doctrine


def _rules_params(small: dict[str, Any], **doctrine: Any) -> SimParams:
    d = copy.deepcopy(small)
    d["missiles"]["m2"] = {**d["missiles"]["m1"], "cost": 3}
    d["batteries"][0]["load"] = {"m1": 2, "m2": 2}
    d["doctrine"] = doctrine
    return compile_scenario(parse_scenario(dump(d)))


def test_engage_with_and_value_floor_strike_types(small_dict: dict[str, Any]) -> None:
    p = _rules_params(small_dict, engage_with={"aircraft": ["m2"]}, min_threat_value={"m2": 0.5})
    value = np.array([1.0, 0.2, 1.0])
    ttype = np.array([0, 0, -1])  # unknown identity: no type rule
    ok = allowed_types(p, value, ttype)
    # Track 0: only m2 by type; track 1: m2 allowed by type but under its floor;
    # track 2: unidentified, m1 allowed and m2 above its floor.
    assert ok.tolist() == [[False, True], [False, False], [True, True]]


def test_reserve_share_keeps_rounds_for_threats_no_other_type_can_engage(
    small_dict: dict[str, Any],
) -> None:
    # 4 rounds of m2 at the battery (2 launchers x 2); reserve 50 % keeps 2.
    p = _rules_params(small_dict, reserve_share={"m2": 0.5})
    allowed = np.ones((2, 2), dtype=bool)
    feasible = np.array([[[True, True]], [[False, True]]])  # track 1: only m2 can
    stock = np.array([[4, 3]])
    out = doctrine_rules(p, feasible, allowed, np.array([2, 2]), stock, np.zeros_like(stock))
    # 3 m2 left, 2 kept: a salvo of 2 does not fit above the reserve for track 0,
    # which m1 can engage; track 1 may use the reserve.
    assert out.tolist() == [[[True, False]], [[False, True]]]
    out = doctrine_rules(p, feasible, allowed, np.array([1, 1]), stock, np.zeros_like(stock))
    assert out.tolist() == [[[True, True]], [[False, True]]]


@pytest.mark.parametrize(
    ("field", "value", "path", "expect"),
    [
        ("reserve_share", {"nope": 0.5}, "doctrine.reserve_share.nope", "missiles library"),
        ("reserve_share", {"m1": 1.5}, "doctrine.reserve_share.m1", "less than or equal to 1"),
        ("min_threat_value", {"nope": 1}, "doctrine.min_threat_value.nope", "missiles library"),
        ("engage_with", {"ghosts": ["m1"]}, "doctrine.engage_with.ghosts", "no raid has type"),
        ("engage_with", {"aircraft": ["nope"]}, "doctrine.engage_with.aircraft[0]", "library"),
        ("engage_with", {"aircraft": []}, "doctrine.engage_with.aircraft", "at least 1"),
        ("threat_values", {"ghosts": 3}, "doctrine.threat_values.ghosts", "no raid has type"),
        (
            "expected_threats",
            {"aircraft": -1},
            "doctrine.expected_threats.aircraft",
            "greater than or equal to 0",
        ),
        ("planner", "psychic", "doctrine.planner", "lookahead"),
        ("policy", "sometimes", "doctrine.policy", "adaptive"),
        ("lookahead_discount", 2, "doctrine.lookahead_discount", "less than or equal to 1"),
    ],
)
def test_battle_management_fields_are_validated(
    small_dict: dict[str, Any], field: str, value: Any, path: str, expect: str
) -> None:
    d = copy.deepcopy(small_dict)
    d["doctrine"] = {field: value}
    with pytest.raises(ScenarioError) as info:
        parse_scenario(dump(d), "bad.yaml")
    text = str(info.value)
    assert path in text, text
    assert expect.lower() in text.lower(), text


# ----------------------------------------------------------------------------- adaptive


def _one_jet(small: dict[str, Any], **doctrine: Any) -> SimParams:
    d = copy.deepcopy(small)
    d["raids"][0]["count"] = 1
    d["missiles"]["m1"]["pk"] = 0.5
    d["doctrine"] = {"decision_period_s": 1.0, "salvo_size": 2, **doctrine}
    return compile_scenario(parse_scenario(dump(d)))


def _first_salvo(r: RunResult) -> int:
    la = np.flatnonzero(r.events.kind == K["launch"])
    assert la.size
    return int((r.events.time_s[la] == r.events.time_s[la[0]]).sum())


def test_adaptive_fires_one_round_when_a_look_fits_and_a_salvo_when_not(
    small_dict: dict[str, Any],
) -> None:
    # The jet flies 120 km at 250 m/s (480 s) at a battery whose 1,000 m/s round
    # reaches 120 km: the first intercept is ~100 s away, so a look (4 s
    # assessment + 1 s) and a second shot fit: one round. With a 400 s
    # assessment no second shot can land before the jet arrives: the salvo.
    r = simulate(_one_jet(small_dict, policy="adaptive", kill_assessment_s=4.0), seed=1)
    assert _first_salvo(r) == 1
    check_invariants(r)
    r = simulate(_one_jet(small_dict, policy="adaptive", kill_assessment_s=400.0), seed=1)
    assert _first_salvo(r) == 2
    check_invariants(r)
    # The fixed policy fires the salvo either way.
    r = simulate(_one_jet(small_dict, policy="shoot_look_shoot"), seed=1)
    assert _first_salvo(r) == 2


# ----------------------------------------------------------------------------- whole runs


def _default(**doctrine: Any) -> SimParams:
    import yaml

    d = yaml.safe_load(builtin_text("default"))
    d["doctrine"].update(doctrine)
    return compile_scenario(parse_scenario(dump(d)))


_RULES = {
    "planner": "lookahead",
    "policy": "adaptive",
    "engage_with": {"one-way attack drone": ["9M96E-class", "9M96E2-class"]},
    "min_threat_value": {"40N6-class": 4.0},
    "reserve_share": {"40N6-class": 0.5},
}


@RUN_SEEDS
@given(seed=st.integers(0, 10_000))
def test_lookahead_runs_keep_every_engagement_invariant(seed: int) -> None:
    p = _default(**_RULES)
    r = simulate(p, seed=seed)
    check_invariants(r)
    check_kill_chain(r)
    ev = r.events
    la = ev.kind == K["launch"]
    names = p.missiles.names
    ttype = p.threats.type_index[ev.threat_id[la]]
    drone = p.threats.type_names.index("one-way attack drone")
    allowed = {names.index("9M96E-class"), names.index("9M96E2-class")}
    # engage_with: drones only with the two short-range types.
    assert set(ev.missile_type[la][ttype == drone].tolist()) <= allowed
    assert not ((ev.missile_type[la] == names.index("40N6-class")) & (ttype == drone)).any()
    # The reserve: half the battalion's 40N6-class rounds (8) are kept for threats
    # nothing else can engage; the value floor and the type rule are unit-tested above.
    assert (ev.missile_type[la] == names.index("40N6-class")).sum() <= 8


def test_perfect_intelligence_expects_the_scenarios_own_raid_sizes(
    small_dict: dict[str, Any],
) -> None:
    d = copy.deepcopy(small_dict)
    d["raids"].append({**d["raids"][0], "name": "more", "type": "drone", "count": 5})
    d["doctrine"] = {"planner": "lookahead", "perfect_intelligence": True}
    p = compile_scenario(parse_scenario(dump(d)))
    counts = dict(zip(p.threats.type_names, p.doctrine.expected_threats.tolist(), strict=True))
    assert counts == {"aircraft": 3, "drone": 5}
