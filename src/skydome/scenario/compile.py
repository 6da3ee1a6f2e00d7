"""Compile a validated `Scenario` into each stage's frozen SI-unit parameters.

This module is the only reader of the pydantic schema downstream of loading and
the only unit converter (km -> m, deg -> rad, mrad -> rad, dB -> linear).
Stages own their parameter types (`skydome.sensors.params`,
`skydome.tracking.params`, `skydome.engagement.params`, `skydome.threats`) and
never see the scenario models; `SimParams` bundles them for one scenario.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64
from skydome.constants import (
    BOLTZMANN_J_PER_K,
    G0_MPS2,
    SPEED_OF_LIGHT_M_PER_NS,
    T0_K,
)
from skydome.engagement.guidance import LAWS
from skydome.engagement.params import (
    DEFAULT_HOMING_SIGMA_M,
    AssetParams,
    BatteryParams,
    DoctrineParams,
    MissileParams,
    TypePhysics,
)
from skydome.scenario.compile_arm import build_arms, build_emission
from skydome.scenario.compile_identification import IdentParams, ident_params
from skydome.scenario.compile_raids import build_threats
from skydome.scenario.schema import (
    Doctrine,
    MissilePhysics,
    MissileType,
    Scenario,
    TrackerSettings,
)
from skydome.scenario.schema.weapons import BALLISTIC_CLASS, Battery, against_problems
from skydome.sensors.antiradiation import ArmParams
from skydome.sensors.detection import required_snr
from skydome.sensors.emission import EmissionParams
from skydome.sensors.params import RadarParams
from skydome.threats import Threats
from skydome.tracking.params import TrackerParams

__all__ = ["SimParams", "compile_scenario", "tracker_params"]


@dataclass(frozen=True)
class SimParams:
    """Everything static about one scenario, SI units."""

    name: str
    duration_s: float
    step_s: float
    seed: int
    origin: tuple[float, float, float]
    threats: Threats
    radars: RadarParams
    missiles: MissileParams
    batteries: BatteryParams
    assets: AssetParams
    doctrine: DoctrineParams
    tracker: TrackerParams
    flyout: str = "kinematic"
    guidance_step_s: float = 0.05
    emission: EmissionParams | None = None
    arms: ArmParams | None = None
    identity: IdentParams | None = None


def _type_physics(ph: list[MissilePhysics | None]) -> TypePhysics | None:
    if any(p is None for p in ph):
        return None
    g0 = G0_MPS2
    q = [p for p in ph if p is not None]
    return TypePhysics(
        mass_kg=_arr([p.launch_mass_kg for p in q]),
        boost_thrust_n=_arr([p.boost_thrust_kn * 1e3 for p in q]),
        boost_s=_arr([p.boost_s for p in q]),
        sustain_thrust_n=_arr([p.sustain_thrust_kn * 1e3 for p in q]),
        sustain_s=_arr([p.sustain_s for p in q]),
        isp_s=_arr([p.isp_s for p in q]),
        cd_area_m2=_arr([p.drag_coefficient * np.pi * p.diameter_m**2 / 4.0 for p in q]),
        a_limit_mps2=_arr([p.max_lateral_g * g0 for p in q]),
        a_floor_mps2=_arr([p.min_lateral_g * g0 for p in q]),
        lift_area_m2=_arr([np.nan if p.lift_area_m2 is None else p.lift_area_m2 for p in q]),
        nav_gain=_arr([p.navigation_ratio for p in q]),
        augmented=np.array([_law(p) == "apn" for p in q], dtype=bool),
        seeker_m=_arr([p.seeker_range_km * 1e3 for p in q]),
        lethal_m=_arr([p.lethal_radius_m for p in q]),
        seeker_angle_rad=_arr([p.seeker_angle_noise_mrad * 1e-3 for p in q]),
        seeker_glint_m=_arr([p.seeker_glint_m for p in q]),
        loft_rad=np.radians(_arr([p.loft_angle_deg for p in q])),
        loft_ceiling_m=_arr([p.loft_ceiling_km * 1e3 for p in q]),
        min_speed_mps=_arr([p.min_speed_mps for p in q]),
        law=np.array([LAWS.index(_law(p)) for p in q], dtype=np.int64),
        tau_s=_arr([p.autopilot_time_constant_s for p in q]),
        jerk_limit_mps3=_arr(
            [
                np.inf if p.max_lateral_jerk_g_per_s is None else p.max_lateral_jerk_g_per_s * g0
                for p in q
            ]
        ),
        vertical_launch=np.array([p.launch == "vertical" for p in q], dtype=bool),
        turnover_rad_s=np.radians(_arr([p.turnover_rate_deg_s for p in q])),
    )


def _against(
    per_type: list[tuple[dict[str, float], float]],
    type_names: tuple[str, ...],
    ballistic: set[str],
) -> F64:
    """(M, T) value of each missile type against each threat type.

    Args:
        per_type: each missile type's (per-threat-type mapping, default value).
        type_names: the threat types (T), in `Threats.type_names` order.
        ballistic: the threat types flown on ballistic arcs.

    Returns:
        The mapping's value for the type's label, else for 'ballistic' if the
        type is ballistic, else the default.
    """
    return _arr(
        [
            [
                vs.get(t, vs.get(BALLISTIC_CLASS, default) if t in ballistic else default)
                for t in type_names
            ]
            for vs, default in per_type
        ]
    ).reshape(len(per_type), len(type_names))


def _homing_sigma(m: MissileType) -> float:
    """The type's end-game miss sigma: given, else half its lethal radius, else the default."""
    if m.homing_miss_sigma_m is not None:
        return m.homing_miss_sigma_m
    return DEFAULT_HOMING_SIGMA_M if m.physics is None else m.physics.lethal_radius_m / 2.0


def _law(p: MissilePhysics) -> str:
    """The type's guidance law (augmented_pn turns true PN into augmented PN)."""
    return "apn" if p.augmented_pn else p.guidance_law


def _xy(east_km: float, north_km: float, z_m: float = 0.0) -> list[float]:
    return [east_km * 1e3, north_km * 1e3, z_m]


def _arr(values: list[float] | list[list[float]]) -> F64:
    return np.asarray(values, dtype=np.float64)


def compile_scenario(s: Scenario) -> SimParams:
    """Convert a validated scenario to SI parameter arrays."""
    r = s.radars
    ref_pd = _arr([x.reference_pd for x in r])
    pfa = _arr([x.pfa for x in r])
    gain_db = _arr([
        10.0 * np.log10(26_000.0 / x.beamwidth_deg**2) if x.antenna_gain_db is None
        else x.antenna_gain_db
        for x in r
    ])  # fmt: skip
    bandwidth_hz = _arr([x.bandwidth_mhz * 1e6 for x in r])
    noise_factor = 10.0 ** (_arr([x.noise_figure_db for x in r]) / 10.0)
    radars = RadarParams(
        names=tuple(x.name for x in r),
        pos_m=_arr([_xy(x.position.east_km, x.position.north_km, x.mast_height_m) for x in r]),
        ref_range_m=_arr([x.detection_range_km * 1e3 for x in r]),
        ref_rcs_m2=_arr([x.reference_rcs_m2 for x in r]),
        ref_snr=required_snr(ref_pd, pfa, [x.reference_swerling for x in r]),
        pfa=pfa,
        max_range_m=_arr([x.max_range_km * 1e3 for x in r]),
        min_el_rad=np.radians(_arr([x.min_elevation_deg for x in r])),
        max_el_rad=np.radians(_arr([x.max_elevation_deg for x in r])),
        az_center_rad=np.radians(_arr([x.sector.center_deg for x in r])),
        az_half_width_rad=np.radians(_arr([x.sector.width_deg / 2.0 for x in r])),
        scan_period_s=_arr([x.scan_period_s for x in r]),
        sigma_range_m=_arr([x.sigma_range_m for x in r]),
        sigma_az_rad=_arr([x.sigma_azimuth_mrad * 1e-3 for x in r]),
        sigma_el_rad=_arr([x.sigma_elevation_mrad * 1e-3 for x in r]),
        false_alarms_per_scan=_arr([x.false_alarms_per_scan for x in r]),
        wavelength_m=_arr([SPEED_OF_LIGHT_M_PER_NS / x.frequency_ghz for x in r]),
        gain=10.0 ** (gain_db / 10.0),
        sidelobe_gain=10.0 ** ((gain_db + _arr([x.sidelobe_level_db for x in r])) / 10.0),
        beamwidth_rad=np.radians(_arr([x.beamwidth_deg for x in r])),
        bandwidth_hz=bandwidth_hz,
        noise_power_w=BOLTZMANN_J_PER_K * T0_K * noise_factor * bandwidth_hz,
        accuracy_floor=_arr([x.accuracy_floor_fraction for x in r]),
        esa=np.array([x.scan == "esa" for x in r], dtype=bool),
        track_channels=np.array([x.track_channels or 0 for x in r], dtype=np.int64),
    )
    mnames = tuple(s.missiles)
    m = [s.missiles[k] for k in mnames]
    threats = build_threats(s)
    bad = against_problems(s.missiles, threats.type_names)
    if bad:
        raise ValueError("; ".join(f"{'.'.join(loc)}: {msg}" for loc, msg in bad))
    ballistic = {r.type for r in s.raids if r.ballistic is not None}
    missiles = MissileParams(
        names=mnames,
        min_range_m=_arr([x.min_range_km * 1e3 for x in m]),
        max_range_m=_arr([x.max_range_km * 1e3 for x in m]),
        min_alt_m=_arr([x.min_altitude_m for x in m]),
        max_alt_m=_arr([x.max_altitude_km * 1e3 for x in m]),
        speed_mps=_arr([x.average_speed_mps for x in m]),
        max_target_speed_mps=_arr([x.max_target_speed_mps for x in m]),
        pk=_arr([x.pk for x in m]),
        basket_m=_arr([x.homing_basket_m for x in m]),
        max_tof_s=_arr([np.inf if x.max_flight_time_s is None else x.max_flight_time_s for x in m]),
        cost=_arr([x.cost for x in m]),
        physics=_type_physics([x.physics for x in m]),
        pk_mt=_against([(x.pk_against, x.pk) for x in m], threats.type_names, ballistic),
        homing_sigma_m=_arr([_homing_sigma(x) for x in m]),
        max_target_speed_mt=_against(
            [(x.max_target_speed_against_mps, x.max_target_speed_mps) for x in m],
            threats.type_names,
            ballistic,
        ),
    )
    b = s.batteries
    load = np.array([[bat.load.get(name, 0) for name in mnames] for bat in b], dtype=np.int64)
    load = load.reshape(len(b), len(mnames))
    reserve = np.array([[bat.reserve.get(name, 0) for name in mnames] for bat in b], dtype=np.int64)
    radar_index = {x.name: i for i, x in enumerate(r)}
    batteries = BatteryParams(
        names=tuple(x.name for x in b),
        pos_m=_arr([_xy(x.position.east_km, x.position.north_km) for x in b]),
        launchers=np.array([x.launchers for x in b], dtype=np.int64),
        inventory=np.array([x.launchers for x in b], dtype=np.int64)[:, None] * load,
        load=load,
        reserve=reserve.reshape(len(b), len(mnames)),
        reload_s=_arr([x.reload_time_s for x in b]),
        fc_radar=np.array(
            [-1 if x.fire_control_radar is None else radar_index[x.fire_control_radar] for x in b],
            dtype=np.int64,
        ),
        target_channels=np.array([x.fire_channels.targets for x in b], dtype=np.int64),
        missile_channels=np.array([x.fire_channels.missiles for x in b], dtype=np.int64),
        reaction_s=_arr([x.reaction_time_s for x in b]),
        launch_interval_s=_arr([x.launch_interval_s for x in b]),
        organic=_organic(b, radar_index),
        cue_delay_s=_arr([x.cue_delay_s for x in b]),
    )
    a = s.assets
    assets = AssetParams(
        names=tuple(x.name for x in a),
        pos_m=_arr([_xy(x.position.east_km, x.position.north_km) for x in a]),
        value=_arr([x.value for x in a]),
        radius_m=_arr([x.defended_radius_km * 1e3 for x in a]),
    )
    d = s.doctrine
    t = s.tracker
    speeds = threat_speeds_mps(threats) if threats.n else np.zeros(0)
    return SimParams(
        name=s.name,
        duration_s=s.run.duration_s,
        step_s=s.run.step_s,
        seed=s.run.seed,
        flyout=s.run.flyout,
        guidance_step_s=s.run.guidance_step_s,
        origin=(s.origin.lat_deg, s.origin.lon_deg, s.origin.alt_m),
        threats=threats,
        radars=radars,
        missiles=missiles,
        batteries=batteries,
        assets=assets,
        doctrine=DoctrineParams(
            salvo_size=d.salvo_size,
            policy=d.policy,
            max_missiles_per_target=(
                d.max_missiles_per_target if d.max_missiles_per_target is not None else d.salvo_size
            ),
            kill_assessment_s=d.kill_assessment_s,
            max_track_age_s=d.max_track_age_s,
            engage_order=d.engage_order,
            decision_period_s=d.decision_period_s,
            planner=d.planner,
            wta_solver=d.wta_solver,
            wta_time_limit_s=d.wta_time_limit_s,
            missile_cost_weight=d.missile_cost_weight,
            tgo_softening_s=d.tgo_softening_s,
            min_track_updates=d.min_track_updates,
            quality_sigmas=d.quality_sigmas,
            midcourse_share=d.midcourse_share,
            network=d.network,
            **_battle_management(d, threats, mnames, speeds),
        ),
        tracker=tracker_params(t, float(speeds.max()) if threats.n else None),
        emission=build_emission(s),
        arms=build_arms(s, threats),
        identity=ident_params(s),
    )


def _organic(b: list[Battery], radar_index: dict[str, int]) -> NDArray[np.bool_]:
    """(B, R) each battery's own radars: those listed, else its fire-control radar, else all."""
    out = np.zeros((len(b), len(radar_index)), dtype=bool)
    for i, x in enumerate(b):  # batteries: a handful
        if x.radars is not None:
            out[i, [radar_index[n] for n in x.radars]] = True
        elif x.fire_control_radar is not None:
            out[i, radar_index[x.fire_control_radar]] = True
        else:
            out[i] = True
    return out


def _battle_management(
    d: Doctrine, threats: Threats, mnames: tuple[str, ...], speeds_mps: F64
) -> dict[str, Any]:
    """The doctrine's per-type weights and battle-management rules as arrays (`DoctrineParams`).

    Threat types (K) in `threats.type_names` order, missile types (M) in `mnames` order;
    `speeds_mps` is each threat's fastest speed (`threat_speeds_mps`).
    """
    k = len(threats.type_names)
    engage_with = np.ones((k, len(mnames)), dtype=bool)
    for i, label in enumerate(threats.type_names):
        if label in d.engage_with:
            engage_with[i] = [m in d.engage_with[label] for m in mnames]
    damage = np.zeros(k)
    np.add.at(damage, threats.type_index, threats.damage)
    per_type = np.bincount(threats.type_index, minlength=k)
    speed = np.zeros(k)
    np.maximum.at(speed, threats.type_index, speeds_mps)
    weight = _arr([d.type_weights.get(x, 1.0) for x in threats.type_names])
    return {
        "type_weight": weight[threats.type_index],
        "threat_value": _arr([d.threat_values.get(x, np.nan) for x in threats.type_names]),
        "type_damage": damage / np.maximum(per_type, 1),
        "type_weight_by_type": weight,
        "type_speed_mps": speed,
        "min_threat_value": _arr([d.min_threat_value.get(m, 0.0) for m in mnames]),
        "engage_with": engage_with,
        "reserve_share": _arr([d.reserve_share.get(m, 0.0) for m in mnames]),
        "expected_threats": (
            per_type.astype(np.int64)
            if d.perfect_intelligence
            else np.array(
                [d.expected_threats.get(x, 0) for x in threats.type_names], dtype=np.int64
            )
        ),
        "lookahead_discount": d.lookahead_discount,
        "lookahead_cost_weight": d.lookahead_cost_weight,
        "lookahead_horizon_s": d.lookahead_horizon_s,
    }


MAX_SPEED_MARGIN = 1.25
"""The tracker's compiled maximum target speed: the fastest threat's speed times this."""

FALLBACK_MAX_SPEED_MPS = 5_000.0
"""The maximum target speed when neither the settings nor any threat give one, m/s."""


def threat_speeds_mps(threats: Threats, samples: int = 64) -> F64:
    """(N,) the fastest speed each threat reaches (sampled over its flight), m/s."""
    frac = np.linspace(0.0, 1.0, samples)
    span = np.where(np.isfinite(threats.end_s), threats.end_s - threats.launch_s, 0.0)
    t = threats.launch_s[:, None] + frac[None, :] * span[:, None]  # (N, samples)
    idx = np.repeat(np.arange(threats.n, dtype=np.int64), samples)
    _, vel = threats.state_at(t.reshape(-1), idx)
    speed: F64 = np.sqrt(np.einsum("ni,ni->n", vel, vel)).reshape(threats.n, samples).max(axis=1)
    return speed


def tracker_params(t: TrackerSettings, fastest_mps: float | None = None) -> TrackerParams:
    """Convert validated tracker settings to SI `TrackerParams`.

    Args:
        t: the settings.
        fastest_mps: the scenario's fastest threat speed (`threat_speeds_mps`), m/s;
            with `t.max_speed_mps` unset, the maximum target speed of
            initiation is this times `MAX_SPEED_MARGIN` (`FALLBACK_MAX_SPEED_MPS`
            when None). With `t.init_velocity_sigma_mps` unset, the velocity
            prior of a new track is v_max / sqrt(5) per axis: the spread of a
            velocity uniform in the ball of radius v_max.
    """
    if t.max_speed_mps is not None:
        v_max = t.max_speed_mps
    elif fastest_mps is not None and fastest_mps > 0.0:
        v_max = MAX_SPEED_MARGIN * fastest_mps
    else:
        v_max = FALLBACK_MAX_SPEED_MPS
    sigma_v = t.init_velocity_sigma_mps
    if sigma_v is None:
        sigma_v = v_max / math.sqrt(5.0)
    return TrackerParams(
        q_mps2=t.process_noise_mps2,
        gate_probability=t.gate_probability,
        confirm_m=t.confirm_m,
        confirm_n=t.confirm_n,
        delete_misses=t.delete_misses,
        max_coast_s=t.max_coast_s,
        init_velocity_sigma_mps=sigma_v,
        motion_model=t.motion_model,
        manoeuvre_q_mps2=t.manoeuvre_noise_mps2,
        jerk_q_mps3=t.jerk_noise_mps3,
        imm_cruise_s=t.imm_cruise_s,
        imm_manoeuvre_s=t.imm_manoeuvre_s,
        max_position_sigma_m=t.max_position_sigma_m,
        max_speed_mps=v_max,
        detection_probability=t.detection_probability,
        false_alarm_density_m3=t.false_alarm_density_per_km3 * 1e-9,
        confirm_llr=-math.inf if t.confirm_score is None else t.confirm_score,
        birth_lookback=t.birth_lookback,
    )
