"""Batched radar scans: one radar's scan in R replications of one scenario at once.

`detect_batch` is `skydome.sensors.radar.detect` for R replications whose N
targets are stacked rep-major: row k*N + i is target i of replication k. Its
detections hold the rows of every replication, sorted by replication, each block
in the order the single scan gives (targets by index, then false alarms), with a
`rep` array beside them; target ids stay local.

It equals, byte for byte, `detect` run on each replication's slice and
concatenated. All the arithmetic is `detect`'s, elementwise per row (numpy's
elementwise loops give a value the same result wherever it sits in an array), so
geometry, unjammed SNR and Pd are computed once per distinct position
(`_shared_rows`: rows at replication 0's position of the same target share them)
and gathered to every row. The per-replication work is the random draws (the same
calls, sizes and order on each replication's own generator) and, under jamming,
the two small matrix products of `jam_to_noise` (BLAS, whose rounding may depend
on the shapes: one pair per jammed replication with the single scan's shapes, so
the jammer sums are those of the single scan and a jammer only raises the noise
of its own replication).

The engine-facing side (threat truth, jammers, the `RadarSensor` stage) is
`skydome.engine.sense_batch`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.geo import RadarGeometry, polar_to_map, radar_geometry
from skydome.sensors.base import Detections
from skydome.sensors.detection import detection_probability
from skydome.sensors.jamming import Jammers, line_of_sight_unit
from skydome.sensors.params import RadarParams
from skydome.sensors.radar import coverage_mask, measurement_sigma, polar_covariance

__all__ = ["detect_batch"]

B = NDArray[np.bool_]


def _shared_rows(pos_m: F64, n: int, n_reps: int) -> tuple[I64, I64]:
    """The rows whose geometry must be computed, and where each row finds its own.

    A row at bit for bit the position of replication 0's row of the same target
    (a threat not in an evasive break, say) has the same geometry,
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
    radars: RadarParams,
    r: int,
    t_s: float,
    pos_m: F64,
    rcs_m2: F64,
    ids: I64,
    rngs: Sequence[np.random.Generator],
    present: B,
    swerling: I64,
    jammers: Jammers,
    jam_rep: I64,
) -> tuple[Detections, I64]:
    """One scan of radar `r` in each of R replications (`radar.detect`, batched).

    Args:
        radars: all radars.
        r: index of the scanning radar.
        t_s: scan time, s (common).
        pos_m: (R*N, 3) true target positions, rep-major.
        rcs_m2: (N,) target mean RCS (the same in every replication).
        ids: (N,) target ids, carried into `Detections.truth`.
        rngs: R generators, replication k's stream of this radar; each is advanced
            exactly as `detect` advances it.
        present: (R*N,) False for targets not in the sky.
        swerling: (N,) Swerling case of each target.
        jammers: the jammers radiating in every replication, sorted by replication.
        jam_rep: (J,) replication of each jammer.

    Returns:
        (detections, rep): every replication's detections in one `Detections`,
        sorted by replication (block k equals `detect` on replication k's slice:
        targets by index, then false alarms), and (M,) the replication of each row.
    """
    n, n_reps = rcs_m2.shape[0], len(rngs)
    if pos_m.shape[0] != n * n_reps:
        raise ValueError(f"detect_batch: {pos_m.shape[0]} rows for {n_reps} x {n} targets")
    radar_pos = radars.pos_m[r : r + 1]
    # Geometry, unjammed SNR and Pd of each distinct row once (`_shared_rows`).
    rows_u, src = _shared_rows(pos_m, n, n_reps)
    tgt_u = rows_u % max(n, 1)
    geom = radar_geometry(radar_pos, pos_m[rows_u])
    seen_u = coverage_mask(radars, r, geom)
    slant_u = geom.slant_m[0]
    pfa = radars.pfa[r]
    # look_snr; jammed replications below, each with its own jammers
    snr_u: F64 = (
        radars.ref_snr[r]
        * (rcs_m2[tgt_u] / radars.ref_rcs_m2[r])
        * (radars.ref_range_m[r] / np.maximum(slant_u, 1.0)) ** 4
    )
    pd_u = detection_probability(snr_u, pfa, swerling[tgt_u])
    snr, pd = snr_u[src], pd_u[src]
    if jammers.n:
        jrows, jn = _jam_to_noise_batch(radars, r, geom, src, jammers, jam_rep, n, n_reps)
        snr_j = snr[jrows] / (1.0 + jn)
        snr[jrows] = snr_j
        pd[jrows] = detection_probability(snr_j, pfa, swerling[jrows % n])
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
    seen = seen_u[src] & present
    seen = _dwell_batch(radars, r, slant_u, src, seen, n, n_reps)
    hit = (seen & (u < pd)).nonzero()[0]
    rep = hit // max(n, 1)
    hu = src[hit]
    sig = measurement_sigma(radars, r, snr[hit])
    noise = unit_noise[hit] * sig
    rng_m = np.maximum(slant_u[hu] + noise[:, 0], 1.0)
    az = geom.azimuth_rad[0, hu] + noise[:, 1]
    el = geom.elevation_rad[0, hu] + noise[:, 2]
    truth = ids[hit - rep * n]
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
