"""The engagement stage's parameters: interceptors, batteries, assets, doctrine, SI units.

Built by `skydome.scenario.compile` (the one unit converter); evaluation,
geometry, launchers, flyout and assessment read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64

__all__ = [
    "DEFAULT_HOMING_SIGMA_M",
    "AssetParams",
    "BatteryParams",
    "DoctrineParams",
    "MissileParams",
    "TypePhysics",
]


@dataclass(frozen=True)
class TypePhysics:
    """3-DOF physics of every missile type, struct of arrays (M types), SI.

    Attributes:
        mass_kg: launch mass.
        boost_thrust_n, boost_s, sustain_thrust_n, sustain_s: motor phases.
        isp_s: specific impulse.
        cd_area_m2: drag coefficient times reference area.
        a_limit_mps2: lateral acceleration limit at sea level.
        a_floor_mps2: the limit's floor at altitude.
        lift_area_m2: S C_L,max (nan: the limit scales with air density).
        nav_gain: PN gain N'.
        augmented: augmented PN in the terminal phase (law == APN).
        law: (M,) guidance law, index into `skydome.engagement.guidance.LAWS`.
        tau_s: (M,) first-order flight-control (autopilot) time constant, s (0: none).
        jerk_limit_mps3: (M,) rate limit of the achieved lateral acceleration (inf: none).
        vertical_launch: (M,) launched vertically and turned over (else pointed).
        turnover_rad_s: (M,) turn-over rate of a vertical launch, rad/s.
        seeker_m: acquisition range of the terminal seeker.
        lethal_m: lethal radius.
        seeker_angle_rad: seeker angle noise, 1 sigma.
        seeker_glint_m: seeker glint, 1 sigma per axis.
        loft_rad: climb and descent angle of a lofted midcourse (0: direct).
        loft_ceiling_m: its cruise altitude.
        min_speed_mps: a burnt-out missile slower than this is spent.
    """

    mass_kg: F64
    boost_thrust_n: F64
    boost_s: F64
    sustain_thrust_n: F64
    sustain_s: F64
    isp_s: F64
    cd_area_m2: F64
    a_limit_mps2: F64
    a_floor_mps2: F64
    lift_area_m2: F64
    nav_gain: F64
    augmented: NDArray[np.bool_]
    seeker_m: F64
    lethal_m: F64
    seeker_angle_rad: F64
    seeker_glint_m: F64
    loft_rad: F64
    loft_ceiling_m: F64
    min_speed_mps: F64
    law: I64
    tau_s: F64
    jerk_limit_mps3: F64
    vertical_launch: NDArray[np.bool_]
    turnover_rad_s: F64


DEFAULT_HOMING_SIGMA_M = 5.0
"""End-game miss (1 sigma per axis) of a type with neither homing_miss_sigma_m nor physics, m
(assumed)."""


def _no_table() -> F64:
    return np.zeros((0, 0))


@dataclass(frozen=True)
class MissileParams:
    """The interceptor library, struct of arrays (M types), in scenario order.

    `physics` is None unless every type has physics (needed by the guided flyout).

    Lethality depends on the engagement: `pk_mt` and `max_target_speed_mt` hold
    each (missile type, threat type) pair's single-shot Pk and fastest
    engageable target, threat types aligned with `Threats.type_names` (T). `pk`
    and `max_target_speed_mps` are each type's defaults, used for a threat of
    unknown type (-1, e.g. a false track) and when the tables are empty (M, 0).
    Read them through `pk_of` and `max_target_speed_of`.

    Attributes:
        pk: (M,) default single-shot kill probability.
        max_target_speed_mps: (M,) default fastest engageable target, m/s.
        pk_mt: (M, T) single-shot Pk against each threat type.
        max_target_speed_mt: (M, T) fastest engageable target of each threat type, m/s.
        homing_sigma_m: (M,) end-game miss of the terminal homing, 1 sigma per
            axis, m (kinematic flyout; default: half the physics' lethal radius,
            or `DEFAULT_HOMING_SIGMA_M` without physics).
    """

    names: tuple[str, ...]
    min_range_m: F64
    max_range_m: F64
    min_alt_m: F64
    max_alt_m: F64
    speed_mps: F64
    max_target_speed_mps: F64
    pk: F64
    basket_m: F64
    max_tof_s: F64
    cost: F64
    physics: TypePhysics | None = None
    pk_mt: F64 = field(default_factory=_no_table)
    max_target_speed_mt: F64 = field(default_factory=_no_table)
    homing_sigma_m: F64 = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        # A constructor that leaves homing_sigma_m out gets the schema's default rule.
        if self.homing_sigma_m.size == 0 and self.pk.size > 0:
            sigma = (
                np.full(self.pk.shape, DEFAULT_HOMING_SIGMA_M)
                if self.physics is None
                else self.physics.lethal_m / 2.0
            )
            object.__setattr__(self, "homing_sigma_m", np.asarray(sigma, dtype=np.float64))

    def pk_of(self, mtype: I64, threat_type: I64) -> F64:
        """Single-shot Pk of missiles of type `mtype` against threats of type `threat_type`.

        Args:
            mtype: (...) missile type indices.
            threat_type: (...) threat type indices, broadcasting with `mtype`
                (-1 or beyond the table: unknown, the missile type's default `pk`).

        Returns:
            (...) kill probabilities.
        """
        return _lookup(self.pk_mt, self.pk, mtype, threat_type)

    def max_target_speed_of(self, mtype: I64, threat_type: I64) -> F64:
        """Fastest target of type `threat_type` a missile of type `mtype` can engage, m/s.

        Args:
            mtype: (...) missile type indices.
            threat_type: (...) threat type indices, broadcasting with `mtype`
                (-1 or beyond the table: unknown, the type's default).

        Returns:
            (...) speeds, m/s.
        """
        return _lookup(self.max_target_speed_mt, self.max_target_speed_mps, mtype, threat_type)


def _lookup(table: F64, default: F64, mtype: I64, threat_type: I64) -> F64:
    """table[m, t] where 0 <= t < T, else default[m]; broadcasting (...) indices."""
    m = np.asarray(mtype, dtype=np.int64)
    t = np.asarray(threat_type)
    n_t = table.shape[1] if table.ndim == 2 else 0
    # One gather from the table with the defaults as its last column (t = n_t).
    ext = np.concatenate([table.reshape(default.shape[0], n_t), default[:, None]], axis=1)
    out: F64 = ext[m, np.where((t >= 0) & (t < n_t), t, n_t)]
    return out


@dataclass(frozen=True)
class BatteryParams:
    """Every battery, struct of arrays (B batteries).

    Attributes:
        names: battery names.
        pos_m: (B, 3) launch position, map frame.
        launchers: (B,) number of launchers.
        inventory: (B, M) missiles of each type on the launchers at the start
            (launchers x load).
        load: (B, M) missiles of each type one launcher carries.
        reserve: (B, M) reload missiles held by the battery.
        reload_s: (B,) time to refill an empty launcher from the reserve.
        fc_radar: (B,) index of the fire-control radar (-1: none required).
        target_channels: (B,) targets engaged at once.
        missile_channels: (B,) missiles guided at once.
        reaction_s: (B,) decision-to-launch delay.
        launch_interval_s: (B,) between launches from one launcher.
        organic: (B, R) the battery's own radars (`skydome.engine.network`);
            empty: every radar is every battery's own.
        cue_delay_s: (B,) a networked battery engages a track held only by other
            units' radars this long after their first update, s (empty: 0).
    """

    names: tuple[str, ...]
    pos_m: F64
    launchers: I64
    inventory: I64
    load: I64
    reserve: I64
    reload_s: F64
    fc_radar: I64
    target_channels: I64
    missile_channels: I64
    reaction_s: F64
    launch_interval_s: F64
    organic: NDArray[np.bool_] = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    cue_delay_s: F64 = field(default_factory=lambda: np.zeros(0))


@dataclass(frozen=True)
class AssetParams:
    """Defended assets (A assets)."""

    names: tuple[str, ...]
    pos_m: F64
    value: F64
    radius_m: F64


@dataclass(frozen=True)
class DoctrineParams:
    """Engagement doctrine (see `skydome.scenario.schema.Doctrine`).

    Attributes:
        type_weight: (N,) threat-score multiplier of each threat (by its type).
        min_track_updates: fire-control gate: detections a track needs before it
            is engaged.
        quality_sigmas: fire-control gate: k, the sigmas of predicted position
            error at the intercept point that must fit what the missile corrects
            (`skydome.engagement.fire_control`; 0 turns the error test off).
        midcourse_share: fire-control gate: intercept-point error that midcourse
            updates remove per metre flown.
        threat_value: (K,) value of one threat of each threat type (K types,
            `Threats.type_names` order), asset-value units; NaN: its damage
            times the value of the asset it threatens.
        type_damage: (K,) mean damage of the threats of each type (what the
            command post expects a leaker of the type to do).
        type_weight_by_type: (K,) `type_weight` of each threat type.
        type_speed_mps: (K,) fastest speed of the threats of each type, m/s.
        min_threat_value: (M,) least threat value each missile type is fired at.
        engage_with: (K, M) missile types allowed against each threat type.
        reserve_share: (M,) share of each battery's starting rounds of the type
            kept back for threats no other type can engage now.
        expected_threats: (K,) threats of each type expected over the run (raid
            intelligence for the lookahead planner; 0: none declared).
        lookahead_discount: lookahead planner: share of a later kill's value a
            round kept for it is worth now.
        lookahead_cost_weight: lookahead planner: value units per unit of missile cost.
        lookahead_horizon_s: lookahead planner without `expected_threats`: how long
            threats are expected to keep arriving at the rate tracked so far, s.
        network: "networked" (a battery may engage tracks of other units' radars,
            after its cue delay) or "autonomous" (only its own radars' tracks).

    The gate's defaults here turn it off (parameters built by hand behave as
    before it existed); the scenario schema's defaults turn it on. Empty
    per-type arrays (the defaults) mean no rule: every type allowed, no value
    floor, no reserve, no intelligence.
    """

    salvo_size: int
    policy: str
    max_missiles_per_target: int
    kill_assessment_s: float
    max_track_age_s: float
    engage_order: str
    decision_period_s: float
    planner: str
    wta_solver: str
    wta_time_limit_s: float
    missile_cost_weight: float
    tgo_softening_s: float
    type_weight: F64
    min_track_updates: int = 1
    quality_sigmas: float = 0.0
    midcourse_share: float = 0.0
    threat_value: F64 = field(default_factory=lambda: np.zeros(0))
    type_damage: F64 = field(default_factory=lambda: np.zeros(0))
    type_weight_by_type: F64 = field(default_factory=lambda: np.zeros(0))
    type_speed_mps: F64 = field(default_factory=lambda: np.zeros(0))
    min_threat_value: F64 = field(default_factory=lambda: np.zeros(0))
    engage_with: NDArray[np.bool_] = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    reserve_share: F64 = field(default_factory=lambda: np.zeros(0))
    expected_threats: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lookahead_discount: float = 0.8
    lookahead_cost_weight: float = 0.5
    lookahead_horizon_s: float = 0.0
    network: str = "networked"
