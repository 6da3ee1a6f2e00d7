"""Batched sensing: truth and radar scans of R replications of one scenario at once.

The batch layout is rep-major (see the batched engine): per-threat arrays are
(R*N,), row k*N + i is threat i of replication k; a scan's `Detections` hold the
rows of every replication, sorted by replication, each block in the order the
single run gives (targets by threat index, then false alarms), with a `rep`
array beside them. Threat ids (`Detections.truth`) stay local (0..N-1).

Every function here equals, byte for byte, the single-replication code run on
each replication's slice and concatenated:

* `truth_batch` evaluates `Threats.state_at` on the threats tiled R times
  (`tile_threats`): the kinematics are elementwise per threat (the route and
  ballistic rows are gathered by index, the segment lookup is a per-row count,
  the re-entry table lookup a per-row search), so a tiled row computes exactly
  what its original computes.
* `detect_batch` is `skydome.sensors.radar.detect` (as `RadarSensor.detect`
  calls it) vectorised over all R*N rows; the only per-replication work is the
  random draws (the same calls, sizes and order on each replication's own
  generator) and, under jamming, the two small matrix products of
  `jam_to_noise` (BLAS: computed per replication with the single run's shapes,
  so the jammer sums are those of the single run, and a jammer only ever
  raises the noise of its own replication's radars).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import fields

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engine.stages import RadarSensor
from skydome.geo import RadarGeometry, polar_to_map, radar_geometry
from skydome.sensors.base import Detections
from skydome.sensors.detection import detection_probability
from skydome.sensors.jamming import Jammers, line_of_sight_unit
from skydome.sensors.params import RadarParams
from skydome.sensors.radar import coverage_mask, measurement_sigma, polar_covariance
from skydome.threats import Threats

__all__ = [
    "detect_batch",
    "in_sky_batch",
    "jammers_batch",
    "supports_batch",
    "tile_threats",
    "truth_batch",
]

B = NDArray[np.bool_]

_NOT_PER_THREAT = frozenset({"type_names", "drag_t_s"})
"""`Threats` fields that are not one row per threat (kept as they are when tiling)."""

_TILED: dict[tuple[int, int], tuple[Threats, Threats]] = {}
"""(id(threats), R) -> (threats, tiled): the tiled copy is built once per scenario and R
(its route and ballistic rows are cached on it). The original is held so its id stays
unique while the entry lives."""

_TILED_MAX = 8


def tile_threats(th: Threats, n_reps: int) -> Threats:
    """The threats of `n_reps` replications: every per-threat array repeated R times.

    Row k*N + i of each (N, ...) field is row i of `th`; the re-entry time tables
    (`drag_t_s`, indexed by `reentry_row`) and the type names are shared. Cached per
    (`th`, R).

    Args:
        th: the scenario's N threats.
        n_reps: R, the number of replications.

    Returns:
        A `Threats` of R*N threats.
    """
    key = (id(th), n_reps)
    hit = _TILED.get(key)
    if hit is not None and hit[0] is th:
        return hit[1]
    n = th.n
    values: dict[str, object] = {}
    for f in fields(th):
        v = getattr(th, f.name)
        if f.name not in _NOT_PER_THREAT and isinstance(v, np.ndarray) and v.shape[:1] == (n,):
            v = np.tile(v, (n_reps,) + (1,) * (v.ndim - 1))
        values[f.name] = v
    tiled = Threats(**values)  # type: ignore[arg-type]
    if len(_TILED) >= _TILED_MAX:
        _TILED.pop(next(iter(_TILED)))
    _TILED[key] = (th, tiled)
    return tiled


def truth_batch(th: Threats, t_s: float, evade_start_s: F64 | None, n_reps: int) -> tuple[F64, F64]:
    """True position and velocity of every threat of every replication at `t_s`.

    Replications differ only by their evasive breaks: every row not in a break at
    `t_s` is its threat's state without one (the break adds exact zeros), computed
    once for the N threats and repeated; the rows that may be breaking (a margin of a
    second around each break) are evaluated on the tiled threats (`tile_threats`).

    Args:
        th: the scenario's N threats.
        t_s: time, s (common to the replications).
        evade_start_s: (R*N,) evasive-break start of each threat of each replication
            (engine state; inf: none), or None: no threat evades.
        n_reps: R.

    Returns:
        (pos_m, vel_mps), each (R*N, 3), map frame; rows k*N..(k+1)*N-1 equal
        `th.state_at(t_s, evade_start_s=evade_start_s[k*N:(k+1)*N])`.
    """
    n = th.n
    base = None if evade_start_s is None else np.full(n, np.inf)
    pos0, vel0 = th.state_at(t_s, evade_start_s=base)
    pos, vel = np.tile(pos0, (n_reps, 1)), np.tile(vel0, (n_reps, 1))
    if evade_start_s is None:
        return pos, vel
    tt = tile_threats(th, n_reps)
    since = t_s - evade_start_s  # inf before any break; NaN never (start is finite or inf)
    maybe = np.flatnonzero(
        (since > -1.0) & (since < tt.evade_dur_s + 1.0) & (tt.evade_amp_m > 0.0) & ~tt.ballistic
    )
    if maybe.size:
        pos[maybe], vel[maybe] = tt.state_at(t_s, maybe, evade_start_s=evade_start_s)
    return pos, vel


def in_sky_batch(th: Threats, t_s: float, kill_time_s: F64, n_reps: int) -> B:
    """(R*N,) threats launched, not gone and not killed at `t_s` (the engine's `in_sky`).

    Args:
        th: the scenario's N threats.
        t_s: time, s.
        kill_time_s: (R*N,) kill time of each threat of each replication (inf: alive).
        n_reps: R.
    """
    alive: B = np.tile((th.launch_s <= t_s) & (t_s < th.end_s), n_reps) & (kill_time_s > t_s)
    return alive


def jammers_batch(th: Threats, pos_m: F64, in_sky: B, n_reps: int) -> tuple[Jammers, I64]:
    """The jammers radiating in every replication (those carried by threats in the sky).

    Args:
        th: the scenario's N threats.
        pos_m: (R*N, 3) true positions (`truth_batch`).
        in_sky: (R*N,) threats in the sky.
        n_reps: R.

    Returns:
        (jammers, rep): the J jammers of all replications, sorted by replication and
        within one in threat order (the single run's `Jammers`), and (J,) the
        replication of each.
    """
    tt = tile_threats(th, n_reps)
    on_air = in_sky & (tt.jam_erp_w > 0.0)  # jammers radiate while airborne
    rows = np.flatnonzero(on_air)
    jam = Jammers(pos_m[rows], tt.jam_erp_w[rows], tt.jam_bandwidth_hz[rows])
    return jam, rows // max(th.n, 1)


def supports_batch(sensor: object) -> bool:
    """Whether `detect_batch` reproduces `sensor` (the built-in `RadarSensor`, any radars)."""
    return type(sensor) is RadarSensor


def _shared_rows(pos_m: F64, n: int, n_reps: int) -> tuple[I64, I64]:
    """The rows whose geometry must be computed, and where each row finds its own.

    A row at bit for bit the position of replication 0's row of the same threat
    (a threat not in an evasive break, in the same state) has the same geometry,
    unjammed SNR and Pd: replication 0's rows and the others' differing rows are
    computed, once each.

    Returns:
        (rows, src): (U,) global rows to compute (replication 0's N first), and
        (R*N,) the index into `rows` of each row's computed twin.
    """
    bits = np.ascontiguousarray(pos_m).view(np.int64).reshape(n_reps, n, 3)
    b0 = bits[:1]
    same = (
        (bits[..., 0] == b0[..., 0]) & (bits[..., 1] == b0[..., 1]) & (bits[..., 2] == b0[..., 2])
    ).reshape(-1)
    extra = np.flatnonzero(~same)
    rows = np.concatenate([np.arange(n), extra])
    src = np.tile(np.arange(n), n_reps)
    src[extra] = n + np.arange(extra.size)
    return rows, src


def _jam_to_noise_batch(
    radars: RadarParams,
    r: int,
    geom: RadarGeometry,
    src: I64,
    jam: Jammers,
    jam_rep: I64,
    n: int,
    n_reps: int,
) -> tuple[I64, F64]:
    """`jamming.jam_to_noise` of radar `r` in every replication, each against its own jammers.

    Args:
        radars: all radars.
        r: index of the radar.
        geom: geometry of the computed rows (`_shared_rows`), fields (1, U).
        src: (R*N,) each row's index into `geom`.
        jam: the jammers of every replication, sorted by replication.
        jam_rep: (J,) replication of each jammer.
        n: N, threats per replication.
        n_reps: R.

    Returns:
        (rows, jn): the rows of the replications that have jammers, (K,) ascending,
        and the total J/N of each of those looks.
    """
    jg = radar_geometry(radars.pos_m[r : r + 1], jam.pos_m)
    r_j = np.maximum(jg.slant_m[0], 1.0)
    band = np.minimum(1.0, radars.bandwidth_hz[r] / jam.bandwidth_hz)
    wl = radars.wavelength_m[r]
    # Per jammer, everything but the receive gain: (J,), elementwise as in jam_to_noise.
    per_gain = (
        jam.erp_w * wl * wl * band * jg.visible[0]
        / ((4.0 * math.pi) ** 2 * r_j * r_j * radars.noise_power_w[r])
    )  # fmt: skip
    los_t = line_of_sight_unit(geom)  # (U, 3), one row per computed row
    los_j = line_of_sight_unit(jg)  # (J, 3)
    cos_main = math.cos(0.5 * radars.beamwidth_rad[r])
    main, side = radars.gain[r], radars.sidelobe_gain[r]
    off = np.searchsorted(jam_rep, np.arange(n_reps + 1))
    jammed = np.flatnonzero(off[1:] > off[:-1])
    out = np.empty((jammed.size, n))
    # The two products are BLAS calls whose rounding depends on their shapes: one pair
    # per replication, with the shapes of the single run's: (N, 3) @ (3, J_k), (N, J_k) @ (J_k,).
    for i, k in enumerate(jammed.tolist()):
        a, b = off[k], off[k + 1]
        cos_sep = los_t[src[k * n : (k + 1) * n]] @ los_j[a:b].T  # (N, J_k)
        gain = np.where(cos_sep >= cos_main, main, side)
        out[i] = gain @ per_gain[a:b]
    rows = (jammed[:, None] * n + np.arange(n)[None, :]).reshape(-1)
    return rows, out.reshape(-1)


def _dwell_batch(
    radars: RadarParams, r: int, slant_m: F64, src: I64, seen: B, n: int, n_reps: int
) -> B:
    """`radar.dwell_mask` of every replication: an ESA's C nearest seen points per replication.

    `slant_m` (U,) of the computed rows, `src` (R*N,) each row's index into it.
    """
    channels = int(radars.track_channels[r]) if radars.esa[r] else 0
    if channels <= 0:
        return seen
    rows = np.flatnonzero(seen)
    rep = rows // n
    count = np.bincount(rep, minlength=n_reps)
    if int(count.max(initial=0)) <= channels:
        return seen
    # Nearest first, ties by index (the single run's stable argsort), per replication.
    order = np.lexsort((slant_m[src[rows]], rep))
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    rank = np.arange(rows.size) - start[rep[order]]
    dwell = np.zeros(seen.shape[0], dtype=bool)
    dwell[rows[order[rank < channels]]] = True
    return dwell


def _clutter_arith(radars: RadarParams, r: int, u: F64) -> tuple[F64, F64, F64]:
    """`radar.clutter_polar`'s arithmetic on its (K, 3) uniforms (the draws are the caller's)."""
    slant = np.maximum(radars.max_range_m[r] * np.cbrt(u[:, 0]), 1.0)
    half = radars.az_half_width_rad[r]
    az = radars.az_center_rad[r] + (2.0 * u[:, 1] - 1.0) * half
    az = np.angle(np.exp(1j * az))  # wrap to (-pi, pi]
    s_lo, s_hi = np.sin(radars.min_el_rad[r]), np.sin(radars.max_el_rad[r])
    el = np.arcsin(s_lo + u[:, 2] * (s_hi - s_lo))
    return slant, az, el


def detect_batch(
    sensor: RadarSensor,
    radar: int,
    t_s: float,
    pos_m: F64,
    in_sky: B,
    jam: Jammers,
    jam_rep: I64,
    rngs: Sequence[np.random.Generator],
    n_reps: int,
) -> tuple[Detections, I64]:
    """One scan of radar `radar` in every replication (`RadarSensor.detect`, batched).

    Args:
        sensor: the scenario's radar sensor stage (`supports_batch`).
        radar: index of the scanning radar.
        t_s: scan time, s (common).
        pos_m: (R*N, 3) true positions of every threat of every replication.
        in_sky: (R*N,) threats in the sky.
        jam: jammers radiating in every replication, sorted by replication
            (`jammers_batch`).
        jam_rep: (J,) replication of each jammer.
        rngs: R generators, replication k's stream of this radar; each is advanced
            exactly as the single `detect` advances it.
        n_reps: R.

    Returns:
        (detections, rep): every replication's detections in one `Detections`,
        sorted by replication (block k equals the single run's scan of
        replication k: targets by threat index, then false alarms), and (M,) the
        replication of each row.
    """
    radars, th = sensor.radars, sensor.threats
    r, n = radar, th.n
    tt = tile_threats(th, n_reps)
    radar_pos = radars.pos_m[r : r + 1]
    # Geometry, unjammed SNR and Pd of each distinct row once (`_shared_rows`): all
    # elementwise, so a row computed once equals that row computed in its own scan.
    rows_u, src = _shared_rows(pos_m, n, n_reps)
    geom = radar_geometry(radar_pos, pos_m[rows_u])
    seen_u = coverage_mask(radars, r, geom)
    slant_u = geom.slant_m[0]
    pfa = radars.pfa[r]
    # look_snr; jammed replications below, each with its own jammers
    snr_u: F64 = (
        radars.ref_snr[r]
        * (tt.rcs_m2[rows_u] / radars.ref_rcs_m2[r])
        * (radars.ref_range_m[r] / np.maximum(slant_u, 1.0)) ** 4
    )
    pd_u = detection_probability(snr_u, pfa, tt.swerling[rows_u])
    snr, pd = snr_u[src], pd_u[src]
    if jam.n:
        jrows, jn = _jam_to_noise_batch(radars, r, geom, src, jam, jam_rep, n, n_reps)
        snr_j = snr[jrows] / (1.0 + jn)
        snr[jrows] = snr_j
        pd[jrows] = detection_probability(snr_j, pfa, tt.swerling[jrows])
    # The draws: replication k's generator, the single scan's calls in its order.
    lam = float(radars.false_alarms_per_scan[r])
    u = np.empty(n * n_reps)
    unit_noise = np.empty((n * n_reps, 3))
    fa_u: list[F64] = []
    for k, g in enumerate(rngs):
        g.random(n, out=u[k * n : (k + 1) * n])
        g.standard_normal((n, 3), out=unit_noise[k * n : (k + 1) * n])
        if lam > 0.0:
            fa_u.append(g.random((int(g.poisson(lam)), 3)))
    seen = seen_u[src] & in_sky
    seen = _dwell_batch(radars, r, slant_u, src, seen, n, n_reps)
    hit = (seen & (u < pd)).nonzero()[0]
    rep = hit // n
    hu = src[hit]
    sig = measurement_sigma(radars, r, snr[hit])
    noise = unit_noise[hit] * sig
    rng_m = np.maximum(slant_u[hu] + noise[:, 0], 1.0)
    az = geom.azimuth_rad[0, hu] + noise[:, 1]
    el = geom.elevation_rad[0, hu] + noise[:, 2]
    truth = hit - rep * n
    if lam > 0.0:
        counts = np.array([a.shape[0] for a in fa_u], dtype=np.int64)
        fa_rep = np.repeat(np.arange(n_reps), counts)
        fa_r, fa_az, fa_el = _clutter_arith(radars, r, np.concatenate(fa_u).reshape(-1, 3))
        channels = int(radars.track_channels[r]) if radars.esa[r] else 0
        if channels > 0:  # false alarms fill the channels the targets left
            keep = np.maximum(channels - np.bincount(rep, minlength=n_reps), 0)
            within = np.arange(fa_rep.size) - np.repeat(np.cumsum(counts) - counts, counts)
            kept = np.flatnonzero(within < keep[fa_rep])
            fa_r, fa_az, fa_el, fa_rep = fa_r[kept], fa_az[kept], fa_el[kept], fa_rep[kept]
        decl = measurement_sigma(radars, r, np.full(fa_r.size, radars.ref_snr[r]))
        # Each replication's block: its targets, then its false alarms.
        order = np.argsort(np.concatenate([rep, fa_rep]), kind="stable")
        rng_m = np.concatenate([rng_m, fa_r])[order]
        az = np.concatenate([az, fa_az])[order]
        el = np.concatenate([el, fa_el])[order]
        truth = np.concatenate([truth, np.full(fa_r.size, -1, dtype=np.int64)])[order]
        sig = np.concatenate([sig, decl])[order]
        rep = np.concatenate([rep, fa_rep])[order]
    m = rng_m.shape[0]
    pos = polar_to_map(radar_pos, rng_m, az, el)
    polar = np.empty((m, 3))
    polar[:, 0], polar[:, 1], polar[:, 2] = rng_m, az, el
    det = Detections(
        time_s=t_s,
        radar=r,
        pos_m=pos,
        cov_m2=polar_covariance(rng_m, az, el, sig),
        polar=polar,
        truth=truth,
    )
    return det, rep
