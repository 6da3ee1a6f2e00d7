"""Networked and autonomous batteries: which tracks each battery may engage.

The command post fuses one air picture from every radar. Whether a battery may
fire at a track depends on who holds it:

* an **organic** track is one the battery's own radars (`BatteryParams.organic`)
  updated within the doctrine's `max_track_age_s`, the fire-control freshness
  every engagement already needs;
* a **remote** track is held only by other units' radars. A *networked*
  battery engages it once the cue has reached it: `cue_delay_s` after a remote
  radar first updated the track (the data link and hand-over delay); an
  *autonomous* battery never does.

So an autonomous regiment is several batteries each fighting on its own radars
(a battery whose radars are lost or masked stops), and a networked one lets one
unit's radar cue another unit's launchers. The kinematic state used for the
engagement is the fused track's in both cases (an approximation: an autonomous
battery's own track would be less accurate where its radars see the target
poorly); what changes is which tracks a battery may engage and when.

The bookkeeping (`RadarTrackTimes`) is kept only when some battery's rule
differs from "every track, at once" (`network_active`): otherwise no state,
no cost, and runs are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, find_ids
from skydome.engagement.geometry import InterceptGrid
from skydome.engagement.params import BatteryParams
from skydome.scenario.compile import SimParams
from skydome.sensors.radar import covers
from skydome.tracking.base import TrackState

__all__ = ["RadarTrackTimes", "engage_mask", "network_active", "record_scan", "remote_cover"]

B = NDArray[np.bool_]


@dataclass(frozen=True)
class RadarTrackTimes:
    """When each radar first and last updated each track (T tracks, R radars).

    Attributes:
        track_id: (T,) track ids, in the order of the picture they were aligned to.
        first_s: (T, R) time radar r first updated the track, s (inf: never).
        last_s: (T, R) time radar r last updated the track, s (-inf: never).
    """

    track_id: I64
    first_s: F64
    last_s: F64

    @staticmethod
    def empty(n_radars: int) -> RadarTrackTimes:
        """No tracks."""
        return RadarTrackTimes(
            np.zeros(0, dtype=np.int64), np.zeros((0, n_radars)), np.zeros((0, n_radars))
        )

    def aligned(self, track_id: I64) -> RadarTrackTimes:
        """The rows of `track_id` (a picture's ids), in that order; new ids never seen."""
        if np.array_equal(track_id, self.track_id):
            return self
        n_r = self.first_s.shape[1]
        first = np.full((track_id.size, n_r), np.inf)
        last = np.full((track_id.size, n_r), -np.inf)
        hit, src = find_ids(self.track_id, track_id)
        first[hit] = self.first_s[src[hit]]
        last[hit] = self.last_s[src[hit]]
        return RadarTrackTimes(track_id.copy(), first, last)


def network_active(bat: BatteryParams, autonomous: bool) -> bool:
    """Whether any battery's rule differs from "every track, at once"."""
    organic = bat.organic
    if organic.size == 0 or organic.all():
        return False  # every radar is every battery's own: nothing is remote
    return autonomous or bool((bat.cue_delay_s > 0.0).any())


def record_scan(
    times: RadarTrackTimes,
    prev_ids: I64,
    prev_hits: I64,
    picture: TrackState,
    radar: int,
    t_s: float,
) -> RadarTrackTimes:
    """`times` after radar `radar`'s scan at `t_s` turned a picture into `picture`.

    The scan updated the tracks it associated a detection with (their `hits`
    grew) and those it started; not every track with `last_update_s == t_s`:
    other radars may have scanned at the same time.

    Args:
        times: the update times before the scan, any alignment.
        prev_ids: (T0,) the track ids before the scan.
        prev_hits: (T0,) their `hits` before the scan.
        picture: the picture after the scan.
        radar: the radar that scanned.
        t_s: the scan time, s.
    """
    out = times.aligned(picture.track_id)
    ids = picture.track_id
    old, row = find_ids(prev_ids, ids)
    updated = ~old  # a track this scan started, or one it associated a detection with
    updated[old] = picture.hits[old] > prev_hits[row[old]]
    if updated.any():
        first, last = out.first_s.copy(), out.last_s.copy()
        first[updated, radar] = np.minimum(first[updated, radar], t_s)
        last[updated, radar] = t_s
        out = RadarTrackTimes(out.track_id, first, last)
    return out


def engage_mask(
    times: RadarTrackTimes,
    track_id: I64,
    bat: BatteryParams,
    autonomous: bool,
    t_s: float,
    max_track_age_s: float,
) -> B:
    """(K, B): battery b may engage track `track_id[k]` at `t_s` (module docstring).

    Args:
        times: radar update times, any alignment.
        track_id: (K,) the candidate tracks.
        bat: the batteries (`organic` (B, R), `cue_delay_s` (B,)).
        autonomous: doctrine `network: autonomous` (no remote tracks at all).
        t_s: decision time, s.
        max_track_age_s: an organic track's freshness, s.
    """
    tab = times.aligned(track_id)
    org = bat.organic  # (B, R)
    fresh = tab.last_s >= t_s - max_track_age_s  # (K, R)
    # (K, B): some organic radar holds it now.
    own: B = np.asarray((fresh[:, None, :] & org[None, :, :]).any(axis=2), dtype=bool)
    if autonomous:
        return own
    # The earliest remote update of each (track, battery); the cue arrives cue_delay later.
    first_remote = np.where(org[None, :, :], np.inf, tab.first_s[:, None, :]).min(axis=2)
    cued: B = first_remote + bat.cue_delay_s[None, :] <= t_s + 1e-9
    return own | cued


def remote_cover(params: SimParams, grid: InterceptGrid, quiet: B | None = None) -> B:
    """(N, B, M): some radar of the network sees the intercept point (engage on remote).

    Every radar's `sensors.radar.covers`, the test `battle.fire_control_cover` makes
    of a battery's own fire-control radar;
    radars in `quiet` ((R,) silent or destroyed; None: none) guide nothing.
    """
    n, n_b, m = grid.feasible.shape
    pip = grid.pip_m.reshape(-1, 3)
    seen = np.zeros(pip.shape[0], dtype=bool)
    for r in range(params.radars.n):  # radars: a handful
        if quiet is None or not quiet[r]:
            seen |= covers(params.radars, r, pip)
    out: B = seen.reshape(n, n_b, m)
    return out
