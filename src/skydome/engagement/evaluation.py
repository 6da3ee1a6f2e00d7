"""Threat evaluation: time-to-go and closest approach to each defended asset.

Each track is extrapolated at constant velocity. For asset j the horizontal
closest point of approach (CPA) happens at t_cpa = max(0, -r.v / |v|^2) and
misses by cpa = |r + v t_cpa|. The track threatens asset j when cpa lies within
the asset's defended radius; its score is the largest value at risk per unit
time-to-go, softened outside the radius:

    score = max_j V_j * min(1, radius_j / cpa_j) / (t_cpa_j + t_soft)

The softening time t_soft (doctrine `tgo_softening_s`, 60 s by default) keeps
imminent threats from dwarfing everything else by division; a receding track
counts as an hour away. The engine multiplies the score by the doctrine's
weight for the threat's type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skydome.arrays import F64, I64
from skydome.engagement.params import AssetParams

__all__ = ["ThreatAssessment", "evaluate_threats", "ground_cpa"]


_TGO_SOFTENING_S = 60.0


@dataclass(frozen=True)
class ThreatAssessment:
    """Per-track threat evaluation (N tracks).

    Attributes:
        score: (N,) priority, larger is more urgent.
        asset: (N,) index of the asset most at risk.
        tgo_s: (N,) time to closest approach to that asset, s (inf if receding).
        cpa_m: (N,) horizontal miss distance of that approach, m.
        range_m: (N,) current horizontal distance to that asset, m.
    """

    score: F64
    asset: I64
    tgo_s: F64
    cpa_m: F64
    range_m: F64


def ground_cpa(pos_m: F64, vel_mps: F64, assets: AssetParams) -> tuple[F64, F64, F64, F64]:
    """Closest approach of each ground track to each asset on its current velocity.

    Args:
        pos_m: (N, 3) track positions, map frame.
        vel_mps: (N, 3) track velocities.
        assets: the defended assets (A).

    Returns:
        r (N, A, 2) the ground offsets from the assets, m; r . v (N, A) (negative:
        closing), m^2/s; the time of closest approach (N, A), s (0 when opening);
        the closest-approach distance (N, A), m.
    """
    r = pos_m[:, None, :2] - assets.pos_m[None, :, :2]  # (N, A, 2)
    v = vel_mps[:, None, :2]
    vv = np.maximum(np.sum(v * v, axis=2), 1e-9)
    rv = np.sum(r * v, axis=2)
    t_cpa = np.maximum(-rv / vv, 0.0)
    # |w| as np.linalg.norm computes it (sqrt of the sum of squares), without its wrapper.
    w = r + v * t_cpa[..., None]
    cpa = np.sqrt(np.sum(w * w, axis=2))
    return r, rv, t_cpa, cpa


def evaluate_threats(
    pos_m: F64,
    vel_mps: F64,
    assets: AssetParams,
    tgo_softening_s: float = _TGO_SOFTENING_S,
) -> ThreatAssessment:
    """Score every track against every asset at once.

    Args:
        pos_m: (N, 3) track positions, map frame.
        vel_mps: (N, 3) track velocities.
        assets: the defended assets (A).
        tgo_softening_s: added to the time to go, s.

    Returns:
        The assessment, one row per track.
    """
    r, rv, t_cpa, cpa = ground_cpa(pos_m, vel_mps, assets)
    closing = rv < 0.0
    tgo = np.where(closing, t_cpa, np.inf)
    weight = np.minimum(1.0, assets.radius_m[None, :] / np.maximum(cpa, 1.0))
    s = assets.value[None, :] * weight / (np.where(closing, t_cpa, 3600.0) + tgo_softening_s)
    best = np.argmax(s, axis=1)
    rows = np.arange(pos_m.shape[0])
    return ThreatAssessment(
        score=s[rows, best],
        asset=best.astype(np.int64),
        tgo_s=tgo[rows, best],
        cpa_m=cpa[rows, best],
        range_m=np.sqrt(np.sum(r[rows, best] ** 2, axis=1)),
    )
