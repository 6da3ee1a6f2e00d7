"""Compile the scenario's raids into `Threats`: one row per threat, SI units.

The input side of `skydome.threats`: it reads the validated pydantic raids and
expands them -- members and their lateral offsets, pop-up and terminal dive,
turn fillets, weave and evasion amplitudes, ballistic arcs and their drag
re-entry tables -- into the struct of arrays the truth kinematics evaluate.
Each number is computed in the same order as before the split (e.g.
2 g * apogee_km * 1e3, not 2 g * (apogee_km * 1e3)), so results are
bit-identical.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64
from skydome.constants import RHO0_KG_M3 as RHO0
from skydome.constants import SCALE_HEIGHT_M
from skydome.scenario.limits import path_vertices
from skydome.scenario.schema import Raid, Scenario, Terminal
from skydome.threats import (
    DRAG_GRID,
    GRAVITY_MPS2,
    REENTRY_ALTITUDE_M,
    Threats,
    drag_tables,
    fillet_corners,
    segment_lengths,
)

__all__ = ["build_threats", "expand_terminal"]


def expand_terminal(points_m: F64, terminal: Terminal) -> F64:
    """Replace a route's last `popup_range_km` by a pop-up and a terminal dive.

    The point P at ground distance `popup_range_km` before the end (along the
    route) keeps its altitude; from P the threat flies straight (in the ground
    plane) at the end point E, climbing to `popup_altitude_m` at ground distance
    d = (h_pop - z_E) / tan(dive) from E, then diving on E at the dive angle.
    Waypoints between P and E are dropped.

    Args:
        points_m: (K, 3) route waypoints, map frame, m.
        terminal: the pop-up specification (validated by the schema).

    Returns:
        (K', 3) waypoints: the route up to P, then P, the pop-up top and E.
    """
    pts = np.asarray(points_m, dtype=np.float64)
    seg = np.hypot(*np.diff(pts[:, :2], axis=0).T)
    to_end = np.r_[np.cumsum(seg[::-1])[::-1], 0.0]  # (K,) ground distance to E
    r_pop = terminal.popup_range_km * 1e3
    j = int(np.flatnonzero(to_end >= r_pop)[-1])  # P lies on segment j
    f = (to_end[j] - r_pop) / seg[j]
    p = pts[j] + (pts[j + 1] - pts[j]) * f
    end = pts[-1]
    straight = float(np.hypot(*(p[:2] - end[:2])))
    d_dive = (terminal.popup_altitude_m - end[2]) / np.tan(np.radians(terminal.dive_angle_deg))
    d_dive = min(float(d_dive), 0.999 * straight)
    top = np.empty(3)
    top[:2] = end[:2] + (p[:2] - end[:2]) * (d_dive / straight)
    top[2] = terminal.popup_altitude_m
    head = pts[: j + 1] if f > 1e-12 else pts[:j]
    return np.vstack([head, p, top, end])


def _route_members(r: Raid, n: int, end_m: F64 | None = None) -> F64:
    """(n, K, 3) waypoints of each member: pop-up expanded, offset across the first leg.

    `end_m` (3,): a last point appended to the route (an ARM's radar antenna).
    """
    assert r.route is not None
    pts = np.array([[w.east_km * 1e3, w.north_km * 1e3, w.altitude_m] for w in r.route])
    if end_m is not None:
        pts = np.vstack([pts, end_m])
    if r.terminal is not None:
        pts = expand_terminal(pts, r.terminal)
    lead = pts[1, :2] - pts[0, :2]
    norm = float(np.hypot(*lead)) or 1.0
    across = np.array([lead[1], -lead[0]]) / norm
    offsets = (np.arange(n) - (n - 1) / 2.0) * r.lateral_spacing_km * 1e3
    member = np.repeat(pts[None], n, axis=0)
    member[:, :-1, :2] += offsets[:, None, None] * across[None, None, :]
    if r.terminal is not None:
        # Each member's pop-up top lies on its own line from its pop-up start to the
        # end point, so the climb and the dive stay straight in the ground plane.
        end = pts[-1, :2]
        rel = member[:, -3, :2] - end
        dist = np.hypot(rel[:, 0], rel[:, 1])
        rise = r.terminal.popup_altitude_m - pts[-1, 2]
        d_dive = np.minimum(rise / np.tan(np.radians(r.terminal.dive_angle_deg)), 0.999 * dist)
        member[:, -2, :2] = end + rel * (d_dive / dist)[:, None]
    return member


def build_threats(s: Scenario) -> Threats:
    """Expand the scenario's raids into one row per threat.

    Members of a raid launch evenly over `launch_spread_s`; with
    `lateral_spacing_km` they fly parallel copies of the route, offset across
    the first leg, converging on the route's last point. Manoeuvres (turns,
    weave, pop-up, evasion, drag re-entry) are compiled here; see docs/models.md.
    """
    assets = {a.name: i for i, a in enumerate(s.assets)}
    radars = {x.name: x for x in s.radars}
    type_names = tuple(dict.fromkeys(r.type for r in s.raids))
    k_max = max(max(path_vertices(r) for r in s.raids), 2)
    any_turn = any(r.turn_g is not None for r in s.raids)
    parts: dict[str, list[NDArray[np.generic]]] = {}
    drag: list[tuple[float, float, float, float]] = []  # (h_e, v_e, B, sin gamma) per raid

    def put(key: str, arr: NDArray[np.generic]) -> None:
        parts.setdefault(key, []).append(arr)

    for ri, r in enumerate(s.raids):
        n = r.count
        frac = np.arange(n) / (n - 1) if n > 1 else np.zeros(1)
        launch = r.launch_time_s + r.launch_spread_s * frac
        # An anti-radiation missile attacks a radar (no asset: target -1, damage 0);
        # its route ends at the radar's antenna.
        arm_end = None
        target = r.target or ""  # None only for friendly raids (the schema checks)
        if r.arm is not None:
            rad = radars[target]
            arm_end = np.array(
                [rad.position.east_km * 1e3, rad.position.north_km * 1e3, rad.mast_height_m]
            )
        on_asset = r.arm is None and r.target is not None
        asset = s.assets[assets[target]] if on_asset else s.assets[0]
        put("type_index", np.full(n, type_names.index(r.type)))
        put("raid_index", np.full(n, ri))
        # A friendly raid attacks nothing: asset 0 stands in (its damage is 0, it never leaks).
        put("target", np.full(n, -1 if r.arm is not None else assets[target] if on_asset else 0))
        put("launch_s", launch)
        put("rcs_m2", np.full(n, r.rcs_m2))
        # No warhead against assets: decoys, friendlies, ARMs (theirs hits a radar).
        put("damage", np.full(n, r.damage if r.arm is None and r.kind == "hostile" else 0.0))
        put("swerling", np.full(n, r.swerling))
        jam = r.jammer
        put("jam_erp_w", np.full(n, 0.0 if jam is None else 10.0 ** (jam.erp_dbw / 10.0)))
        put("jam_bandwidth_hz", np.full(n, 1.0 if jam is None else jam.bandwidth_mhz * 1e6))
        wp = np.zeros((n, k_max, 3))
        wt = np.full((n, k_max), np.inf)
        centers = np.zeros((n, k_max - 1, 2))
        sweeps = np.zeros((n, k_max - 1))
        b0 = np.zeros((n, 3))
        b1 = np.zeros((n, 3))
        vz0 = np.zeros(n)
        tof = np.ones(n)
        weave = np.zeros((4, n))  # amplitude, omega, t0, t1
        weave[1] = 1.0
        evade = np.zeros((3, n))  # amplitude, duration, trigger time to go (inf: at launch)
        evade[1] = 1.0
        evade[2] = np.inf
        re_tau = np.full(n, np.inf)
        re_p = np.zeros((n, 3))
        re_v = np.zeros(n)
        re_b = np.zeros(n)
        re_row = np.full(n, -1, dtype=np.int64)
        if r.route is not None:
            assert r.speed_mps is not None  # schema guarantees it for routes
            v = r.speed_mps
            member = _route_members(r, n, arm_end)
            if r.turn_g is not None:
                verts, cen, swp = fillet_corners(member, v * v / (r.turn_g * GRAVITY_MPS2))
            else:
                k0 = member.shape[1]
                verts, cen, swp = member, np.zeros((n, k0 - 1, 2)), np.zeros((n, k0 - 1))
            k = verts.shape[1]
            wp[:, :k] = verts
            wp[:, k:] = verts[:, -1:]
            centers[:, : k - 1] = cen
            sweeps[:, : k - 1] = swp
            seg_len = segment_lengths(verts, cen, swp)
            cum = np.concatenate([np.zeros((n, 1)), np.cumsum(seg_len, axis=1)], axis=1)
            wt[:, :k] = cum / v
            total = cum[:, -1]
            end_tau = np.maximum(total - r.release_range_km * 1e3, 0.0) / v
            end = launch + end_tau
            if r.weave is not None:
                omega = 2.0 * np.pi / r.weave.period_s
                if r.weave.start_range_km is not None:
                    t0 = np.maximum(total - r.weave.start_range_km * 1e3, 0.0) / v
                else:
                    t0 = np.full(n, r.weave.after_s or 0.0)
                periods = np.floor(np.maximum(end_tau - t0, 0.0) / r.weave.period_s)
                weave[0] = r.weave.g * GRAVITY_MPS2 / omega**2 * (periods > 0)
                weave[1] = omega
                weave[2] = t0
                weave[3] = t0 + periods * r.weave.period_s
            if r.evasion is not None:
                dur = r.evasion.duration_s
                evade[0] = r.evasion.g * GRAVITY_MPS2 * dur * dur / (4.0 * np.pi**2)
                evade[1] = dur
                if r.evasion.trigger == "time_to_go":
                    evade[2] = r.evasion.time_to_go_s
            nwp = np.full(n, k)
            bal = np.zeros(n, dtype=bool)
        else:
            bspec = r.ballistic
            assert bspec is not None
            b0[:] = [bspec.launch.east_km * 1e3, bspec.launch.north_km * 1e3, 0.0]
            b1[:] = [asset.position.east_km * 1e3, asset.position.north_km * 1e3, 0.0]
            if bspec.apogee_km is not None:
                vz0[:] = np.sqrt(2.0 * GRAVITY_MPS2 * bspec.apogee_km * 1e3)
                tof[:] = 2.0 * vz0 / GRAVITY_MPS2
            else:
                assert bspec.time_of_flight_s is not None
                tof[:] = bspec.time_of_flight_s
                vz0[:] = 0.5 * GRAVITY_MPS2 * tof
            end = launch + tof
            beta = bspec.ballistic_coefficient_kg_m2
            if beta is not None:
                w0, T = float(vz0[0]), float(tof[0])
                h_e = min(REENTRY_ALTITUDE_M, w0 * w0 / (2.0 * GRAVITY_MPS2))
                tau_e = (w0 + np.sqrt(max(w0 * w0 - 2.0 * GRAVITY_MPS2 * h_e, 0.0))) / GRAVITY_MPS2
                vh = (b1[0, :2] - b0[0, :2]) / T
                pe = np.r_[b0[0, :2] + vh * tau_e, h_e]
                chord = float(np.linalg.norm(b1[0] - pe))
                sin_g = h_e / chord
                v_e = float(np.hypot(np.hypot(*vh), w0 - GRAVITY_MPS2 * tau_e))
                bb = RHO0 * SCALE_HEIGHT_M / (2.0 * beta * sin_g)
                re_tau[:] = tau_e
                re_p[:] = pe
                re_v[:] = v_e
                re_b[:] = bb
                re_row[:] = len(drag)
                drag.append((h_e, v_e, bb, sin_g))
            nwp = np.zeros(n, dtype=np.int64)
            bal = np.ones(n, dtype=bool)
        put("wp_m", wp)
        put("wp_t_s", wt)
        put("arc_center_m", centers)
        put("arc_sweep_rad", sweeps)
        put("n_wp", nwp)
        put("b0_m", b0)
        put("b1_m", b1)
        put("vz0_mps", vz0)
        put("tof_s", tof)
        put("end_s", end)
        put("ballistic", bal)
        for key, arr in zip(
            ("weave_amp_m", "weave_omega_rps", "weave_t0_s", "weave_t1_s"), weave, strict=True
        ):
            put(key, arr)
        put("evade_amp_m", evade[0])
        put("evade_dur_s", evade[1])
        put("evade_tgo_s", evade[2])
        put("reentry_tau_s", re_tau)
        put("reentry_p_m", re_p)
        put("reentry_v_mps", re_v)
        put("reentry_b", re_b)
        put("reentry_row", re_row)

    cat = {k: np.concatenate(v) for k, v in parts.items()}
    f64 = {k: v.astype(np.float64) for k, v in cat.items()}
    re_row_all = cat["reentry_row"].astype(np.int64)
    table = np.zeros((0, DRAG_GRID))
    re_dur = np.zeros(re_row_all.size)
    end_s = f64["end_s"]
    if drag:
        cols = np.array(drag, dtype=np.float64)  # (R, 4)
        table = drag_tables(cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3])
        dragged = re_row_all >= 0
        re_dur[dragged] = table[re_row_all[dragged], -1]
        end_s = np.where(dragged, f64["launch_s"] + f64["reentry_tau_s"] + re_dur, end_s)
    return Threats(
        type_names=type_names,
        type_index=cat["type_index"].astype(np.int64),
        raid_index=cat["raid_index"].astype(np.int64),
        target=cat["target"].astype(np.int64),
        launch_s=f64["launch_s"],
        end_s=end_s,
        rcs_m2=f64["rcs_m2"],
        damage=f64["damage"],
        ballistic=cat["ballistic"].astype(bool),
        wp_m=f64["wp_m"],
        wp_t_s=f64["wp_t_s"],
        n_wp=cat["n_wp"].astype(np.int64),
        b0_m=f64["b0_m"],
        b1_m=f64["b1_m"],
        vz0_mps=f64["vz0_mps"],
        tof_s=f64["tof_s"],
        arc_center_m=f64["arc_center_m"] if any_turn else np.zeros(0),
        arc_sweep_rad=f64["arc_sweep_rad"] if any_turn else np.zeros(0),
        weave_amp_m=f64["weave_amp_m"],
        weave_omega_rps=f64["weave_omega_rps"],
        weave_t0_s=f64["weave_t0_s"],
        weave_t1_s=f64["weave_t1_s"],
        evade_amp_m=f64["evade_amp_m"],
        evade_dur_s=f64["evade_dur_s"],
        evade_tgo_s=f64["evade_tgo_s"],
        reentry_tau_s=f64["reentry_tau_s"],
        reentry_dur_s=re_dur,
        reentry_p_m=f64["reentry_p_m"],
        reentry_v_mps=f64["reentry_v_mps"],
        reentry_b=f64["reentry_b"],
        reentry_row=re_row_all,
        drag_t_s=table,
        swerling=cat["swerling"].astype(np.int64),
        jam_erp_w=f64["jam_erp_w"],
        jam_bandwidth_hz=f64["jam_bandwidth_hz"],
    )
