"""Scenario schema: identification of tracks (decoy discrimination, IFF) and rules of engagement.

Parameters of the identification stage (`skydome.engine.identification`); the
equations are in docs/models.md, "Identification: decoys, IFF and rules of
engagement". No public figure exists for any of them (PUBLIC_FIGURES.md): every
default is assumed and meant to be swept as a study parameter.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from skydome.scenario.schema._base import Name, _Model

RulesOfEngagement = Literal["weapons_free", "weapons_tight", "hold"]
"""weapons_free: engage every track not identified as friend (or a recognised decoy);
weapons_tight: engage only tracks identified hostile; hold: engage nothing."""


class DecoyRecognition(_Model):
    """Probability that a decoy's track is recognised as a decoy after tracking it for t seconds.

    p(t) = p_max (1 - exp(-t / tau_s)), t from the track's first detection. One
    uniform draw per decoy decides at which p it is recognised, so the share of
    decoys recognised by tracking time t is p(t), and a recognised decoy stays
    recognised (while its track lives).
    """

    p_max: float = Field(
        0.5, ge=0.0, le=1.0, description="Recognition probability after long tracking (assumed)."
    )
    tau_s: float = Field(
        60.0, gt=0.0, le=86_400.0, description="Time constant of recognition, s (assumed)."
    )
    source: str = Field("assumed", description="Where the figures come from.")


class Iff(_Model):
    """IFF interrogation of each confirmed track, once per decision cycle.

    A friendly aircraft's transponder has failed (for the whole sortie) with
    probability `failure_rate`; a working one answers each interrogation with
    probability `reply_probability`, but no answer arrives before `delay_s` after
    the track's first detection (the interrogator is slaved to the radars). A
    hostile (or decoy) answers like a friend with probability `spoof_rate`
    (drawn once per aircraft). One valid answer makes the track a friend. No
    answer is "unknown", not "hostile".
    """

    reply_probability: float = Field(
        0.95, ge=0.0, le=1.0, description="Chance a working transponder answers one interrogation."
    )
    delay_s: float = Field(
        2.0,
        ge=0.0,
        le=600.0,
        description="From a track's first detection to its first possible answer, s.",
    )
    failure_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="Share of friendly aircraft whose transponder fails."
    )
    spoof_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="Share of hostiles (and decoys) answering as friends."
    )
    hostile_after: int = Field(
        3,
        ge=1,
        le=1000,
        description="A track is declared hostile after this many consecutive answerable "
        "interrogations without an answer, inbound at each (its predicted closest approach "
        "within a defended asset's radius, closing).",
    )
    hostile_zone_km: float | None = Field(
        None,
        gt=0.0,
        le=5000.0,
        description="Identification zone: a silent inbound track is declared hostile only "
        "within this ground distance of a defended asset (none: anywhere). Positions are "
        "far more accurate than a young track's heading, so friendly routes kept outside "
        "the zone are never declared hostile.",
    )
    source: str = Field("assumed", description="Where the figures come from.")


class Identification(_Model):
    """Who each track is (decoy discrimination, IFF) and which tracks each battery may engage.

    Without this section, and with every raid of kind hostile, identification is
    perfect and every track is engaged (the default).
    """

    decoys: DecoyRecognition = Field(
        default_factory=DecoyRecognition, description="Decoy discrimination."
    )
    iff: Iff = Field(default_factory=Iff, description="IFF interrogation.")
    rules_of_engagement: RulesOfEngagement = Field(
        "weapons_free",
        description="weapons_free: engage every track not identified as a friend or a "
        "recognised decoy; weapons_tight: engage only tracks identified hostile; hold: none.",
    )
    battery_rules: dict[Name, RulesOfEngagement] = Field(
        default_factory=dict,
        description="Rules of engagement per battery name (default: rules_of_engagement).",
    )
