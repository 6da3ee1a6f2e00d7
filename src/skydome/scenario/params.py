"""Compile a validated `Scenario` into frozen SI-unit parameter arrays.

This is the one place where units are converted (km -> m, deg -> rad, mrad ->
rad). Stages receive these `*Params` and never see the scenario models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skydome.scenario.schema import MissilePhysics, Scenario, TrackerSettings
from skydome.threats import Threats, build_threats

__all__ = [
    "AssetParams",
    "BatteryParams",
    "DoctrineParams",
    "MissileParams",
    "RadarParams",
    "SimParams",
    "TrackerParams",
    "TypePhysics",
    "compile_scenario",
    "tracker_params",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class RadarParams:
    """Every radar, struct of arrays (R radars).

    Attributes:
        names: radar names.
        pos_m: (R, 3) antenna position, map frame (z = mast height).
        ref_range_m: (R,) range of the reference detection.
        ref_rcs_m2: (R,) RCS of the reference detection.
        ref_snr: (R,) single-look SNR (linear) at the reference point.
        pfa: (R,) probability of false alarm per resolution cell.
        max_range_m: (R,) instrumented range.
        min_el_rad, max_el_rad: (R,) elevation limits.
        az_center_rad, az_half_width_rad: (R,) azimuth sector.
        scan_period_s: (R,) revisit period.
        sigma_range_m, sigma_az_rad, sigma_el_rad: (R,) measurement noise, 1 sigma.
        false_alarms_per_scan: (R,) mean number of false alarms per scan (Poisson);
            zeros when omitted.
        wavelength_m, gain, sidelobe_gain, beamwidth_rad, bandwidth_hz,
        noise_power_w: (R,) what jamming needs: wavelength, mainlobe and sidelobe
            receive gain (linear), 3-dB beamwidth, receiver bandwidth and noise
            power k T0 F B (see `skydome.sensors.jamming`); an assumed S-band radar
            (0.1 m, 2 deg, 38.1 dB, -30 dB sidelobes, 1 MHz, F = 3 dB) when omitted.
        accuracy_floor: (R,) fraction of the declared sigmas that remains at high
            SNR (see `skydome.sensors.radar.measurement_sigma`); 1 (constant noise)
            when omitted.
        esa: (R,) electronically scanned (True) or rotating; False when omitted.
        track_channels: (R,) targets an ESA radar measures per revisit (0: no limit).
    """

    names: tuple[str, ...]
    pos_m: F64
    ref_range_m: F64
    ref_rcs_m2: F64
    ref_snr: F64
    pfa: F64
    max_range_m: F64
    min_el_rad: F64
    max_el_rad: F64
    az_center_rad: F64
    az_half_width_rad: F64
    scan_period_s: F64
    sigma_range_m: F64
    sigma_az_rad: F64
    sigma_el_rad: F64
    false_alarms_per_scan: F64 = field(default_factory=lambda: np.zeros(0))
    wavelength_m: F64 = field(default_factory=lambda: np.zeros(0))
    gain: F64 = field(default_factory=lambda: np.zeros(0))
    sidelobe_gain: F64 = field(default_factory=lambda: np.zeros(0))
    beamwidth_rad: F64 = field(default_factory=lambda: np.zeros(0))
    bandwidth_hz: F64 = field(default_factory=lambda: np.zeros(0))
    noise_power_w: F64 = field(default_factory=lambda: np.zeros(0))
    accuracy_floor: F64 = field(default_factory=lambda: np.zeros(0))
    esa: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    track_channels: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        if self.false_alarms_per_scan.shape != (len(self.names),):
            object.__setattr__(self, "false_alarms_per_scan", np.zeros(len(self.names)))
        # Omitted radio-frequency / scan fields: an assumed S-band radar (see above).
        gain = 26_000.0 / 2.0**2  # G ~ 26,000 / (beamwidth_deg^2)
        omitted: dict[str, tuple[float, type]] = {
            "wavelength_m": (0.1, np.float64),
            "gain": (gain, np.float64),
            "sidelobe_gain": (gain * 1e-3, np.float64),
            "beamwidth_rad": (np.radians(2.0), np.float64),
            "bandwidth_hz": (1e6, np.float64),
            "noise_power_w": (1.380649e-23 * 290.0 * 10.0**0.3 * 1e6, np.float64),
            "accuracy_floor": (1.0, np.float64),
            "esa": (False, np.bool_),
            "track_channels": (0, np.int64),
        }
        for name, (value, dtype) in omitted.items():
            if getattr(self, name).shape != (len(self.names),):
                object.__setattr__(self, name, np.full(len(self.names), value, dtype=dtype))

    @property
    def n(self) -> int:
        """Number of radars."""
        return len(self.names)


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
        augmented: augmented PN in the terminal phase.
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


@dataclass(frozen=True)
class MissileParams:
    """The interceptor library, struct of arrays (M types), in scenario order.

    `physics` is None unless every type has physics (needed by the guided flyout).
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
        motion_model: "cv", "ca" or "imm".
        manoeuvre_q_mps2: acceleration noise of the IMM manoeuvre mode, m/s^2.
        jerk_q_mps3: jerk noise density of the CA model, m/s^3.
        imm_cruise_s, imm_manoeuvre_s: mean sojourn times of the IMM modes, s.
        max_position_sigma_m: RMS position sigma per axis that drops a track, m.
        max_speed_mps: fastest plausible target; faster tentative tracks are dropped.
        detection_probability: assumed Pd, for the track score.
        false_alarm_density_m3: assumed false-alarm density, per m^3, for the score.
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


def _type_physics(ph: list[MissilePhysics | None]) -> TypePhysics | None:
    if any(p is None for p in ph):
        return None
    g0 = 9.80665
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
        augmented=np.array([p.augmented_pn for p in q], dtype=bool),
        seeker_m=_arr([p.seeker_range_km * 1e3 for p in q]),
        lethal_m=_arr([p.lethal_radius_m for p in q]),
        seeker_angle_rad=_arr([p.seeker_angle_noise_mrad * 1e-3 for p in q]),
        seeker_glint_m=_arr([p.seeker_glint_m for p in q]),
        loft_rad=np.radians(_arr([p.loft_angle_deg for p in q])),
        loft_ceiling_m=_arr([p.loft_ceiling_km * 1e3 for p in q]),
        min_speed_mps=_arr([p.min_speed_mps for p in q]),
    )


def _xy(east_km: float, north_km: float, z_m: float = 0.0) -> list[float]:
    return [east_km * 1e3, north_km * 1e3, z_m]


def _arr(values: list[float] | list[list[float]]) -> F64:
    return np.asarray(values, dtype=np.float64)


def compile_scenario(s: Scenario) -> SimParams:
    """Convert a validated scenario to SI parameter arrays."""
    from skydome.sensors.detection import required_snr
    from skydome.sensors.jamming import BOLTZMANN_J_PER_K, T0_K

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
        wavelength_m=_arr([0.299792458 / x.frequency_ghz for x in r]),
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
    threats = build_threats(s)
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
            type_weight=np.array([d.type_weights.get(name, 1.0) for name in threats.type_names])[
                threats.type_index
            ],
        ),
        tracker=tracker_params(t),
    )


def tracker_params(t: TrackerSettings) -> TrackerParams:
    """Convert validated tracker settings to SI `TrackerParams`."""
    return TrackerParams(
        q_mps2=t.process_noise_mps2,
        gate_probability=t.gate_probability,
        confirm_m=t.confirm_m,
        confirm_n=t.confirm_n,
        delete_misses=t.delete_misses,
        max_coast_s=t.max_coast_s,
        init_velocity_sigma_mps=t.init_velocity_sigma_mps,
        motion_model=t.motion_model,
        manoeuvre_q_mps2=t.manoeuvre_noise_mps2,
        jerk_q_mps3=t.jerk_noise_mps3,
        imm_cruise_s=t.imm_cruise_s,
        imm_manoeuvre_s=t.imm_manoeuvre_s,
        max_position_sigma_m=t.max_position_sigma_m,
        max_speed_mps=t.max_speed_mps,
        detection_probability=t.detection_probability,
        false_alarm_density_m3=t.false_alarm_density_per_km3 * 1e-9,
    )
