"""The tracking stage's parameters: tracker settings in SI units.

Built by `skydome.scenario.compile` (the one unit converter); the trackers
(`skydome.tracking.gnn`, `skydome.tracking.management`) read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TrackerParams"]


@dataclass(frozen=True)
class TrackerParams:
    """Tracker settings in SI units (see `skydome.scenario.schema.TrackerSettings`).

    Attributes:
        q_mps2: white-noise acceleration density sqrt(q) of the CV model (and of
            the IMM's quiet mode), m/s^2.
        gate_probability: chi-square gate probability (3 dof).
        confirm_m, confirm_n: M-of-N confirmation.
        delete_misses: consecutive missed looks that drop a track.
        max_coast_s: time without an update that drops a track, s.
        init_velocity_sigma_mps: velocity standard deviation of a new track.
        motion_model: "cv", "ca", "imm" or "ballistic" (the imm's two modes
            plus constant velocity under gravity).
        manoeuvre_q_mps2: acceleration noise of the IMM manoeuvre mode, m/s^2.
        jerk_q_mps3: jerk noise density of the CA model, m/s^3.
        imm_cruise_s, imm_manoeuvre_s: mean sojourn times of the IMM modes, s.
        max_position_sigma_m: RMS position sigma per axis that drops a track, m.
        max_speed_mps: fastest plausible target, m/s: the velocity gate of two-point
            initiation; faster tentative tracks are dropped.
        detection_probability: assumed Pd, for the track score.
        false_alarm_density_m3: assumed false-alarm density, per m^3, for the score.
        confirm_llr: track score a tentative track must also reach to be
            confirmed (Wald's SPRT upper threshold); -inf: M-of-N alone.
        birth_lookback: earlier revisits checked by the birth prior of two-point
            initiation (`skydome.tracking.gnn`); 0: no birth prior.
    """

    q_mps2: float
    gate_probability: float
    confirm_m: int
    confirm_n: int
    delete_misses: int
    max_coast_s: float
    init_velocity_sigma_mps: float
    motion_model: str = "cv"
    manoeuvre_q_mps2: float = 60.0
    jerk_q_mps3: float = 5.0
    imm_cruise_s: float = 60.0
    imm_manoeuvre_s: float = 15.0
    max_position_sigma_m: float = 20_000.0
    max_speed_mps: float = 5_000.0
    detection_probability: float = 0.9
    false_alarm_density_m3: float = 1e-12
    birth_lookback: int = 2
    confirm_llr: float = -math.inf
