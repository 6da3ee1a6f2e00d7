"""Weapon-target assignment solvers: exactness, bounds, heuristics, the `wta` command."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skydome.engagement.wta import (
    WtaProblem,
    objective,
    solve,
    solve_brute_force,
    solve_exact,
    solve_heuristic,
    solve_lns,
    unit_assignment,
)
from tests.cli import sky


def random_problem(seed: int, w: int, t: int, typed: bool = False) -> WtaProblem:
    """The literature's generator: V ~ U[25, 100], p ~ U[0.6, 0.9] (Ahuja et al. 2007)."""
    rng = np.random.default_rng(seed)
    return WtaProblem(
        values=rng.uniform(25, 100, t),
        pk=rng.uniform(0.6, 0.9, (w, t)),
        counts=rng.integers(1, 4, w) if typed else np.zeros(0, dtype=np.int64),
    )


problems = st.builds(
    lambda seed, w, t, sparse, cost, cap: _variant(seed, w, t, sparse, cost, cap),
    seed=st.integers(0, 2**31),
    w=st.integers(1, 6),
    t=st.integers(1, 5),
    sparse=st.booleans(),
    cost=st.booleans(),
    cap=st.sampled_from([None, 1, 2]),
)


def _variant(seed: int, w: int, t: int, sparse: bool, cost: bool, cap: int | None) -> WtaProblem:
    rng = np.random.default_rng(seed)
    pk = rng.uniform(0.0, 1.0, (w, t))
    if sparse:
        pk *= rng.random((w, t)) < 0.6  # out-of-envelope pairs
    return WtaProblem(
        values=rng.uniform(0, 100, t),
        pk=pk,
        cost=rng.uniform(0, 40, w) if cost else np.zeros(0),
        max_per_target=cap,
    )


@settings(max_examples=120, deadline=None)
@given(p=problems)
def test_exact_equals_brute_force_up_to_6_by_5(p: WtaProblem) -> None:
    bf = solve_brute_force(p)
    ex = solve_exact(p, time_limit_s=20.0)
    assert ex.optimal
    assert ex.objective == pytest.approx(bf.objective, rel=1e-6, abs=1e-9)
    assert ex.lower_bound is not None and ex.lower_bound <= bf.objective + 1e-6
    assert objective(p, ex.x) == pytest.approx(ex.objective)


@settings(max_examples=120, deadline=None)
@given(p=problems)
def test_heuristic_is_feasible_and_never_beats_the_optimum(p: WtaProblem) -> None:
    bf = solve_brute_force(p)
    h = solve_heuristic(p, time_limit_s=0.2)
    assert h.objective >= bf.objective - 1e-9
    assert (h.x >= 0).all() and (h.x.sum(axis=1) <= p.counts).all()
    if p.max_per_target is not None:
        assert (h.x.sum(axis=0) <= p.max_per_target).all()
    assert (h.x[p.pk == 0] == 0).all() or objective(p, h.x) >= bf.objective


def test_typed_weapons_with_counts_match_brute_force() -> None:
    for seed in range(8):
        p = random_problem(seed, 3, 3, typed=True)
        bf = solve_brute_force(p)
        ex = solve_exact(p)
        assert ex.optimal and ex.objective == pytest.approx(bf.objective, rel=1e-6)
        assert (ex.x.sum(axis=1) <= p.counts).all()


def test_one_weapon_one_target_closed_form() -> None:
    p = WtaProblem(values=np.array([10.0]), pk=np.array([[0.7]]))
    r = solve_exact(p)
    assert r.objective == pytest.approx(3.0)  # 10 * (1 - 0.7)
    assert r.x.tolist() == [[1]]


def test_cost_above_marginal_return_holds_fire() -> None:
    # Firing gains 10 * 0.7 = 7 < cost 8: the optimum does not fire.
    p = WtaProblem(values=np.array([10.0]), pk=np.array([[0.7]]), cost=np.array([8.0]))
    for r in (solve_exact(p), solve_heuristic(p)):
        assert r.x.sum() == 0 and r.objective == pytest.approx(10.0)


def test_certain_kill_is_handled() -> None:
    p = WtaProblem(values=np.array([5.0, 7.0]), pk=np.array([[1.0, 0.2], [0.5, 1.0]]))
    for r in (solve_exact(p), solve_heuristic(p)):
        assert r.objective == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("n", [20, 40])
def test_heuristic_within_half_a_percent_of_proven_optimum(n: int) -> None:
    for seed in range(3):
        p = random_problem(1000 * n + seed, n, n)
        ex = solve_exact(p, time_limit_s=30.0)
        assert ex.optimal
        h = solve_heuristic(p)
        assert h.objective <= ex.objective * 1.005


def test_auto_reports_bound_and_optimality() -> None:
    small = solve(random_problem(1, 10, 10), "auto", 10.0)
    assert small.optimal and small.gap is not None and small.gap <= 1e-6
    p = random_problem(2, 120, 120)
    t0 = time.perf_counter()
    big = solve(p, "auto", 1.0)
    assert time.perf_counter() - t0 < 1.4
    # Above the MILP's size: the search, and the Lagrangian bound (valid, weak).
    assert big.solver == "auto(lns)" and not big.optimal
    assert big.lower_bound is not None and big.lower_bound <= big.objective
    assert big.objective <= solve_heuristic(p).objective * (1 + 1e-12)


def test_unit_assignment_lists_every_weapon() -> None:
    p = WtaProblem(
        values=np.array([10.0, 20.0]),
        pk=np.array([[0.5, 0.5]]),
        counts=np.array([3]),
        max_per_target=1,
    )
    r = solve_exact(p)
    (units,) = unit_assignment(p, r.x)
    assert sorted(units) == [-1, 0, 1]


# ----------------------------------------------------------------------------- the command


def test_wta_command_solves_and_writes_result(tmp_path: Path) -> None:
    p = random_problem(7, 5, 4)
    inst = tmp_path / "i.json"
    inst.write_text(json.dumps({"values": p.values.tolist(), "pk": p.pk.tolist()}))
    out = tmp_path / "r.json"
    res = sky("wta", str(inst), "--solver", "exact", "--out", str(out))
    assert res.returncode == 0, res.stderr
    r = json.loads(out.read_text())
    bf = solve_brute_force(p)
    assert r["optimal"] is True
    assert r["expected_surviving_value"] == pytest.approx(bf.objective, rel=1e-6)
    x = np.zeros((5, 4), dtype=np.int64)
    for i, j in enumerate(r["assignment"]):
        if j >= 0:
            x[i, j] = 1
    assert objective(p, x) == pytest.approx(bf.objective, rel=1e-6)
    assert r["lower_bound"] <= r["expected_surviving_value"] + 1e-9
    assert {"solver", "seconds", "gap"} <= set(r)


def test_wta_command_weapon_types(tmp_path: Path) -> None:
    inst = tmp_path / "i.json"
    inst.write_text(json.dumps({"values": [10, 20], "pk": [[0.5, 0.5]], "weapon_counts": [3]}))
    out = tmp_path / "r.json"
    assert sky("wta", str(inst), "--out", str(out)).returncode == 0
    r = json.loads(out.read_text())
    assert len(r["assignment"][0]) == 3  # one entry per weapon of the type
    assert sum(r["allocation"][0]) == 3


def test_wta_command_lns_with_a_cap_per_target(tmp_path: Path) -> None:
    inst = tmp_path / "i.json"
    inst.write_text(
        json.dumps(
            {
                "values": [10, 20, 30],
                "pk": [[0.5, 0.6, 0.7], [0.8, 0.4, 0.3]],
                "weapon_counts": [3, 2],
                "max_per_target": [0, 2, 1],
            }
        )
    )
    out = tmp_path / "r.json"
    assert (
        sky(
            "wta", str(inst), "--out", str(out), "--solver", "lns", "--time-limit", "0.3"
        ).returncode
        == 0
    )
    r = json.loads(out.read_text())
    load = np.asarray(r["allocation"]).sum(axis=0)
    assert (load <= [0, 2, 1]).all() and r["solver"] == "lns"
    # Brute force: target 0 is closed, so the best is 2 on target 1 and 1 on target 2.
    p = WtaProblem(
        np.array([10.0, 20, 30]),
        np.array([[0.5, 0.6, 0.7], [0.8, 0.4, 0.3]]),
        np.array([3, 2]),
        max_per_target=np.array([0, 2, 1]),
    )
    assert r["objective"] == pytest.approx(solve_brute_force(p).objective)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"values": [1, 2], "pk": [[0.5], [0.2, 0.3]]}', "pk[0] has 1 entries"),
        ('{"values": [1], "pk": [[1.5]]}', "pk[0][0]"),
        ('{"values": [-1], "pk": [[0.5]]}', "values[0]"),
        ('{"values": [], "pk": []}', "at least 1"),
        ('{"values": [1], "pk": [[0.5]], "weapon_counts": [1, 2]}', "weapon_counts has 2"),
        ('{"values": [1], "pk": [[0.5]], "extra": 1}', "unknown field"),
        ('{"values": [1], "pk": [[0.5]]', "invalid JSON"),
        ("[1, 2]", "expected an object"),
        ('{"values": [1, 2], "pk": [[0.5, 0.5]], "max_per_target": [1]}', "one per target"),
        ('{"values": [1, 2], "pk": [[0.5, 0.5]], "max_per_target": [1, -1]}', "entry 1"),
        ('{"values": [1], "pk": [[0.5]], "max_per_target": 0}', ">= 1"),
    ],
    ids=[
        "ragged",
        "p>1",
        "negative",
        "empty",
        "counts",
        "extra",
        "json",
        "array",
        "caps-length",
        "caps-negative",
        "cap-zero",
    ],
)
def test_wta_bad_instance_exit_2(tmp_path: Path, content: str, needle: str) -> None:
    inst = tmp_path / "bad.json"
    inst.write_text(content)
    out = tmp_path / "r.json"
    res = sky("wta", str(inst), "--out", str(out))
    assert res.returncode == 2
    assert needle in res.stderr and str(inst) in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()


# ----------------------------------------------------------------------------- LNS and auto

multi_unit = st.builds(
    lambda seed, w, t, cost, cap: _multi_unit(seed, w, t, cost, cap),
    seed=st.integers(0, 2**31),
    w=st.integers(1, 3),
    t=st.integers(1, 4),
    cost=st.booleans(),
    cap=st.sampled_from(["none", "int", "array"]),
)


def _multi_unit(seed: int, w: int, t: int, cost: bool, cap: str) -> WtaProblem:
    """Types of 1-3 units (7 at most in all), out-of-envelope pairs, optional costs, caps."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 4, w)
    while counts.sum() > 7:
        counts[int(np.argmax(counts))] -= 1
    caps: int | np.ndarray | None = None
    if cap == "int":
        caps = int(rng.integers(1, 3))
    elif cap == "array":
        caps = rng.integers(0, 3, t)  # 0: a target not to be engaged
    return WtaProblem(
        values=rng.uniform(0, 100, t),
        pk=rng.uniform(0.0, 1.0, (w, t)) * (rng.random((w, t)) < 0.8),
        counts=counts,
        cost=rng.uniform(0, 30, w) if cost else np.zeros(0),
        max_per_target=caps,
    )


def _feasible(p: WtaProblem, x: np.ndarray) -> bool:
    ok = bool((x >= 0).all() and (x.sum(axis=1) <= p.counts).all())
    return ok and (p.max_per_target is None or bool((x.sum(axis=0) <= p.max_per_target).all()))


@settings(max_examples=20, deadline=None)
@given(p=multi_unit)
def test_lns_feasible_never_worse_than_heuristic_never_beats_brute_force(p: WtaProblem) -> None:
    bf = solve_brute_force(p)
    h = solve_heuristic(p)
    r = solve_lns(p, 30.0, seed=0, max_iter=30)
    assert _feasible(p, r.x) and objective(p, r.x) == pytest.approx(r.objective)
    assert r.objective <= h.objective * (1 + 1e-12) + 1e-12
    assert r.objective >= bf.objective - 1e-9 * max(1.0, bf.objective)


def test_lns_finds_the_brute_force_optimum_on_tiny_multi_unit_instances() -> None:
    # Fixed instances (types of 1-3 units, 6 at most; caps none / int / array):
    # the first 20 seeds, and seeds on which the heuristic was seen to miss the
    # optimum (a search over seeds 0-600). The search must find it on all.
    missed_h = 0
    for seed in [*range(20), 55, 110, 167, 243, 271, 396, 415, 579]:
        rng = np.random.default_rng(seed)
        w, t = int(rng.integers(2, 4)), int(rng.integers(2, 5))
        p = _multi_unit(seed, w, t, seed % 2 == 0, ("none", "int", "array")[seed % 3])
        if p.counts.sum() > 6:
            p = WtaProblem(p.values, p.pk, np.minimum(p.counts, 2), p.cost, p.max_per_target)
        bf = solve_brute_force(p)
        tol = 1e-9 * max(1.0, bf.objective)
        missed_h += solve_heuristic(p).objective > bf.objective + tol
        r = solve_lns(p, 30.0, seed=seed, max_iter=60)
        assert r.objective <= bf.objective + tol, seed
    assert missed_h >= 4  # the instances test the search, not just the heuristic


def test_lns_same_seed_same_plan() -> None:
    p = WtaProblem(
        values=np.random.default_rng(3).uniform(25, 100, 40),
        pk=np.random.default_rng(4).uniform(0.6, 0.9, (20, 40)),
        counts=np.full(20, 3, dtype=np.int64),
    )
    a = solve_lns(p, 60.0, seed=7, max_iter=40)
    b = solve_lns(p, 60.0, seed=7, max_iter=40)
    assert np.array_equal(a.x, b.x) and a.objective == b.objective


def test_lns_honours_its_deadline_on_500_by_1000() -> None:
    rng = np.random.default_rng(11)
    p = WtaProblem(
        values=rng.uniform(25, 100, 1000),
        pk=rng.uniform(0.6, 0.9, (500, 1000)),
        counts=np.full(500, 3, dtype=np.int64),
    )
    t0 = time.perf_counter()
    r = solve(p, "lns", 0.3)
    assert time.perf_counter() - t0 < 0.6
    assert _feasible(p, r.x) and r.status == "time_limit"


def test_lns_improves_on_the_heuristic_with_three_units_per_type() -> None:
    # The duplicated-unit form, where the heuristic stops several per cent
    # above the optimum: a second of search must improve it.
    rng = np.random.default_rng([30, 60, 3, 0])
    p = WtaProblem(
        values=rng.integers(1, 100, 60).astype(np.float64),
        pk=rng.uniform(0.0, 1.0, (30, 60)),
        counts=np.full(30, 3, dtype=np.int64),
    )
    h = solve_heuristic(p)
    r = solve(p, "lns", 1.0)
    assert r.objective < h.objective * (1 - 1e-4)


def test_auto_within_budget_never_worse_than_heuristic_on_multi_unit() -> None:
    rng = np.random.default_rng(5)
    p = WtaProblem(
        values=rng.uniform(25, 100, 60),
        pk=rng.uniform(0.6, 0.9, (40, 60)),
        counts=np.full(40, 2, dtype=np.int64),
    )
    t0 = time.perf_counter()
    r = solve(p, "auto", 1.5)
    assert time.perf_counter() - t0 < 2.0
    assert r.objective <= solve_heuristic(p).objective * (1 + 1e-12)
    assert r.lower_bound is None or r.lower_bound <= r.objective + 1e-9


def _tied_instance(rng: np.random.Generator, k: int) -> WtaProblem:
    """A small instance full of equal gains: Pk on a 0.1 grid, half the targets identical
    (as the lookahead's expected threats), every other one with caps per target."""
    w, t = int(rng.integers(1, 8)), int(rng.integers(1, 40))
    pk = np.round(rng.uniform(0, 1, (w, t)), 1)
    pk[:, : t // 2] = pk[:, :1]
    return WtaProblem(
        values=np.round(rng.uniform(0, 10, t)),
        pk=pk,
        counts=rng.integers(0, 5, w),
        cost=np.round(rng.uniform(0, 2, w), 1),
        max_per_target=rng.integers(0, 3, t) if k % 2 else None,
    )


def test_compiled_greedy_equals_the_numpy_greedy_ties_included(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine's small instances run `wta_kernel`: the same plans, tie rules and all."""
    from skydome.engagement import wta_heuristic as h

    rng = np.random.default_rng(7)
    problems = [_tied_instance(rng, k) for k in range(300)]
    compiled = [h._mmr_greedy(p) for p in problems]
    monkeypatch.setattr(h, "_KERNEL_MAX_CELLS", 0)  # the numpy form from here on
    for k, (p, (x, done)) in enumerate(zip(problems, compiled, strict=True)):
        assert done
        assert np.array_equal(x, h._mmr_greedy(p)[0]), k


def test_compiled_local_search_equals_the_numpy_local_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same moves in the same order from greedy and empty starts, caps or not."""
    from skydome.engagement import wta_heuristic as h
    from skydome.engagement.wta_problem import _capped

    rng = np.random.default_rng(11)
    cases = []
    for k in range(200):
        p = _capped(_tied_instance(rng, k))
        for x0 in (h._mmr_greedy(p)[0], np.zeros(p.pk.shape, dtype=np.int64)):
            cases.append((k, p, x0, h._local_search(p, x0, np.inf)))
    monkeypatch.setattr(h, "_KERNEL_MAX_CELLS", 0)  # the numpy form from here on
    for k, p, x0, (x, conv) in cases:
        assert conv
        assert np.array_equal(x, h._local_search(p, x0, np.inf)[0]), k
