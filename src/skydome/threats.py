"""Threat truth kinematics, in closed form, vectorised over all threats.

Two motion families, both evaluated at any time t without integration:

* **routes** -- piecewise-linear 3-D paths flown at constant speed (climb and
  descent legs included, so a cruise missile can fly at 30 m and pop up);
* **ballistic arcs** -- a flat-earth vacuum parabola in (ground distance,
  altitude) from a launch point to the target asset, fixed by its apogee or
  time of flight. Re-entry drag is left to a later fidelity level.

All positions are in the map frame (see `skydome.geo`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.scenario.schema import Scenario

__all__ = ["GRAVITY_MPS2", "Threats", "build_threats", "route_length_m"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

GRAVITY_MPS2 = 9.80665
"""Standard gravity, m/s^2."""


@dataclass(frozen=True)
class Threats:
    """Static description of every threat, struct of arrays (N threats).

    Attributes:
        type_names: threat type labels; `type_index` points into it.
        type_index: (N,) type of each threat.
        raid_index: (N,) raid (scenario order) of each threat.
        target: (N,) index of the asset attacked.
        launch_s: (N,) launch (or first appearance) time, s.
        end_s: (N,) time the threat leaks (reaches its release point or impact), s.
        rcs_m2: (N,) radar cross-section, m^2.
        damage: (N,) fraction of the target's value destroyed by a leak.
        ballistic: (N,) True for ballistic arcs, False for routes.
        wp_m: (N, K, 3) route waypoints, padded by repeating the last.
        wp_t_s: (N, K) time since launch at each waypoint, padded with +inf.
        n_wp: (N,) number of real waypoints (0 for ballistic threats).
        b0_m: (N, 3) ballistic launch point.
        b1_m: (N, 3) ballistic impact point.
        vz0_mps: (N,) ballistic initial vertical speed.
        tof_s: (N,) ballistic time of flight.
    """

    type_names: tuple[str, ...]
    type_index: I64
    raid_index: I64
    target: I64
    launch_s: F64
    end_s: F64
    rcs_m2: F64
    damage: F64
    ballistic: NDArray[np.bool_]
    wp_m: F64
    wp_t_s: F64
    n_wp: I64
    b0_m: F64
    b1_m: F64
    vz0_mps: F64
    tof_s: F64

    @property
    def n(self) -> int:
        """Number of threats."""
        return int(self.launch_s.shape[0])

    def state_at(self, t_s: float | F64, idx: I64 | None = None) -> tuple[F64, F64]:
        """Truth position and velocity at time `t_s`.

        Before launch a threat is at its start point with zero velocity; after
        `end_s` it holds its end point (the engine removes it from the sky).

        Args:
            t_s: scalar time, or (n,) times, one per selected threat.
            idx: (n,) indices of the threats wanted; all threats if None.

        Returns:
            (pos_m, vel_mps), each (n, 3), map frame.
        """
        if idx is None:
            idx = np.arange(self.n)
        n = idx.shape[0]
        tau = np.asarray(t_s, dtype=np.float64) - self.launch_s[idx]
        tau = np.broadcast_to(tau, (n,))
        pos = np.empty((n, 3))
        vel = np.empty((n, 3))
        bal = self.ballistic[idx]
        r = np.flatnonzero(~bal)
        if r.size:
            pos[r], vel[r] = self._route_state(idx[r], tau[r])
        b = np.flatnonzero(bal)
        if b.size:
            pos[b], vel[b] = self._ballistic_state(idx[b], tau[b])
        return pos, vel

    def _route_state(self, idx: I64, tau: F64) -> tuple[F64, F64]:
        wp = self.wp_m[idx]
        wt = self.wp_t_s[idx]
        last = self.n_wp[idx] - 1
        total = wt[np.arange(idx.shape[0]), last]
        moving = (tau > 0.0) & (tau < total)
        tau = np.clip(tau, 0.0, total)
        seg = np.minimum(np.sum(wt[:, 1:] <= tau[:, None], axis=1), last - 1)
        rows = np.arange(idx.shape[0])
        a, b = wp[rows, seg], wp[rows, seg + 1]
        ta, tb = wt[rows, seg], wt[rows, seg + 1]
        dur = np.maximum(tb - ta, 1e-12)
        f = (tau - ta) / dur
        pos = a + (b - a) * f[:, None]
        vel = (b - a) / dur[:, None] * moving[:, None]
        return pos, vel

    def _ballistic_state(self, idx: I64, tau: F64) -> tuple[F64, F64]:
        T = self.tof_s[idx]
        moving = (tau > 0.0) & (tau < T)
        tau = np.clip(tau, 0.0, T)
        p0, p1, vz0 = self.b0_m[idx], self.b1_m[idx], self.vz0_mps[idx]
        vh = (p1[:, :2] - p0[:, :2]) / T[:, None]
        pos = np.empty((idx.shape[0], 3))
        pos[:, :2] = p0[:, :2] + vh * tau[:, None]
        pos[:, 2] = p0[:, 2] + vz0 * tau - 0.5 * GRAVITY_MPS2 * tau * tau
        vel = np.empty_like(pos)
        vel[:, :2] = vh
        vel[:, 2] = vz0 - GRAVITY_MPS2 * tau
        vel *= moving[:, None]
        return pos, vel


def route_length_m(points_m: F64) -> float:
    """Length of a 3-D polyline (K, 3), metres."""
    return float(np.linalg.norm(np.diff(points_m, axis=0), axis=1).sum())


def build_threats(s: Scenario) -> Threats:
    """Expand the scenario's raids into one row per threat.

    Members of a raid launch evenly over `launch_spread_s`; with
    `lateral_spacing_km` they fly parallel copies of the route, offset across
    the first leg, converging on the route's last point.
    """
    assets = {a.name: i for i, a in enumerate(s.assets)}
    type_names = tuple(dict.fromkeys(r.type for r in s.raids))
    k_max = max((len(r.route) if r.route else 0) for r in s.raids)
    k_max = max(k_max, 2)
    parts: dict[str, list[NDArray[np.generic]]] = {}

    def put(key: str, arr: NDArray[np.generic]) -> None:
        parts.setdefault(key, []).append(arr)

    for ri, r in enumerate(s.raids):
        n = r.count
        frac = np.arange(n) / (n - 1) if n > 1 else np.zeros(1)
        launch = r.launch_time_s + r.launch_spread_s * frac
        asset = s.assets[assets[r.target]]
        put("type_index", np.full(n, type_names.index(r.type)))
        put("raid_index", np.full(n, ri))
        put("target", np.full(n, assets[r.target]))
        put("launch_s", launch)
        put("rcs_m2", np.full(n, r.rcs_m2))
        put("damage", np.full(n, r.damage))
        wp = np.zeros((n, k_max, 3))
        wt = np.full((n, k_max), np.inf)
        b0 = np.zeros((n, 3))
        b1 = np.zeros((n, 3))
        vz0 = np.zeros(n)
        tof = np.ones(n)
        if r.route is not None:
            assert r.speed_mps is not None  # schema guarantees it for routes
            pts = np.array([[w.east_km * 1e3, w.north_km * 1e3, w.altitude_m] for w in r.route])
            k = pts.shape[0]
            lead = pts[1, :2] - pts[0, :2]
            norm = float(np.hypot(*lead)) or 1.0
            across = np.array([lead[1], -lead[0]]) / norm
            offsets = (np.arange(n) - (n - 1) / 2.0) * r.lateral_spacing_km * 1e3
            member = np.repeat(pts[None], n, axis=0)
            member[:, :-1, :2] += offsets[:, None, None] * across[None, None, :]
            wp[:, :k] = member
            wp[:, k:] = member[:, -1:]
            seg_len = np.linalg.norm(np.diff(member, axis=1), axis=2)
            cum = np.concatenate([np.zeros((n, 1)), np.cumsum(seg_len, axis=1)], axis=1)
            wt[:, :k] = cum / r.speed_mps
            end = launch + np.maximum(cum[:, -1] - r.release_range_km * 1e3, 0.0) / r.speed_mps
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
            nwp = np.zeros(n, dtype=np.int64)
            bal = np.ones(n, dtype=bool)
        put("wp_m", wp)
        put("wp_t_s", wt)
        put("n_wp", nwp)
        put("b0_m", b0)
        put("b1_m", b1)
        put("vz0_mps", vz0)
        put("tof_s", tof)
        put("end_s", end)
        put("ballistic", bal)

    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return Threats(
        type_names=type_names,
        type_index=cat["type_index"].astype(np.int64),
        raid_index=cat["raid_index"].astype(np.int64),
        target=cat["target"].astype(np.int64),
        launch_s=cat["launch_s"].astype(np.float64),
        end_s=cat["end_s"].astype(np.float64),
        rcs_m2=cat["rcs_m2"].astype(np.float64),
        damage=cat["damage"].astype(np.float64),
        ballistic=cat["ballistic"].astype(bool),
        wp_m=cat["wp_m"].astype(np.float64),
        wp_t_s=cat["wp_t_s"].astype(np.float64),
        n_wp=cat["n_wp"].astype(np.int64),
        b0_m=cat["b0_m"].astype(np.float64),
        b1_m=cat["b1_m"].astype(np.float64),
        vz0_mps=cat["vz0_mps"].astype(np.float64),
        tof_s=cat["tof_s"].astype(np.float64),
    )
