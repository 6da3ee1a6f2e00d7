"""Scenario schema: doctrine, tracker settings and run settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from skydome.scenario.schema._base import Name, _Model


class Doctrine(_Model):
    """How the command post evaluates threats and engages them."""

    salvo_size: int = Field(2, ge=1, le=16, description="Missiles fired per engagement.")
    policy: Literal["shoot_look_shoot", "shoot_shoot", "adaptive"] = Field(
        "shoot_look_shoot",
        description="shoot_look_shoot: engage a track again only after its missiles are "
        "assessed (a miss); shoot_shoot: fire again while missiles are still in the air, "
        "up to max_missiles_per_target; adaptive: as shoot_look_shoot, but each track gets "
        "one missile when a second shot after the assessment still fits before the threat "
        "reaches its target, and a full salvo when it does not.",
    )
    max_missiles_per_target: int | None = Field(
        None, ge=1, le=64, description="Missiles in the air at one track at most (default: salvo)."
    )
    kill_assessment_s: float = Field(
        4.0, ge=0.0, le=600.0, description="From intercept until the outcome is known."
    )
    max_track_age_s: float = Field(
        5.0,
        gt=0.0,
        le=3600.0,
        description="Engage only tracks updated this recently (fire-control quality).",
    )
    engage_order: Literal["threat_score", "time_to_go", "range"] = Field(
        "threat_score", description="Which threats are served first (greedy planner)."
    )
    decision_period_s: float = Field(
        2.0, gt=0.0, le=600.0, description="Time between engagement decisions."
    )
    planner: Literal["greedy", "wta", "lookahead"] = Field(
        "greedy",
        description="greedy: a salvo for each threat in priority order, cheapest adequate "
        "missile; wta: solve the weapon-target assignment (value at risk vs missile cost) "
        "each decision cycle; lookahead: the assignment also values rounds kept for "
        "threats that can be engaged later (tracked, or expected from expected_threats).",
    )
    wta_solver: Literal["auto", "exact", "heuristic", "lns"] = Field(
        "heuristic",
        description="Solver for planners 'wta' and 'lookahead'. Only 'heuristic' gives the "
        "same run on any host; the others stop on wall time.",
    )
    wta_time_limit_s: float = Field(
        0.2, gt=0.0, le=600.0, description="Wall-time budget per decision (planner 'wta')."
    )
    missile_cost_weight: float = Field(
        1.0, ge=0.0, le=1e9, description="Value units per unit of missile cost (planner 'wta')."
    )
    tgo_softening_s: float = Field(
        60.0, gt=0.0, le=3600.0, description="Added to time-to-go in the threat score."
    )
    type_weights: dict[Name, Annotated[float, Field(ge=0.0, le=1e6)]] = Field(
        default_factory=dict,
        description="Threat-score multiplier per threat type label (default 1; 0 to 1e6); "
        "identification is assumed perfect.",
    )
    min_track_updates: int = Field(
        3,
        ge=1,
        le=100,
        description="Fire-control gate: engage only tracks with at least this many "
        "associated detections.",
    )
    quality_sigmas: float = Field(
        3.0,
        ge=0.0,
        le=10.0,
        description="Fire-control gate: this many sigmas of predicted position error at the "
        "intercept point (worst direction) must fit what the missile corrects (terminal "
        "homing plus midcourse); 0: no error test.",
    )
    midcourse_share: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Fire-control gate: intercept-point error removed by midcourse updates, "
        "per metre flown from the battery to the intercept point (assumed; 0.1 is a heading "
        "correction of about 6 deg).",
    )
    threat_values: dict[Name, Annotated[float, Field(ge=0.0, le=1e9)]] = Field(
        default_factory=dict,
        description="Value of one threat of each type (threat type label -> value, 0 to 1e9), "
        "in asset-value units; a type not listed is worth its damage times the value of "
        "the asset it threatens. Used by min_threat_value and the lookahead planner.",
    )
    min_threat_value: dict[Name, Annotated[float, Field(ge=0.0, le=1e9)]] = Field(
        default_factory=dict,
        description="Per missile type, the least threat value it is fired at (missile type "
        "-> value; default 0: any). All planners.",
    )
    engage_with: dict[Name, Annotated[list[Name], Field(min_length=1, max_length=64)]] = Field(
        default_factory=dict,
        description="Per threat type, the only missile types fired at it (e.g. drones only "
        "with short-range rounds); a type not listed may be engaged with any. All planners.",
    )
    reserve_share: dict[Name, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict,
        description="Per missile type, the share (0 to 1) of each battery's starting rounds "
        "of that type kept back for threats no other type can engage now. All planners.",
    )
    expected_threats: dict[Name, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict,
        description="Raid intelligence for the lookahead planner: threats of each type "
        "expected over the whole run (threat type label -> count); those not yet tracked "
        "are valued as future targets. Without it the planner estimates arrivals from the "
        "picture (lookahead_horizon_s).",
    )
    perfect_intelligence: bool = Field(
        False,
        description="Lookahead planner: the command post knows the scenario's own raid sizes "
        "(expected_threats set to every raid type's count; an upper bound on what raid "
        "intelligence can give).",
    )
    lookahead_horizon_s: float = Field(
        600.0,
        ge=0.0,
        le=86_400.0,
        description="Lookahead planner without expected_threats: threats of each type are "
        "expected to keep arriving at the rate tracked so far for this long (0: only the "
        "picture's tracks count as later targets).",
    )
    lookahead_cost_weight: float = Field(
        0.5,
        ge=0.0,
        le=1e9,
        description="Lookahead planner: asset-value units per unit of missile cost (its "
        "threat values are damage x asset value; 0.5 makes a round of cost 1 worth half a "
        "percent of an asset of value 100).",
    )
    lookahead_discount: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="Lookahead planner: a round kept for a later engagement counts this share "
        "of the kill it would make then (the chance that engagement happens).",
    )
    network: Literal["networked", "autonomous", "engage_on_remote"] = Field(
        "networked",
        description="networked: every battery may engage any track of the fused picture "
        "(after its cue_delay_s when only other units' radars hold it), its own "
        "fire_control_radar guiding; autonomous: each battery engages only tracks its own "
        "radars (batteries.radars) hold; engage_on_remote: as networked, and where the "
        "battery's fire-control radar cannot see the intercept point another radar that "
        "can guides the missile.",
    )


class TrackerSettings(_Model):
    """Multi-target tracker settings: motion model, gating, track management.

    Kalman filters batched over all tracks; chi-square gating behind a k-d tree;
    global-nearest-neighbour assignment per cluster; two-point, velocity-gated
    initiation; M-of-N confirmation (and optionally a track-score threshold). See
    the Tracking section of docs/models.md.
    """

    motion_model: Literal["cv", "ca", "imm", "ballistic"] = Field(
        "cv",
        description="cv: constant velocity; ca: constant acceleration; imm: interacting "
        "multiple models (quiet constant velocity + high-noise manoeuvre model); ballistic: "
        "the imm plus a free-fall mode (constant velocity under gravity), whose tracks the "
        "planner extrapolates along their arc to the impact point.",
    )
    process_noise_mps2: float = Field(
        20.0, gt=0.0, le=1000.0, description="White-noise acceleration density sqrt(q), m/s^2."
    )
    manoeuvre_noise_mps2: float = Field(
        60.0,
        gt=0.0,
        le=2000.0,
        description="White-noise acceleration of the IMM manoeuvre mode (imm), m/s^2.",
    )
    jerk_noise_mps3: float = Field(
        5.0, gt=0.0, le=1000.0, description="White-noise jerk density of the ca model, m/s^3."
    )
    imm_cruise_s: float = Field(
        60.0, gt=0.0, le=86_400.0, description="Mean time between manoeuvres (imm), s."
    )
    imm_manoeuvre_s: float = Field(
        15.0, gt=0.0, le=86_400.0, description="Mean duration of a manoeuvre (imm), s."
    )
    gate_probability: float = Field(
        0.9999, gt=0.5, lt=1.0, description="Chi-square gate probability (3 dof)."
    )
    confirm_m: int = Field(3, ge=1, le=8, description="Hits needed to confirm ...")
    confirm_n: int = Field(4, ge=1, le=8, description="... within this many looks.")
    confirm_score: float | None = Field(
        None,
        ge=-100.0,
        le=100.0,
        description="Track score (log-likelihood ratio) a tentative track must also reach "
        "to be confirmed: Wald's SPRT threshold ln((1 - beta) / alpha) for a false-track "
        "probability alpha; None: M-of-N alone.",
    )
    birth_lookback: int = Field(
        2,
        ge=0,
        le=10,
        description="Earlier revisits checked by the birth prior of two-point initiation: a "
        "second plot whose implied track would have been inside the radar's coverage, "
        "undetected, at these revisits before the first plot costs ln(1 - Pd) each (0: off).",
    )
    delete_misses: int = Field(
        12, ge=1, le=100, description="Consecutive missed looks that drop a track."
    )
    max_coast_s: float = Field(
        25.0, gt=0.0, le=3600.0, description="Time without an update that drops a track."
    )
    max_position_sigma_m: float = Field(
        20_000.0,
        gt=0.0,
        le=1e7,
        description="A track whose RMS position standard deviation per axis grows beyond "
        "this is dropped (covariance growth).",
    )
    init_velocity_sigma_mps: float | None = Field(
        None,
        gt=0.0,
        le=10_000.0,
        description="Velocity standard deviation per axis of a new (one-plot) track, m/s; "
        "None: max_speed_mps / sqrt(5), the spread of a velocity uniform up to the maximum "
        "speed.",
    )
    max_speed_mps: float | None = Field(
        None,
        gt=0.0,
        le=100_000.0,
        description="Fastest plausible target, m/s: the velocity gate of two-point initiation "
        "(a second plot farther than max_speed x time + 3 sigma from the first is not "
        "paired with it), and a tentative track faster than this by more than three "
        "standard deviations is dropped. None: 1.25 x the fastest threat of the scenario "
        "(5,000 m/s when there is none).",
    )
    detection_probability: float = Field(
        0.9, gt=0.0, lt=1.0, description="Assumed Pd, for the track quality score."
    )
    false_alarm_density_per_km3: float = Field(
        1e-3,
        gt=0.0,
        le=1e6,
        description="Assumed false-alarm density, for the track quality score, per km^3.",
    )

    @model_validator(mode="after")
    def _m_of_n(self) -> TrackerSettings:
        if self.confirm_m > self.confirm_n:
            raise ValueError("confirm_m must not exceed confirm_n")
        return self


class RunSettings(_Model):
    """Simulated time and randomness."""

    duration_s: float = Field(gt=0.0, le=7 * 86_400.0, description="Simulated time.")
    step_s: float = Field(1.0, gt=0.0, le=60.0, description="Engine tick.")
    seed: int = Field(0, ge=0, lt=2**63, description="Replication seed (overridden by --seed).")
    flyout: Literal["kinematic", "guided"] = Field(
        "kinematic",
        description="kinematic: average speed to the predicted intercept point (fast); "
        "guided: 3-DOF point-mass missiles with midcourse and PN homing (every missile "
        "type needs `physics`).",
    )
    guidance_step_s: float = Field(
        0.05, ge=1e-3, le=1.0, description="Integration step of the guided flyout."
    )
