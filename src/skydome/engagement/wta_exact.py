"""WTA exact solver: outer approximation on HiGHS MILPs, warm-started from the heuristic.

Outer approximation (Duran & Grossmann 1986) solved with HiGHS through
`scipy.optimize.milp`. With s_j = sum_i a_ij x_ij and a_ij = -ln(1 - p_ij),
each target's survival V_j exp(-s_j) is convex in s_j, so its tangents are
valid under-estimators; the MILP over tangent cuts gives a lower bound, the
true objective of its solution an upper bound, and cuts are added at each new
solution until the bounds meet: proven optimal. It never returns worse than its
incumbent, and a MILP too large for HiGHS's own time limit runs in a child
process killed at the deadline.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array, csr_array, vstack

from skydome.arrays import F64, I64
from skydome.engagement.wta_heuristic import solve_heuristic
from skydome.engagement.wta_problem import (
    WtaProblem,
    WtaResult,
    _a,
    _capped,
    _check_feasible,
    objective,
    target_caps,
)

__all__ = ["EXACT_MARGIN_S", "lagrangian_bound", "solve_exact"]

EXACT_MARGIN_S = 0.05
"""Held back from the MILP's time limit for building the model and reading the result."""

_MILP_INPROCESS_NNZ = 200_000
"""MILPs with more constraint nonzeros run in a process killed at the deadline."""


@dataclass(frozen=True)
class _Milp:
    c: F64
    integrality: I64
    bounds: Bounds
    constraints: list[LinearConstraint]

    @property
    def nnz(self) -> int:
        return sum(int(getattr(k.A, "nnz", 0)) for k in self.constraints)


@dataclass(frozen=True)
class _MilpOut:
    status: int  # scipy.optimize.milp: 0 optimal, 1 limit, 2 infeasible, 3 unbounded, 4 error
    x: F64 | None
    fun: float | None
    bound: float | None


def _milp_in_process(m: _Milp, options: dict[str, Any]) -> _MilpOut:
    opts: Any = options
    res = milp(
        m.c, integrality=m.integrality, bounds=m.bounds, constraints=m.constraints, options=opts
    )
    bound = getattr(res, "mip_dual_bound", None)
    fun = None if res.fun is None else float(res.fun)
    return _MilpOut(int(res.status), res.x, fun, None if bound is None else float(bound))


_MILP_WORKER = (
    "import pickle, sys\n"
    "from skydome.engagement.wta_exact import _milp_in_process\n"
    "m, o = pickle.load(sys.stdin.buffer)\n"
    "pickle.dump(_milp_in_process(m, o), sys.stdout.buffer)\n"
)


def _run_milp(m: _Milp, options: dict[str, Any], left_s: float) -> _MilpOut:
    """`milp` within a hard wall-time limit.

    HiGHS honours `time_limit` only between its phases: on models of about a
    million nonzeros it has overrun a 5 s limit by 10 s. Models above
    `_MILP_INPROCESS_NNZ` are therefore solved in a child Python process that
    is killed at the deadline (status 1, no solution); small ones, where
    HiGHS's own limit holds and a process start would dominate, in this one.
    """
    if m.nnz <= _MILP_INPROCESS_NNZ:
        return _milp_in_process(m, options)
    proc = subprocess.Popen(
        [sys.executable, "-c", _MILP_WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        raw, _ = proc.communicate(pickle.dumps((m, options)), timeout=max(left_s, 0.0))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return _MilpOut(1, None, None, None)
    if proc.returncode != 0 or not raw:  # the child died (e.g. out of memory)
        return _MilpOut(4, None, None, None)
    out: _MilpOut = pickle.loads(raw)  # noqa: S301 -- our own child's output
    return out


def solve_exact(
    p: WtaProblem,
    time_limit_s: float = 10.0,
    incumbent: I64 | None = None,
    rel_tol: float = 1e-6,
) -> WtaResult:
    """Outer approximation with HiGHS MILPs; proven optimal when the bounds meet.

    Variables: x_ij (integer, 0..min(n_i, cap); only pairs with p_ij > 0) and
    0 <= z_j <= V_j. Minimise sum_j z_j + sum_ij c_i x_ij subject to
    sum_j x_ij <= n_i, the optional cap sum_i x_ij <= cap, and tangent cuts
    z_j >= V_j e^{-s0} (1 + s0) - V_j e^{-s0} sum_i a_ij x_ij at points s0.
    z_j <= V_j is valid (every tangent is <= V_j at s >= 0) and necessary: with
    free z HiGHS 1.x fails ("Solve error", no solution) on small instances,
    which once made this solver return "fire nothing".

    Without an incumbent the heuristic runs first on a quarter of the budget
    (it stops sooner at a local optimum, as on every instance the MILP can
    prove); each MILP gets the remaining budget as its time
    limit, and the result is never worse than the incumbent.

    Args:
        p: the instance.
        time_limit_s: overall wall-time budget, the heuristic's share included.
        incumbent: a known feasible solution (e.g. the heuristic's).
        rel_tol: relative gap at which the solution counts as optimal.

    Returns:
        The best solution found, with its bound and `status`.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    q = _capped(p)
    w, t = q.n_weapons, q.n_targets
    if incumbent is None:
        incumbent = solve_heuristic(q, 0.25 * time_limit_s).x
    else:
        incumbent = np.asarray(incumbent, dtype=np.int64)
        _check_feasible(p, incumbent)
    # The incumbent may use more of a row than is useful: keep it as the plan to
    # beat, but the MILP works with the capped counts.
    best_x = incumbent.copy()
    best = objective(p, best_x)
    a = _a(q)
    pi, pj = np.nonzero(q.pk > 0.0)
    nx = pi.size
    nv = nx + t
    c = np.r_[q.cost[pi], np.ones(t)]
    integrality = np.r_[np.ones(nx, dtype=np.int64), np.zeros(t, dtype=np.int64)]
    ub = np.r_[q.counts[pi].astype(np.float64), q.values.astype(np.float64)]
    caps = target_caps(q)
    if caps is not None:
        ub[:nx] = np.minimum(ub[:nx], caps[pj])
    bounds = Bounds(np.zeros(nv), ub)
    rows_w = coo_array((np.ones(nx), (pi, np.arange(nx))), shape=(w, nv)).tocsr()
    cons = [LinearConstraint(rows_w, -np.inf, q.counts.astype(np.float64))]
    if caps is not None:
        rows_t = coo_array((np.ones(nx), (pj, np.arange(nx))), shape=(t, nv)).tocsr()
        cons.append(LinearConstraint(rows_t, -np.inf, caps.astype(np.float64)))

    cut_rows: list[csr_array] = []
    cut_lb: list[F64] = []
    cut_at: list[F64] = []  # (T,) tangent points of each add_cuts call, NaN where none

    def add_cuts(s0: F64, which: I64) -> None:
        # z_j + V e^{-s0} sum_i a_ij x_ij >= V e^{-s0} (1 + s0), for targets `which`.
        # A tangent already in the model is skipped: HiGHS's presolve fails
        # ("Solve error") on some models with duplicated rows.
        if cut_at:
            seen = np.vstack(cut_at)[:, which]
            dup = (np.abs(seen - s0[None, :]) <= 1e-9 * (1.0 + np.abs(s0))[None, :]).any(axis=0)
            which, s0 = which[~dup], s0[~dup]
        if which.size == 0:
            return
        pts = np.full(t, np.nan)
        pts[which] = s0
        cut_at.append(pts)
        ve = q.values[which] * np.exp(-s0)
        sel = np.isin(pj, which)
        pos = np.searchsorted(which, pj[sel])
        r = np.r_[pos, np.arange(which.size)]
        col = np.r_[np.flatnonzero(sel), nx + which]
        val = np.r_[ve[pos] * a[pi[sel], pj[sel]], np.ones(which.size)]
        cut_rows.append(coo_array((val, (r, col)), shape=(which.size, nv)).tocsr())
        cut_lb.append(ve * (1.0 + s0))

    targets = np.arange(t)
    usable = q.pk > 0.0
    n_use = np.maximum(usable.sum(axis=0), 1)
    amean = (a * usable).sum(axis=0) / n_use
    amin = np.where(usable.any(axis=0), np.where(usable, a, np.inf).min(axis=0), 0.0)
    amax = a.max(axis=0) if w else np.zeros(t)
    # Tangents where solutions live: no weapon, one weapon (spread over the
    # range of single-weapon values), and several.
    for f in (0.0, 0.25, 0.5, 0.75, 1.0):
        add_cuts(amin + f * (amax - amin), targets)
    for k in (1.5, 2.0, 3.0, 4.0, 6.0):
        add_cuts(amean * k, targets)
    add_cuts(np.zeros(t), targets)
    # Tangents at the incumbent make the first MILP exact around it.
    add_cuts((a * np.minimum(best_x, q.counts[:, None])).sum(axis=0), targets)
    lower = -np.inf
    status = "time_limit"
    while True:
        left = deadline - time.perf_counter() - EXACT_MARGIN_S
        if left <= 0.0:
            break
        A = vstack(cut_rows).tocsr()
        lb = np.concatenate(cut_lb)
        model = _Milp(c, integrality, bounds, [*cons, LinearConstraint(A, lb, np.inf)])
        res = _run_milp(model, {"time_limit": left, "mip_rel_gap": rel_tol / 4}, left)
        left = deadline - time.perf_counter() - EXACT_MARGIN_S
        if res.status == 4 and left > 0.0:
            # HiGHS "Solve error": once more without presolve, where it has failed.
            opts = {"time_limit": left, "mip_rel_gap": rel_tol / 4, "presolve": False}
            res = _run_milp(model, opts, left)
        bound = res.bound
        if res.status == 0 and res.fun is not None:
            lower = max(lower, res.fun if bound is None else min(bound, res.fun))
        elif bound is not None and np.isfinite(bound):
            lower = max(lower, float(bound))
        if res.x is None:
            status = "time_limit" if res.status == 1 else "solver_error"
            break
        x = np.zeros((w, t), dtype=np.int64)
        np.add.at(x, (pi, pj), np.rint(res.x[:nx]).astype(np.int64))
        f = objective(q, x)
        if f < best:
            best, best_x = f, x
        if best - lower <= rel_tol * max(abs(best), 1.0):
            status = "optimal"
            break
        if res.status != 0:
            status = "time_limit" if res.status == 1 else "solver_error"
            break
        s = (a * x).sum(axis=0)
        z = res.x[nx:]
        under = np.flatnonzero(z < q.values * np.exp(-s) * (1.0 - 1e-12) - 1e-12)
        if under.size == 0:
            # The MILP optimum is exact on its own cuts yet above the bound: the
            # HiGHS gap tolerance; accept its bound.
            ok = best - lower <= 4.0 * rel_tol * max(abs(best), 1.0)
            status = "optimal" if ok else "tolerance"
            break
        add_cuts(s[under], under)
    _check_feasible(p, best_x)
    return WtaResult(
        best_x,
        best,
        float(min(lower, best)) if np.isfinite(lower) else None,
        status == "optimal",
        "exact",
        time.perf_counter() - t0,
        status,
    )


def lagrangian_bound(p: WtaProblem, x: I64, deadline: float, max_iter: int = 300) -> float | None:
    """A valid lower bound for any size: the Lagrangian dual of the continuous relaxation.

    Relax integrality and the per-target caps (a target capped at 0 keeps its
    value), and price each row's magazine constraint with lambda_i >= 0:

        L(lambda) = -sum_i lambda_i n_i
                    + sum_j min_{x >= 0} [V_j e^{-s_j} + sum_i (c_i + lambda_i) x_ij]

    with s_j = sum_i a_ij x_ij, a_ij = -ln(1 - p_ij) (infinite at p = 1). The
    inner minimum fires only the row of least price per unit of s,
    r_j = min_i (c_i + lambda_i) / a_ij, and is V_j if r_j >= V_j, else
    r_j (1 + ln(V_j / r_j)). Every L(lambda) is below the relaxation's optimum,
    hence below the integer optimum. lambda follows projected subgradient steps
    with Polyak's step length towards `upper` (the incumbent's objective);
    each step costs O(W T), and the deadline is checked before each.

    Returns:
        The best L(lambda) found (at least 0, at most the plan's F), or None if
        not one was evaluated in time.
    """
    w, t = p.n_weapons, p.n_targets
    if w == 0 or t == 0:
        return float(p.values.sum()) if t else 0.0
    upper = objective(p, x)
    with np.errstate(divide="ignore"):
        a = -np.log1p(-np.minimum(p.pk, 1.0))  # inf at p = 1
    caps = target_caps(p)
    shut = np.zeros(t, dtype=bool) if caps is None else caps <= 0
    live = (a > 0.0) & ~shut[None, :]
    n = p.counts.astype(np.float64)
    v = p.values.astype(np.float64)
    # Start from the plan's own prices: what each row's least useful weapon in
    # `x` saves (the value of one more weapon of the row, on its best target, if idle).
    with np.errstate(divide="ignore"):
        logs = (x * np.log(np.maximum(1.0 - p.pk, 1e-300))).sum(axis=0)
    vs = v * np.exp(logs)  # V_j S_j
    save = np.where(x > 0, vs[None, :] * (1.0 / np.maximum(1.0 - p.pk, 1e-12) - 1.0), np.inf)
    add = (p.pk * vs[None, :]).max(axis=1)
    lam = np.where(x.sum(axis=1) > 0, save.min(axis=1), add) - p.cost
    lam = np.maximum(np.where(np.isfinite(lam), lam, 0.0), 0.0)
    best: float | None = None
    theta = 1.0
    for _ in range(max_iter):
        if time.perf_counter() >= deadline:
            break
        price = p.cost + lam
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(live, price[:, None] / np.where(live, a, 1.0), np.inf)
        ratio = np.where(np.isnan(ratio), 0.0, ratio)  # 0 / inf: a free certain kill
        i_best = np.argmin(ratio, axis=0)
        r = ratio[i_best, np.arange(t)]
        fire = r < v
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = np.where(
                fire, r * (1.0 + np.log(np.where(fire, v, 1.0) / np.where(r > 0, r, 1.0))), v
            )
        inner = np.where(fire & (r <= 0.0), 0.0, inner)
        val = float(inner.sum() - lam @ n)
        if best is None or val > best:
            best = val
        # Units fired in the inner minimum: s_j / a at the best row.
        a_b = a[i_best, np.arange(t)]
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(
                fire & (r > 0.0), np.log(np.where(fire, v, 1.0) / np.where(r > 0, r, 1.0)), 0.0
            )
            units = np.where(np.isfinite(a_b) & (a_b > 0), s / np.where(a_b > 0, a_b, 1.0), 0.0)
        used = np.bincount(i_best, weights=units, minlength=w)
        g = used - n  # supergradient of L
        g = np.where((lam <= 0.0) & (g < 0.0), 0.0, g)
        gg = float(g @ g)
        if gg <= 1e-18:
            break
        lam = np.maximum(lam + theta * max(upper - val, 1e-9 * max(abs(upper), 1.0)) / gg * g, 0.0)
        theta = max(theta * 0.98, 0.05)
    # F >= 0 (values and costs are >= 0): a negative dual value says nothing more.
    return None if best is None else min(max(best, 0.0), upper)
