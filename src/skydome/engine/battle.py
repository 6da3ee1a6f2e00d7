"""Battle-management inputs of a decision cycle: threat values, doctrine rules, later options.

What the decision cycle (`skydome.engine.step`) adds to a plan request beyond
"who can be engaged now":

* `threat_values` -- what each track would destroy if it leaked;
* `doctrine_rules` -- the doctrine's per-type rules, for every planner: missile
  types allowed per threat type, a value floor per missile type, and the
  reserve share of each type kept for threats no other type can engage;
* `later_options` -- which (battery, type) can still intercept a track later:
  after a look at a shot fired now (shoot-look-shoot as a decision), or deeper
  in its approach (a cheaper short-range round can wait for it);
* `expected_threats` -- the threats the raid intelligence still expects.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engagement.evaluation import ThreatAssessment
from skydome.engagement.geometry import InterceptGrid
from skydome.engine.pipeline import Pipeline
from skydome.scenario.compile import SimParams
from skydome.sensors.radar import covers

__all__ = [
    "allowed_types",
    "doctrine_rules",
    "expected_threats",
    "fire_control_cover",
    "later_options",
    "threat_values",
]

B = NDArray[np.bool_]

LATE_SHARE = 0.6
"""The deep sample of `later_options`: this share of the track's time to its deadline."""

NO_LOOK_SHARE = 0.3
"""The first sample of a track nothing can intercept now: this share of its deadline."""


def fire_control_cover(params: SimParams, grid: InterceptGrid) -> NDArray[np.bool_]:
    """(N, B, M): the battery's fire-control radar (if any) sees the intercept point."""
    bat = params.batteries
    n, _, m = grid.feasible.shape
    ok: NDArray[np.bool_] = np.ones(grid.feasible.shape, dtype=bool)
    for b in np.flatnonzero(bat.fc_radar >= 0):  # batteries: a handful
        pip = grid.pip_m[:, b].reshape(-1, 3)
        ok[:, b] = covers(params.radars, int(bat.fc_radar[b]), pip).reshape(n, m)
    return ok


def threat_values(params: SimParams, ta: ThreatAssessment, ttype: I64, ident: I64) -> F64:
    """(N,) what each track is worth engaging, asset-value units.

    The doctrine's `threat_values` for its type, else the type's mean damage
    times the value of the asset it threatens most; times min(1, radius / CPA)
    (a track passing wide of every asset is worth less) and the type's weight.
    An unidentified track (type -1) is valued at the mean damage over all types.

    Args:
        params: the compiled scenario.
        ta: the tracks' threat assessment (asset at risk, CPA).
        ttype: (N,) identified threat type (-1: unknown).
        ident: (N,) identified threat (its type weight; -1: unknown).
    """
    doc, assets = params.doctrine, params.assets
    k = np.maximum(ttype, 0)
    damage = np.where(ttype >= 0, doc.type_damage[k], doc.type_damage.mean())
    base = np.where(
        (ttype >= 0) & np.isfinite(doc.threat_value[k]),
        doc.threat_value[k],
        damage * assets.value[ta.asset],
    )
    radius = assets.radius_m[ta.asset]
    near = np.minimum(1.0, radius / np.maximum(ta.cpa_m, 1e-9))
    weight = np.where(ident >= 0, doc.type_weight[np.maximum(ident, 0)], 1.0)
    out: F64 = base * near * weight
    return out


def allowed_types(params: SimParams, value: F64, ttype: I64) -> B:
    """(N, M) missile types the doctrine allows against each track (type rules, value floor)."""
    doc = params.doctrine
    n_m = doc.min_threat_value.shape[0]
    rule = np.where(
        (ttype >= 0)[:, None], doc.engage_with[np.maximum(ttype, 0)], np.ones((1, n_m), bool)
    )
    ok: B = rule & (value[:, None] >= doc.min_threat_value[None, :])
    return ok


def doctrine_rules(
    params: SimParams, feasible: B, allowed: B, salvo: I64, stock: I64, reloads: I64
) -> B:
    """(N, B, M) the options the doctrine lets each track have now.

    A type not allowed against the track (`allowed_types`) is struck. Each
    battery keeps `reserve_share` of its starting rounds of a type (launchers
    and reloads) for threats no other type can engage now: any other track
    may use the type only while a salvo is left above the reserve.

    Args:
        params: the compiled scenario.
        feasible: (N, B, M) options that can intercept each track now.
        allowed: (N, M) from `allowed_types`.
        salvo: (N,) rounds each track would receive.
        stock: (B, M) rounds on the launchers.
        reloads: (B, M) reload rounds left.
    """
    doc, bat = params.doctrine, params.batteries
    ok = feasible & allowed[:, None, :]
    if not doc.reserve_share.any():
        return ok
    keep = np.ceil(doc.reserve_share[None, :] * (bat.inventory + bat.reserve) - 1e-9)
    types = ok.any(axis=1)  # (N, M)
    exclusive = types & (types.sum(axis=1, keepdims=True) == 1)  # only this type can
    above = (stock + reloads - keep)[None, :, :] >= salvo[:, None, None]
    out: B = ok & (above | exclusive[:, None, :])
    return out


def later_options(
    pipe: Pipeline,
    pos_m: F64,
    vel_mps: F64,
    deadline_s: F64,
    ttype: I64,
    first_s: F64,
    usable: B,
) -> tuple[B, B]:
    """Which options can intercept each track later, and whether a look fits.

    Each track is extrapolated at constant velocity to two later moments and
    the intercept model is asked again (one call for both): after a look --
    its earliest intercept now, plus the kill assessment and a decision period
    -- and deep in its approach, at `LATE_SHARE` of its time to the deadline
    (a track nothing can intercept now is looked at `NO_LOOK_SHARE` and
    `LATE_SHARE` of the way). The later intercept must still come before the
    deadline and under fire-control cover.

    Args:
        pipe: the scenario and its intercept model.
        pos_m: (N, 3) tracks now.
        vel_mps: (N, 3) their velocities.
        deadline_s: (N,) latest useful intercept, s from now.
        ttype: (N,) identified threat type (-1: unknown).
        first_s: (N,) earliest intercept now, s from now (inf: none).
        usable: (N, B, M) options the doctrine allows and that have rounds.

    Returns:
        later: (N, B, M) the option can intercept the track at either moment.
        look: (N,) some option can intercept it after a look at a shot fired now.
    """
    params = pipe.params
    doc = params.doctrine
    n = pos_m.shape[0]
    look_dt = np.where(
        np.isfinite(first_s),
        first_s + doc.kill_assessment_s + doc.decision_period_s,
        NO_LOOK_SHARE * deadline_s,
    )
    dt = np.concatenate([look_dt, LATE_SHARE * deadline_s])  # (2N,); np.r_ parses slowly
    # Each input twice (np.concatenate: np.tile's wrapper costs more at these sizes).
    vel2 = np.concatenate([vel_mps, vel_mps])
    pos = np.concatenate([pos_m, pos_m]) + vel2 * dt[:, None]
    left = np.concatenate([deadline_s, deadline_s]) - dt
    grid = pipe.intercept.grid(pos, vel2, params.batteries, left, np.concatenate([ttype, ttype]))
    ok = grid.feasible & fire_control_cover(params, grid) & (left > 0.0)[:, None, None]
    ok &= np.concatenate([usable, usable])
    look = ok[:n].any(axis=(1, 2)) & np.isfinite(first_s)
    later: B = ok[:n] | ok[n:]
    return later, look


def expected_threats(
    params: SimParams, seen_by_type: I64, rounds: I64, t_s: float
) -> tuple[F64, F64]:
    """The threats the raid intelligence expects but the picture has not yet shown.

    With the doctrine's `expected_threats` declared, type k has
    max(expected_k - seen_k, 0) still to come. Without, the planner estimates
    from the picture: type k has arrived at the mean rate seen_k / max(t, H)
    so far (H = `lookahead_horizon_s`: no rate is read from the first seconds
    of a raid) and is expected to go on for H or to the end of the run:
    round(seen_k min(H, T - t) / max(t, H)) more. Type k contributes that many
    targets, at most as many as rounds exist that could engage it (each needs
    one to matter), so the
    problem grows with the magazines, not with the numbers declared. Each is
    worth the type's value against the most valuable asset (`threat_values`
    without proximity) and has Pk `pk_of(m, k)` for every type allowed against
    it that can engage its speed.

    Args:
        params: the compiled scenario.
        seen_by_type: (K,) threats of each type tracked so far.
        rounds: (B, M) rounds left (launchers and reloads).
        t_s: decision time, s from the start of the run.

    Returns:
        future_value (F,), future_pk (F, M).
    """
    doc, mis = params.doctrine, params.missiles
    k_types = doc.expected_threats.shape[0]
    n_m = mis.pk.shape[0]
    seen = seen_by_type[:k_types]
    if doc.expected_threats.any():
        unseen = np.maximum(doc.expected_threats - seen, 0)
    else:
        ahead = min(doc.lookahead_horizon_s, params.duration_s - t_s)
        rate_span = max(t_s, doc.lookahead_horizon_s, 1.0)  # no rates from a few seconds
        unseen = np.floor(seen * max(ahead, 0.0) / rate_span + 0.5).astype(np.int64)
    if not unseen.any():
        return np.zeros(0), np.zeros((0, n_m))
    k = np.arange(k_types)
    value = np.where(
        np.isfinite(doc.threat_value),
        doc.threat_value,
        doc.type_damage * float(params.assets.value.max(initial=0.0)),
    )
    value = value * doc.type_weight_by_type
    pk = mis.pk_of(np.arange(n_m)[None, :], k[:, None])  # (K, M)
    fast = doc.type_speed_mps[:, None] <= mis.max_target_speed_of(
        np.arange(n_m)[None, :], k[:, None]
    )
    pk = np.where(
        doc.engage_with & fast & (value[:, None] >= doc.min_threat_value[None, :]), pk, 0.0
    )
    usable = rounds.sum(axis=0)  # (M,)
    cap = (pk > 0.0) @ usable  # (K,) rounds that could engage each type
    count = np.minimum(unseen, cap)
    total = int(rounds.sum())
    if count.sum() > total:  # the most valuable types first
        order = np.argsort(-value, kind="stable")
        room = np.maximum(total - np.r_[0, np.cumsum(count[order])[:-1]], 0)
        count[order] = np.minimum(count[order], room)
    rows = np.repeat(k, count)
    return value[rows], pk[rows]
