"""Batched sensing for the batched engine: truth, jammers and radar scans of R replications.

The engine's sense stage (`skydome.engine.step`, "3-4. sense and track") for R
replications of one scenario at once, in the rep-major layout: per-threat arrays
are (R*N,), row k*N + i is threat i of replication k. Each function equals, byte
for byte, the single stage run on each replication's slice and concatenated:

* `truth_batch`: replications differ only by their evasive breaks, so the N
  threats' states are computed once (`Threats.state_at`, no break) and repeated;
  the rows that may be in a break are evaluated on the threats tiled R times
  (`tile_threats`; the kinematics are per threat: rows gathered by index, the
  segment lookup a per-row count, the re-entry table a per-row search).
* `jammers_batch`: every replication's jammers, sorted by replication.
* `detect_batch`: `RadarSensor.detect` of one radar in every replication
  (`skydome.sensors.radar_batch.detect_batch`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engine.stages import RadarSensor
from skydome.sensors import radar_batch
from skydome.sensors.base import Detections
from skydome.sensors.jamming import Jammers
from skydome.threats import Threats, tile_threats

__all__ = [
    "detect_batch",
    "in_sky_batch",
    "jammers_batch",
    "supports_batch",
    "truth_batch",
]

B = NDArray[np.bool_]


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
    n = max(th.n, 1)
    on_air = in_sky & np.tile(th.jam_erp_w > 0.0, n_reps)  # jammers radiate while airborne
    rows = np.flatnonzero(on_air)
    i = rows % n
    return Jammers(pos_m[rows], th.jam_erp_w[i], th.jam_bandwidth_hz[i]), rows // n


def supports_batch(sensor: object) -> bool:
    """Whether `detect_batch` reproduces `sensor` (the built-in `RadarSensor`, any radars)."""
    return type(sensor) is RadarSensor


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
        replication k: targets by threat index, then false alarms; `truth` the
        local threat index), and (M,) the replication of each row.
    """
    if len(rngs) != n_reps:
        raise ValueError(f"detect_batch: {len(rngs)} generators for {n_reps} replications")
    th = sensor.threats
    return radar_batch.detect_batch(
        sensor.radars, radar, t_s, pos_m, th.rcs_m2, np.arange(th.n), rngs, in_sky,
        th.swerling, jam, jam_rep,
    )  # fmt: skip
