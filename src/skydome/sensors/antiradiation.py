"""Anti-radiation missiles (ARMs): seeker acquisition and the hit on the radar at arrival.

An ARM is an ordinary threat for the defence (detected, tracked, engaged; its
route, compiled by `skydome.scenario.compile_raids`, ends at the antenna of the
radar it attacks). Its seeker is modelled by its outcome only:

- **acquisition**: the seeker acquires its radar at the first engine step at
  which the radar emits while the ARM is within `acquisition_m` of it;
- **hit at arrival** (time t_a = the route's end): with s = t_a - t_last the
  radar's silence before impact (t_last its last emission,
  `skydome.sensors.emission.last_emission_s`):

  * never acquired: no hit (it flies on to the radar's position blind);
  * s <= memory: homing on the emitter (or the last bearing, still fresh):
    circular error probable CEP = `cep_m`;
  * s > memory: flying on the remembered position: CEP = `memory_cep_m` +
    `drift_mps` (s - memory), the aim point drifting while nothing corrects it.

  The miss is circular normal (each ground axis N(0, sigma^2)), so the miss
  distance r is Rayleigh: P(r <= x) = 1 - exp(-x^2 / (2 sigma^2)). The CEP is
  its median: 1 - exp(-CEP^2 / (2 sigma^2)) = 1/2, so 2 sigma^2 = CEP^2 / ln 2 and

      P(r <= R) = 1 - exp(-R^2 ln 2 / CEP^2)

  for the lethal radius R. The radar is destroyed when r <= R and a second
  draw falls below `kill_probability` (the chance that a warhead inside the
  lethal radius disables the radar): P(destroyed) = pk (1 - exp(-R^2 ln2 / CEP^2)).
  The miss is drawn by inverting the Rayleigh law, r = CEP sqrt(-ln(1 - U) / ln 2).

Figures: HARM-class range "more than 48 km" (public); speed, seeker memory,
CEP and lethal radius are not public ("assumed"; docs/sources.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64

__all__ = ["ArmHits", "ArmParams", "acquire", "arm_cep_m", "hit_probability", "resolve_hits"]

B = NDArray[np.bool_]


@dataclass(frozen=True)
class ArmParams:
    """The ARMs of a scenario (A rows), static.

    Attributes:
        threat: (A,) threat index of each ARM (increasing).
        radar: (A,) radar it attacks.
        acquisition_m: (A,) seeker acquisition range, m.
        memory_s: (A,) silence the seeker bridges at homing accuracy, s.
        cep_m: (A,) CEP homing on an emitting radar, m.
        memory_cep_m: (A,) CEP flying on memory (silence longer than `memory_s`), m.
        drift_mps: (A,) growth of that CEP per second of silence beyond `memory_s`, m/s.
        lethal_m: (A,) lethal radius against the radar, m.
        kill_probability: (A,) probability a warhead within the lethal radius
            destroys the radar.
    """

    threat: I64
    radar: I64
    acquisition_m: F64
    memory_s: F64
    cep_m: F64
    memory_cep_m: F64
    drift_mps: F64
    lethal_m: F64
    kill_probability: F64

    @property
    def n(self) -> int:
        """Number of ARMs."""
        return int(self.threat.size)


def hit_probability(cep_m: F64 | float, lethal_m: F64 | float) -> F64:
    """P(miss <= R) = 1 - exp(-R^2 ln 2 / CEP^2) for a circular-normal miss (module doc)."""
    cep = np.asarray(cep_m, dtype=np.float64)
    r = np.asarray(lethal_m, dtype=np.float64)
    p: F64 = -np.expm1(-(r * r) * math.log(2.0) / (cep * cep))
    return p


def arm_cep_m(arms: ArmParams, rows: I64, silent_s: F64) -> F64:
    """(K,) the CEP of ARMs `rows` after a silence of `silent_s` before impact, m."""
    mem = arms.memory_s[rows]
    grown = arms.memory_cep_m[rows] + arms.drift_mps[rows] * np.maximum(silent_s - mem, 0.0)
    cep: F64 = np.where(silent_s <= mem, arms.cep_m[rows], grown)
    return cep


def acquire(
    arms: ArmParams, acquired: B, pos_m: F64, airborne: B, radar_pos_m: F64, emitting: B
) -> B:
    """(A,) acquisition flags after a look at the ARMs' positions now.

    Args:
        arms: the ARMs.
        acquired: (A,) flags so far.
        pos_m: (A, 3) ARM positions now, map frame, m.
        airborne: (A,) ARMs in the air now.
        radar_pos_m: (R, 3) antenna positions, m.
        emitting: (R,) radars emitting now.
    """
    d = pos_m - radar_pos_m[arms.radar]
    close = np.einsum("ki,ki->k", d, d) <= arms.acquisition_m**2
    out: B = acquired | (airborne & emitting[arms.radar] & close)
    return out


@dataclass(frozen=True)
class ArmHits:
    """The outcome of K ARM arrivals.

    Attributes:
        cep_m: (K,) CEP used, m (nan: never acquired).
        miss_m: (K,) miss distance drawn, m (nan: never acquired).
        destroyed: (K,) the radar is destroyed by this ARM.
    """

    cep_m: F64
    miss_m: F64
    destroyed: B


def resolve_hits(
    arms: ArmParams,
    rows: I64,
    t_arrive_s: F64,
    last_emission_s: F64,
    acquired: B,
    rng: np.random.Generator,
) -> ArmHits:
    """Draw the miss of ARMs `rows` arriving at `t_arrive_s` and whether each destroys its radar.

    Two uniforms are drawn per arrival, whatever the outcome, so the stream's
    use does not depend on the emission history.

    Args:
        arms: the ARMs.
        rows: (K,) ARM rows arriving.
        t_arrive_s: (K,) arrival (impact) times, s.
        last_emission_s: (K,) their radars' last emission at or before arrival, s.
        acquired: (K,) the seeker acquired the radar during the flight.
        rng: the ARMs' random stream.
    """
    u = rng.random((2, rows.size))
    silent = np.maximum(t_arrive_s - last_emission_s, 0.0)
    cep = np.where(acquired, arm_cep_m(arms, rows, silent), np.nan)
    miss = cep * np.sqrt(-np.log1p(-u[0]) / math.log(2.0))
    destroyed: B = acquired & (miss <= arms.lethal_m[rows]) & (u[1] < arms.kill_probability[rows])
    return ArmHits(cep, miss, destroyed)
