"""WTA at the edges: duplicated units, absurd counts, deadlines, solver failures, messages.

Each test here failed on the solver before issue 10: hangs run in a subprocess
with a timeout, memory cases under RLIMIT_AS, so a regression fails fast.
"""

from __future__ import annotations

import functools
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import skydome.engagement.wta_exact as WE
import skydome.engagement.wta_heuristic as WH
from skydome.engagement.wta import (
    STATUSES,
    WtaProblem,
    objective,
    solve,
    solve_brute_force,
    solve_exact,
    solve_heuristic,
    solve_lns,
    useful_counts,
)
from tests import cli

GIB = 1024**3


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 * GIB, 3 * GIB))


def run_py(code: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Python in a child with a memory cap: a hang or a blow-up fails, never stalls CI."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_limit_memory,
    )


sky = functools.partial(cli.sky, timeout=120, memory_limit=3 * GIB)


def duplicated(w: int, t: int, units: int, seed: int = 0) -> WtaProblem:
    """The issue's reproduction: V_j integer 1..99, p_ij ~ U[0, 1], `units` weapons a type."""
    rng = np.random.default_rng([w, t, units, seed])
    return WtaProblem(
        values=rng.integers(1, 100, t).astype(np.float64),
        pk=rng.uniform(0.0, 1.0, (w, t)),
        counts=np.full(w, units, dtype=np.int64),
    )


# ----------------------------------------------------------------------------- 1. hangs


def test_assignment_on_duplicated_rows_terminates() -> None:
    # min_weight_full_bipartite_matching looped forever on exactly this matrix.
    code = (
        "import numpy as np\n"
        "from skydome.engagement.wta_heuristic import _max_assignment\n"
        "rng = np.random.default_rng(0)\n"
        "G = rng.uniform(0, 1, (100, 200)) * rng.integers(1, 100, 200)\n"
        "r, c = _max_assignment(np.repeat(G, 2, axis=0))\n"
        "assert r.size == 200 and np.unique(c).size == 200\n"
    )
    res = run_py(code, timeout=60)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("units", [2, 3])
def test_heuristic_on_duplicated_units_returns_within_its_limit(units: int) -> None:
    code = (
        "import time, numpy as np\n"
        "from skydome.engagement.wta import WtaProblem, solve\n"
        f"rng = np.random.default_rng({units})\n"
        "p = WtaProblem(values=rng.integers(1, 100, 400).astype(float),\n"
        "               pk=rng.uniform(0, 1, (200, 400)),\n"
        f"               counts=np.full(200, {units}))\n"
        "for solver in ('heuristic', 'auto'):\n"
        "    t0 = time.perf_counter()\n"
        "    r = solve(p, solver, 1.0)\n"
        "    dt = time.perf_counter() - t0\n"
        "    assert dt < 1.0 + 0.75, (solver, dt)\n"
        "    assert r.x.sum() > 0 and r.status in ('local_optimum', 'time_limit')\n"
    )
    res = run_py(code, timeout=90)
    assert res.returncode == 0, res.stderr


def test_heuristic_never_worse_than_the_greedy_on_duplicated_units() -> None:
    for units in (2, 3):
        p = duplicated(100, 200, units)
        g, _ = WH._mmr_greedy(p)
        h = solve_heuristic(p, 1.0)
        assert h.objective <= objective(p, g) + 1e-9


# ----------------------------------------------------------------------------- 2. sizes


def test_useful_counts_cap_and_keep_the_optimum() -> None:
    p = WtaProblem(
        values=np.array([100.0, 50.0]),
        pk=np.array([[0.5, 0.6]]),
        counts=np.array([1_000_000_000]),
    )
    cap = useful_counts(p)
    # 52 ln 2 / ln 2 + ceil(52 ln 2 / ln 2.5) shots: survival 2^-52 on both.
    assert cap.tolist() == [52 + 40]
    costly = WtaProblem(p.values, p.pk, np.array([10**9]), cost=np.array([20.0]))
    # 100 * 0.5^(k-1) * 0.5 > 20 for k <= 2; 50 * 0.4^(k-1) * 0.6 > 20 for k <= 1.
    assert useful_counts(costly).tolist() == [3]
    capped = WtaProblem(p.values, p.pk, np.array([10**9]), max_per_target=4)
    assert useful_counts(capped).tolist() == [8]
    for q in (costly, capped):
        small = WtaProblem(q.values, q.pk, useful_counts(q), q.cost, q.max_per_target)
        assert solve_exact(q).objective == pytest.approx(solve_brute_force(small).objective)


@pytest.mark.parametrize("count", ["1000000000", "10000000"])
def test_absurd_counts_solve_in_bounded_time_and_memory(tmp_path: Path, count: str) -> None:
    inst = tmp_path / "i.json"
    inst.write_text(f'{{"values":[100,50],"pk":[[0.5,0.6]],"weapon_counts":[{count}]}}')
    out = tmp_path / "r.json"
    t0 = time.perf_counter()
    res = sky("wta", str(inst), "--time-limit", "10", "--out", str(out), timeout=60)
    assert res.returncode == 0, res.stderr
    assert time.perf_counter() - t0 < 30
    r = json.loads(out.read_text())
    assert r["status"] == "optimal" and r["objective"] < 1e-12
    assert r["held"][0] == int(count) - len(r["assignment"][0])


@pytest.mark.parametrize(
    ("counts", "needle"),
    [
        ("[1e29]", "at most 1,000,000,000"),
        ("[2.5]", "whole number"),
        ("[true]", "whole number, not true/false"),
        ("[-1]", "greater than or equal to 0"),
        ("[10000000000]", "at most 1,000,000,000"),
    ],
    ids=["1e29", "float", "bool", "negative", "1e10"],
)
def test_bad_counts_exit_2_with_one_clear_line(tmp_path: Path, counts: str, needle: str) -> None:
    inst = tmp_path / "i.json"
    inst.write_text(f'{{"values":[100,50],"pk":[[0.5,0.6]],"weapon_counts":{counts}}}')
    res = sky("wta", str(inst), "--out", str(tmp_path / "r.json"), timeout=60)
    assert res.returncode == 2
    assert needle in res.stderr and "weapon_counts[0]" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("prefix", ["", '{"values": '], ids=["top", "in-field"])
def test_deep_json_exit_2(tmp_path: Path, prefix: str) -> None:
    inst = tmp_path / "i.json"
    inst.write_text(prefix + "[" * 100_000 + "]" * 100_000 + ("}" if prefix else ""))
    res = sky("wta", str(inst), "--out", str(tmp_path / "r.json"), timeout=60)
    assert res.returncode == 2
    assert "nested too deeply" in res.stderr and "Traceback" not in res.stderr


def test_oversized_instance_exit_2_with_its_size(tmp_path: Path) -> None:
    inst = tmp_path / "i.json"
    inst.write_text(json.dumps({"values": [1.0] * 4001, "pk": [[0.5]] * 1000}))
    res = sky("wta", str(inst), "--out", str(tmp_path / "r.json"), timeout=60)
    assert res.returncode == 2
    assert "1,000 weapon rows x 4,001 targets = 4,001,000 pairs" in res.stderr


def test_unknown_field_suggests_the_wta_field(tmp_path: Path) -> None:
    inst = tmp_path / "i.json"
    inst.write_text('{"values": [1], "pk": [[0.5]], "weapon_count": [1]}')
    res = sky("wta", str(inst), "--out", str(tmp_path / "r.json"), timeout=60)
    assert res.returncode == 2
    assert "did you mean 'weapon_counts'?" in res.stderr
    assert "fields: values, pk, weapon_counts, costs, max_per_target" in res.stderr
    assert "skydome schema" not in res.stderr


# ----------------------------------------------------------------------------- 3. exact

SMALL = WtaProblem(
    values=np.array([100.0, 50.0, 30.0]),
    pk=np.array([[0.8, 0.6, 0.5], [0.7, 0.9, 0.4]]),
    counts=np.array([2, 3]),
    cost=np.array([1.0, 1.0]),
)
# HiGHS failed ("Solve error", no solution) on the MILPs of these: unbounded z_j
# (the instance) and a duplicated cut row (found by fuzzing).
DUP_CUT = WtaProblem(
    values=np.array([37.04619098, 77.52652832]),
    pk=np.array([[0.68429271, 0.93255149], [0.54754131, 0.0], [0.0, 0.46539998]]),
    counts=np.array([1, 2, 1]),
    max_per_target=2,
)


def _seed_386() -> WtaProblem:
    rng = np.random.default_rng(386)
    w, t = rng.integers(1, 7), rng.integers(1, 6)
    return WtaProblem(
        values=rng.uniform(0, 100, t),
        pk=rng.uniform(0, 1, (w, t)) * (rng.random((w, t)) < 0.8),
        counts=rng.integers(1, 4, w),
        max_per_target=2,
    )


@pytest.mark.parametrize("p", [SMALL, DUP_CUT, _seed_386()], ids=["issue", "dup-cut", "seed386"])
def test_exact_is_optimal_where_highs_failed(p: WtaProblem) -> None:
    ex = solve_exact(p, 20.0)
    bf = solve_brute_force(p)
    assert ex.status == "optimal" and ex.optimal
    assert ex.objective == pytest.approx(bf.objective, rel=1e-6)


def test_exact_small_instance_fires(tmp_path: Path) -> None:
    inst = tmp_path / "i.json"
    inst.write_text(
        '{"values":[100,50,30],"pk":[[0.8,0.6,0.5],[0.7,0.9,0.4]],'
        '"weapon_counts":[2,3],"costs":[1,1]}'
    )
    out = tmp_path / "r.json"
    res = sky("wta", str(inst), "--solver", "exact", "--out", str(out), timeout=60)
    assert res.returncode == 0, res.stderr
    r = json.loads(out.read_text())
    assert r["expected_surviving_value"] == pytest.approx(19.8)
    assert r["objective"] == pytest.approx(24.8) and r["weapon_cost"] == pytest.approx(5.0)
    assert r["status"] == "optimal" and r["lower_bound"] <= r["objective"] + 1e-9
    # The printed line names the quantity the bound is on.
    line = " ".join(res.stdout.split())
    assert "objective 24.8 = surviving value 19.8 + weapon cost 5" in line
    assert "lower bound on the objective 24.8" in line and "optimal" in line


def test_exact_falls_back_to_its_incumbent_on_solver_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(m: object, options: object) -> WE._MilpOut:
        return WE._MilpOut(4, None, None, None)

    monkeypatch.setattr(WE, "_milp_in_process", broken)
    h = solve_heuristic(SMALL)
    ex = solve_exact(SMALL, 5.0)
    assert ex.status == "solver_error" and not ex.optimal
    assert ex.objective <= h.objective + 1e-12 and ex.x.sum() > 0


def test_exact_honours_the_time_limit_and_never_loses_to_the_heuristic() -> None:
    rng = np.random.default_rng(1)
    p = WtaProblem(values=rng.uniform(25, 100, 200), pk=rng.uniform(0.6, 0.9, (200, 200)))
    h = solve_heuristic(p, 0.5)
    t0 = time.perf_counter()
    ex = solve(p, "exact", 2.0)
    dt = time.perf_counter() - t0
    assert dt < 2.0 + 1.0, dt
    assert ex.status in ("time_limit", "optimal")
    assert ex.objective <= h.objective * (1 + 1e-9)


# ----------------------------------------------------------------------------- properties

instances = st.builds(
    lambda seed, w, t, cost, cap: _instance(seed, w, t, cost, cap),
    seed=st.integers(0, 2**31),
    w=st.integers(1, 3),
    t=st.integers(1, 4),
    cost=st.booleans(),
    cap=st.sampled_from([None, 1, 2]),
)


def _instance(seed: int, w: int, t: int, cost: bool, cap: int | None) -> WtaProblem:
    rng = np.random.default_rng(seed)
    pk = rng.uniform(0.0, 1.0, (w, t)) * (rng.random((w, t)) < 0.8)
    return WtaProblem(
        values=rng.uniform(0, 100, t),
        pk=pk,
        counts=rng.integers(1, 4, w),
        cost=rng.uniform(0, 30, w) if cost else np.zeros(0),
        max_per_target=cap,
    )


def _feasible(p: WtaProblem, x: np.ndarray) -> bool:
    ok = bool((x >= 0).all() and (x.sum(axis=1) <= p.counts).all())
    return ok and (p.max_per_target is None or bool((x.sum(axis=0) <= p.max_per_target).all()))


@settings(max_examples=60, deadline=None)
@given(p=instances)
def test_typed_instances_exact_is_brute_force_heuristic_beats_greedy(p: WtaProblem) -> None:
    bf = solve_brute_force(p)
    ex = solve_exact(p, 20.0)
    h = solve_heuristic(p, 0.2)
    g, _ = WH._mmr_greedy(p)
    assert ex.status == "optimal" and ex.objective == pytest.approx(bf.objective, rel=1e-6)
    assert h.objective <= objective(p, g) + 1e-9
    assert h.objective >= bf.objective - 1e-9
    assert ex.status in STATUSES and h.status in STATUSES
    for r in (ex, h):
        assert _feasible(p, r.x) and objective(p, r.x) == pytest.approx(r.objective)


# ----------------------------------------------------------------------------- per-target caps

array_capped = st.builds(
    lambda seed, w, t, cost: _array_capped(seed, w, t, cost),
    seed=st.integers(0, 2**31),
    w=st.integers(1, 3),
    t=st.integers(1, 4),
    cost=st.booleans(),
)


def _array_capped(seed: int, w: int, t: int, cost: bool) -> WtaProblem:
    """Types of 1-3 units with a cap per target in 0..2 (0: the target is not engaged)."""
    rng = np.random.default_rng(seed)
    return WtaProblem(
        values=rng.uniform(0, 100, t),
        pk=rng.uniform(0.0, 1.0, (w, t)) * (rng.random((w, t)) < 0.8),
        counts=rng.integers(1, 3, w),
        cost=rng.uniform(0, 30, w) if cost else np.zeros(0),
        max_per_target=rng.integers(0, 3, t),
    )


@settings(max_examples=40, deadline=None)
@given(p=array_capped)
def test_array_caps_are_honoured_by_every_solver(p: WtaProblem) -> None:
    bf = solve_brute_force(p)
    assert _feasible(p, bf.x)
    ex = solve_exact(p, 20.0)
    assert ex.optimal and ex.objective == pytest.approx(bf.objective, rel=1e-6, abs=1e-9)
    g, _ = WH._mmr_greedy(p)
    lay, _ = WH._layered_assignment(p)
    ls, _ = WH._local_search(p, lay, np.inf)
    lns = solve_lns(p, 30.0, seed=0, max_iter=20)
    au = solve(p, "auto", 5.0)
    for x in (g, lay, ls, ex.x, lns.x, au.x, solve_heuristic(p).x):
        assert _feasible(p, x)
        assert objective(p, x) >= bf.objective - 1e-9 * max(1.0, bf.objective)
    # Useful counts never cut the optimum: the capped instance has the same one.
    capped = WtaProblem(p.values, p.pk, useful_counts(p), p.cost, p.max_per_target)
    assert solve_brute_force(capped).objective == pytest.approx(bf.objective, rel=1e-9, abs=1e-12)


def test_scalar_cap_and_its_array_give_the_same_plans() -> None:
    for seed in range(5):
        p = duplicated(12, 20, 2, seed)
        k = 2
        a = WtaProblem(p.values, p.pk, p.counts, p.cost, k)
        b = WtaProblem(p.values, p.pk, p.counts, p.cost, np.full(20, k, dtype=np.int64))
        assert np.array_equal(solve_heuristic(a).x, solve_heuristic(b).x)
        assert np.array_equal(useful_counts(a), useful_counts(b))
        la, lb = solve_lns(a, 60.0, seed=1, max_iter=15), solve_lns(b, 60.0, seed=1, max_iter=15)
        assert np.array_equal(la.x, lb.x)


def test_array_cap_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="max_per_target"):
        WtaProblem(np.ones(3), np.full((2, 3), 0.5), max_per_target=np.ones(2, dtype=np.int64))
    with pytest.raises(ValueError, match=">= 0"):
        WtaProblem(np.ones(2), np.full((2, 2), 0.5), max_per_target=np.array([1, -1]))
