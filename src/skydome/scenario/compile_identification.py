"""Compile the scenario's identification section and raid kinds into `IdentParams`.

The input side of `skydome.engine.identification`: per-threat sides (hostile,
decoy, friendly), the decoy-recognition curve, the IFF model and each
battery's rules of engagement, as arrays. A scenario without an
`identification` section whose raids are all hostile compiles to None: the
engine then identifies perfectly and engages every track, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.scenario.schema import Identification, Scenario

__all__ = ["HOSTILE", "DECOY", "FRIENDLY", "KINDS", "ROE", "IdentParams", "ident_params"]

KINDS = ("hostile", "decoy", "friendly")
"""Truth sides of the threats (`IdentParams.kind` indexes this tuple)."""
HOSTILE, DECOY, FRIENDLY = 0, 1, 2

ROE = ("weapons_free", "weapons_tight", "hold")
"""Rules of engagement (`IdentParams.roe` indexes this tuple)."""


@dataclass(frozen=True)
class IdentParams:
    """Identification and rules of engagement, SI units (N threats, B batteries).

    Attributes:
        kind: (N,) int8 truth side of each threat, index into `KINDS`.
        decoy_p_max: recognition probability of a decoy after long tracking.
        decoy_tau_s: time constant of recognition, s.
        iff_reply: chance a working transponder answers one interrogation.
        iff_delay_s: from a track's first detection to its first possible answer, s.
        iff_failure: share of friendly aircraft whose transponder fails.
        iff_spoof: share of hostiles and decoys answering as friends.
        hostile_after: consecutive answerable interrogations without an answer,
            the track inbound at each, that make it hostile.
        roe: (B,) int8 rules of engagement of each battery, index into `ROE`.
        hostile_zone_m: a silent inbound track is declared hostile only within this
            ground distance of a defended asset, m (inf: anywhere).
    """

    kind: NDArray[np.int8]
    decoy_p_max: float
    decoy_tau_s: float
    iff_reply: float
    iff_delay_s: float
    iff_failure: float
    iff_spoof: float
    hostile_after: int
    roe: NDArray[np.int8]
    hostile_zone_m: float = np.inf


def ident_params(s: Scenario) -> IdentParams | None:
    """The scenario's identification parameters; None when identification is perfect.

    Perfect means: no `identification` section and every raid hostile.
    """
    kinds = [r.kind for r in s.raids]
    if s.identification is None and all(k == "hostile" for k in kinds):
        return None
    idn = s.identification if s.identification is not None else Identification()
    kind = np.concatenate(
        [np.full(r.count, KINDS.index(r.kind), dtype=np.int8) for r in s.raids]
    ).astype(np.int8)
    roe = np.array(
        [ROE.index(idn.battery_rules.get(b.name, idn.rules_of_engagement)) for b in s.batteries],
        dtype=np.int8,
    )
    return IdentParams(
        kind=kind,
        decoy_p_max=idn.decoys.p_max,
        decoy_tau_s=idn.decoys.tau_s,
        iff_reply=idn.iff.reply_probability,
        iff_delay_s=idn.iff.delay_s,
        iff_failure=idn.iff.failure_rate,
        iff_spoof=idn.iff.spoof_rate,
        hostile_after=idn.iff.hostile_after,
        roe=roe,
        hostile_zone_m=(
            np.inf if idn.iff.hostile_zone_km is None else idn.iff.hostile_zone_km * 1e3
        ),
    )
