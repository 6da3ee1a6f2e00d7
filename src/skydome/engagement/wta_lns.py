"""WTA large-neighbourhood search: an anytime improver for weapon types with several units.

The construct-and-improve heuristic (`wta_heuristic`) stops at the first plan
no single-weapon move or pairwise swap improves. With several units per weapon
type such plans are often a few per cent above the optimum: the improving
changes are chains and cycles of moves over many cells -- the very-large-scale
neighbourhoods of Ahuja, Kumar, Jha & Orlin ("Exact and heuristic algorithms
for the weapon-target assignment problem", *Operations Research* 55(6), 2007).
`solve_lns` searches them two ways. Most iterations are one *multi-exchange*
(`_exchange`): one weapon is freed on each of many targets and all are re-placed
by one optimal assignment -- with at most one weapon changing per target the
gains add up exactly, so one `linear_sum_assignment` finds the best of
exponentially many chains and cycles of moves (Ahuja et al.'s neighbourhood).
The others *destroy and repair* (Shaw 1998's large-neighbourhood search): free
the weapons on a subset of targets, or of a subset of weapon types, re-solve that
part alone (by enumeration if tiny, else the heuristic's own constructions and
local search) and keep the result if no worse -- or, with a probability that
falls with the loss (a simulated-annealing rule), even if worse. When nothing
improves for a while, noisy multi-exchanges kick the plan, and restarts go back
to the incumbent or to a shaken starting plan. Each iteration works on the freed
part only (freed weapons x targets, rows x freed targets, or freed rows x
targets), not the whole instance.

It uses the whole budget and returns the best plan found when the deadline
falls, so its result depends on the wall time (and the host's speed); given
`seed` and a non-binding `max_iter` it is deterministic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from skydome.arrays import F64, I64
from skydome.engagement.wta_heuristic import (
    _layered_assignment,
    _local_search,
    _max_assignment,
    _mmr_greedy,
    solve_heuristic,
)
from skydome.engagement.wta_problem import (
    WtaProblem,
    WtaResult,
    _capped,
    _check_feasible,
    objective,
    solve_brute_force,
    target_caps,
)

__all__ = ["solve_lns"]

_HEURISTIC_SHARE = 0.5
"""Of the budget, at most this share for the starting heuristic (it usually stops far sooner)."""

_STALL_ITERS = 300
"""Iterations without a new incumbent after which the search returns to the incumbent."""

_TEMP0 = 1e-2
"""Initial annealing temperature, relative to the objective (a loss of 1 % passes at 1/e)."""

_K_TARGETS = (8, 40)
"""Targets freed by a target move: from this few, growing to this many while nothing improves."""

_K_ROWS = (2, 12)
"""Rows freed by a row move: likewise."""

_ROW_SHARE = 0.7
"""Of the destroy-and-repair iterations, the share that free rows rather than targets."""

_EXCHANGE_SHARE = 0.8
"""Share of the iterations that are one multi-exchange assignment (`_exchange`)."""

_EXCHANGE_FREE = 0.8
"""In a multi-exchange, the chance a loaded target frees one of its weapons."""

_ENUMERATE_MAX = 1024
"""A freed part with at most this many assignments of its weapons is re-solved by enumeration."""

_KICK_AFTER = 50
"""Iterations without a new best after which multi-exchanges may be noisy kicks."""

_KICK_RATE = 0.1
"""Chance a multi-exchange is a kick, once `_KICK_AFTER` has passed."""

_KICK_NOISE = 0.1
"""Log-normal noise on a kick's gains."""

_RESTART_KICKS = 2
"""Noisy multi-exchanges that shake the starting plan on a restart."""

_RESTART_NOISE = 0.5
"""Log-normal noise on those."""

_EXCHANGE_TARGETS = 256
"""Targets in one multi-exchange at most (its assignment is freed weapons x these)."""
"""Share of the iterations that free rows rather than targets."""


@dataclass
class _State:
    """The current plan and what the moves need of it, kept up to date incrementally.

    Attributes:
        x: (W, T) current plan.
        left: (W,) weapons of each row not fired.
        logq: (W, T) ln(1 - p_ij), floored at ln 1e-12 (a certain kill stays finite).
        caps: (T,) weapons allowed per target, or None.
        ls: (T,) ln of each target's survival, sum_i x_ij logq_ij.
        load: (T,) weapons on each target.
    """

    x: I64
    left: I64
    logq: F64
    caps: I64 | None
    ls: F64
    load: I64

    def reset(self, x: I64, counts: I64) -> None:
        """Make `x` the current plan (recomputing the running sums exactly)."""
        self.x = x.copy()
        self.left = counts - x.sum(axis=1)
        self.ls = (x * self.logq).sum(axis=0)
        self.load = x.sum(axis=0)


def _sub(q: WtaProblem, s: _State, rows: I64, cols: I64, freed: I64) -> WtaProblem:
    """The sub-problem of re-placing the weapons `freed` (rows x cols) on targets `cols`.

    The weapons that stay are fixed: a target's value becomes V_j times its
    survival against them, its cap the cap less their number; row i may place
    its freed weapons and those it has not fired.
    """
    lq = s.logq[np.ix_(rows, cols)]
    rest = s.ls[cols] - (freed * lq).sum(axis=0)
    caps = None
    if s.caps is not None:
        caps = s.caps[cols] - (s.load[cols] - freed.sum(axis=0))
    return WtaProblem(
        values=q.values[cols] * np.exp(np.minimum(rest, 0.0)),
        pk=q.pk[np.ix_(rows, cols)],
        counts=s.left[rows] + freed.sum(axis=1),
        cost=q.cost[rows],
        max_per_target=caps,
    )


def _thin(x: I64, rng: np.random.Generator) -> I64:
    """Weapons to free: all of `x` half the time, else each with probability 0.7.

    Keeping a random part fixed makes each visit of a neighbourhood start from
    a different partial plan, so the repair does not repeat one answer.
    """
    if rng.random() < 0.5:
        return x.copy()
    return rng.binomial(x, 0.7).astype(np.int64)


def _repair(sub: WtaProblem, rng: np.random.Generator, deadline: float) -> I64:
    """Re-solve a freed part: exactly if tiny, else a construction improved by local search.

    A part with at most `_ENUMERATE_MAX` assignments of its weapons is
    enumerated (`solve_brute_force`). Otherwise the layered assignment and the
    marginal-return greedy alternate at random, so repeated visits of one
    neighbourhood do not repeat one answer.
    """
    units = int(sub.counts.sum())
    if units <= 8 and (sub.n_targets + 1) ** units <= _ENUMERATE_MAX:
        return solve_brute_force(sub).x
    if rng.random() < 0.5:
        y0, _ = _layered_assignment(sub, deadline)
    else:
        y0, _ = _mmr_greedy(sub, deadline)
    y, _ = _local_search(sub, y0, deadline)
    return y


def _pick_targets(q: WtaProblem, s: _State, k: int, rng: np.random.Generator) -> I64:
    """A seed target, the other targets of the rows firing at it, then random ones: k in all.

    Targets that share weapon types are where a chain of moves pays off.
    """
    t = q.n_targets
    j0 = int(rng.integers(t))
    rows = np.flatnonzero(s.x[:, j0] > 0)
    linked = np.flatnonzero(s.x[rows].sum(axis=0) > 0) if rows.size else np.zeros(0, np.int64)
    linked = linked[linked != j0]
    take = rng.permutation(linked)[: max(k // 2, 1)]
    chosen = np.zeros(t, dtype=bool)
    chosen[j0] = True
    chosen[take] = True
    need = k - int(chosen.sum())
    if need > 0:
        rest = np.flatnonzero(~chosen)
        chosen[rng.choice(rest, size=min(need, rest.size), replace=False)] = True
    return np.flatnonzero(chosen)


def _pick_rows(q: WtaProblem, s: _State, k: int, rng: np.random.Generator) -> I64:
    """A seed row, rows firing at its targets, then random ones; plus rows with weapons left."""
    w = q.n_weapons
    i0 = int(rng.integers(w))
    cols = np.flatnonzero(s.x[i0] > 0)
    linked = np.flatnonzero(s.x[:, cols].sum(axis=1) > 0) if cols.size else np.zeros(0, np.int64)
    linked = linked[linked != i0]
    chosen = np.zeros(w, dtype=bool)
    chosen[i0] = True
    chosen[rng.permutation(linked)[: max(k // 2, 1)]] = True
    need = k - int(chosen.sum())
    if need > 0:
        rest = np.flatnonzero(~chosen)
        chosen[rng.choice(rest, size=min(need, rest.size), replace=False)] = True
    idle = np.flatnonzero((s.left > 0) & ~chosen)
    chosen[rng.permutation(idle)[:k]] = True
    return np.flatnonzero(chosen)


def _exchange(
    q: WtaProblem, s: _State, k: int, rng: np.random.Generator, noise: float = 0.0
) -> float:
    """Multi-exchange by one assignment (Ahuja et al. 2007's very large neighbourhood).

    On up to `k` random targets, one weapon of most loaded targets (drawn in
    proportion to the rows' weapons there) is freed, with unfired weapons (two
    of a type at most, as many as the targets at most); the freed weapons are
    then re-placed by one optimal assignment, at most one on each of those
    targets. As each target changes by at most
    one weapon, the assignment's gains add up exactly: the best of
    exponentially many chains and cycles of moves, in one
    `linear_sum_assignment`. Never worse (keeping every weapon in place is
    one of the assignments); applied in place.

    With `noise` > 0 the gains are perturbed (multiplied by exp(noise * N(0, 1)),
    the noising method of Charon & Hudry 1993) and the result is applied even
    if worse: a kick out of a local optimum that stays near good plans.

    Returns:
        The change in F (<= 0 without noise).
    """
    t = q.n_targets
    cols = np.sort(rng.permutation(t)[: min(k, t)])
    xc = s.x[:, cols]
    load = xc.sum(axis=0)
    # Most loaded targets free a weapon; the others may take one more instead.
    hit = np.flatnonzero((load > 0) & (rng.random(cols.size) < _EXCHANGE_FREE))
    # One weapon per loaded target: row drawn with probability x_ij / load_j.
    cum = np.cumsum(xc[:, hit], axis=0)
    draw = rng.random(hit.size) * load[hit]
    out_row = (cum <= draw[None, :]).sum(axis=0)
    # Unfired weapons: two of each type at most, and no more than the targets,
    # so the assignment stays (2 x targets) x targets whatever the magazines.
    idle_rows = np.repeat(np.arange(q.n_weapons), np.minimum(s.left, 2))
    if idle_rows.size > cols.size:
        idle_rows = np.sort(rng.permutation(idle_rows)[: cols.size])
    rows = np.r_[out_row, idle_rows].astype(np.int64)
    if rows.size == 0:
        return 0.0
    # Residual value of each target without its freed weapon.
    rest = s.ls[cols].copy()
    rest[hit] -= s.logq[out_row, cols[hit]]
    vs = q.values[cols] * np.exp(np.minimum(rest, 0.0))
    room = np.ones(cols.size, dtype=bool)
    if s.caps is not None:
        freed = np.zeros(cols.size, dtype=np.int64)
        freed[hit] = 1
        room = (s.load[cols] - freed) < s.caps[cols]
    pk = q.pk[np.ix_(rows, cols)]
    gain = pk * vs[None, :] - q.cost[rows][:, None]
    if noise > 0.0:
        gain *= np.exp(noise * rng.standard_normal(gain.shape))
    gain[:, ~room] = -np.inf
    gain = np.where(np.isfinite(gain), gain, -1e300)
    r, c = _max_assignment(np.maximum(gain, -1e300))
    new = np.full(cols.size, -1, dtype=np.int64)
    new[c] = rows[r]
    old = np.full(cols.size, -1, dtype=np.int64)
    old[hit] = out_row

    # F on these targets: V' (1 - p_new) + c_new, against V' (1 - p_old) + c_old.
    def part(who: I64) -> F64:
        on = who >= 0
        wr = np.where(on, who, 0)
        f = vs * np.where(on, 1.0 - q.pk[wr, cols], 1.0)
        return f + np.where(on, q.cost[wr], 0.0)

    delta = float((part(new) - part(old)).sum())
    if (delta >= 0.0 and noise <= 0.0) or np.array_equal(new, old):
        return 0.0
    for who, sign in ((old, -1), (new, 1)):
        on = who >= 0
        i, j = who[on], cols[on]
        np.add.at(s.x, (i, j), sign)
        np.add.at(s.left, i, -sign)
        s.ls[j] += sign * s.logq[i, j]
        s.load[j] += sign
    return delta


def _heuristic_s(time_limit_s: float, deadline: float) -> float:
    """The starting heuristic's budget: its share, within what is left of the deadline."""
    return max(min(_HEURISTIC_SHARE * time_limit_s, deadline - time.perf_counter()), 0.0)


def solve_lns(
    p: WtaProblem,
    time_limit_s: float = 10.0,
    seed: int = 0,
    incumbent: I64 | None = None,
    max_iter: int | None = None,
) -> WtaResult:
    """Large-neighbourhood search from the heuristic's plan, for the whole budget.

    Each iteration is a multi-exchange (`_EXCHANGE_SHARE` of them; after
    `_KICK_AFTER` iterations without a new best, one in ten of these is a noisy
    kick) or a destroy-and-repair: the weapons on 8-40 targets (a seed target
    and targets sharing its weapon types) or of 2-12 weapon rows
    (`_ROW_SHARE` of these), thinned at random, re-solved (`_repair`) and
    accepted when no worse, or with probability exp(-loss / temperature)
    (temperature 1 % of the objective, falling linearly to 0 over the budget).
    After `_STALL_ITERS` iterations without a new best it restarts, alternately
    from the incumbent and from the starting plan shaken by noisy
    multi-exchanges. Neighbourhood sizes grow while nothing improves.

    Depends on wall time: the number of iterations is whatever the budget
    allows (the result is never worse than the starting plan). Deterministic
    for a given `seed` when `max_iter` binds before the deadline.

    Args:
        p: the instance.
        time_limit_s: wall-time budget, the starting heuristic's included.
        seed: seed of the search's random stream (`np.random.default_rng`).
        incumbent: a feasible starting plan (W, T); None runs the heuristic
            (on at most half the budget).
        max_iter: stop after this many iterations (None: only the deadline).

    Returns:
        The best plan found, status ``time_limit`` (the budget, or `max_iter`,
        ended the search) -- or ``local_optimum`` when there was nothing to
        search (no weapons, no targets, or one row and one target).
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    q = _capped(p)
    w, t = q.n_weapons, q.n_targets
    if incumbent is None:
        x0 = solve_heuristic(q, _heuristic_s(time_limit_s, deadline), counts_capped=True).x
    else:
        x0 = np.asarray(incumbent, dtype=np.int64)
        _check_feasible(p, x0)
        # The useful-count cap may be below what the incumbent fires: start
        # from the incumbent itself only if it fits the capped rows.
        if (x0.sum(axis=1) > q.counts).any():
            x0 = solve_heuristic(q, _heuristic_s(time_limit_s, deadline), counts_capped=True).x
    best_x = np.asarray(incumbent if incumbent is not None else x0, dtype=np.int64).copy()
    best = objective(p, best_x)
    if w == 0 or t == 0 or w * t == 1:
        return WtaResult(
            best_x, best, None, False, "lns", time.perf_counter() - t0, "local_optimum"
        )
    logq = np.log(np.maximum(1.0 - q.pk, 1e-12))
    s = _State(x0, q.counts, logq, target_caps(q), np.zeros(t), np.zeros(t, dtype=np.int64))
    s.reset(x0, q.counts)
    home = x0.copy()  # the best plan within the capped counts: where restarts go
    f_x0 = objective(q, x0)
    if f_x0 < best:
        best, best_x = f_x0, x0.copy()
    cur = f_x0
    rng = np.random.default_rng(seed)
    scale = max(abs(best), 1.0)
    eps = 1e-12 * max(float(q.values.sum()), 1.0)
    k_t0 = min(_K_TARGETS[0], t)
    k_r0 = min(_K_ROWS[0], w)
    k_t, k_r = k_t0, k_r0  # targets, rows freed
    since = 0
    it = 0
    restarts = 0
    while max_iter is None or it < max_iter:
        now = time.perf_counter()
        if now >= deadline:
            break
        it += 1
        if rng.random() < _EXCHANGE_SHARE:
            kick = since >= _KICK_AFTER and rng.random() < _KICK_RATE
            d = _exchange(q, s, _EXCHANGE_TARGETS, rng, _KICK_NOISE if kick else 0.0)
            cur += d
            since += 1
            if cur < best - eps:
                f = objective(q, s.x)
                cur = f
                if f < best - eps:
                    best, best_x, since = f, s.x.copy(), 0
                    home = best_x
            continue
        by_rows = w > 1 and rng.random() < _ROW_SHARE
        if by_rows:
            rows = _pick_rows(q, s, k_r, rng)
            cols = np.arange(t)
        else:
            cols = _pick_targets(q, s, k_t, rng)
            rows = np.flatnonzero((s.left > 0) | (s.x[:, cols].sum(axis=1) > 0))
        old = _thin(s.x[np.ix_(rows, cols)], rng)
        sub = _sub(q, s, rows, cols, old)
        if sub.n_weapons == 0 or not sub.counts.any():
            continue
        y = _repair(sub, rng, deadline)
        delta = objective(sub, y) - objective(sub, old)
        frac = min((now - t0) / max(time_limit_s, 1e-9), 1.0)
        temp = _TEMP0 * scale * (1.0 - frac)
        accept = delta <= eps or (temp > 0.0 and rng.random() < np.exp(-delta / temp))
        if accept and not np.array_equal(y, old):
            dy = y - old
            s.x[np.ix_(rows, cols)] += dy
            s.ls[cols] += (dy * logq[np.ix_(rows, cols)]).sum(axis=0)
            s.load[cols] += dy.sum(axis=0)
            s.left[rows] = sub.counts - y.sum(axis=1)
            cur += delta
        since += 1
        if cur < best - eps:
            f = objective(q, s.x)  # exact: the running sum only guides the search
            cur = f
            if f < best - eps:
                best, best_x, since = f, s.x.copy(), 0
                home = best_x
                k_t, k_r = k_t0, k_r0
        if since and since % (_STALL_ITERS // 3) == 0:
            # Nothing new for a while: look at larger parts.
            k_t = min(k_t + max(k_t // 4, 1), max(k_t0, min(_K_TARGETS[1], t)))
            k_r = min(k_r + 1, max(k_r0, min(_K_ROWS[1], w)))
        if since >= _STALL_ITERS:
            # Restart: from the incumbent, or (every other time) from the
            # starting plan, shaken by strongly noisy multi-exchanges -- a new
            # trajectory, as runs from one start fall into different basins.
            restarts += 1
            s.reset(home if restarts % 2 == 0 else x0, q.counts)
            if restarts % 2:
                for _ in range(_RESTART_KICKS):
                    _exchange(q, s, _EXCHANGE_TARGETS, rng, _RESTART_NOISE)
            cur, since = objective(q, s.x), 0
    _check_feasible(p, best_x)
    return WtaResult(best_x, best, None, False, "lns", time.perf_counter() - t0, "time_limit")
