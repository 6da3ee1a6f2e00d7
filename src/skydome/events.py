"""The event log: one row per event, appended in batches, tidy at the end."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64

__all__ = ["EVENT_KINDS", "MISS_NOTES", "NOTES", "EventLog", "Events"]


EVENT_KINDS = (
    "detect",
    "track",
    "reload",
    "launch",
    "kill",
    "miss",
    "leak",
    "track_lost",
    "held",
    "radar_off",
    "radar_on",
    "radar_destroyed",
    "identified",
    "fratricide",
)
"""Event kinds, in the order used to break ties at equal times.

detect: first detection of a threat (by any radar); track: a track confirmed;
reload: a launcher starts reloading from its battery's reserve; launch: a
missile leaves its launcher (with the threat score and priority rank of its
track at the decision); kill / miss: a missile resolved; leak: a
threat reached its release point or impact; track_lost: a confirmed track
dropped; held: the command post chose not to engage a confirmed track (logged
when a track's reason first appears or changes), the reason in `note`;
radar_off / radar_on: a radar went silent / emitted again under its emission
control (`radar`); radar_destroyed: an anti-radiation missile (`threat_id`)
destroyed a radar (`radar`, the miss in `miss_distance_m`). An anti-radiation
missile reaching its radar ends with a `leak` event naming the radar.
identified: a track's identity class became friend, decoy or hostile (the
class in `note`; scenarios with an identification section or non-hostile
raids only); fratricide: a missile killed a friendly aircraft (logged besides
its `kill` event).
"""

NOTES = (
    "",
    "pk",
    "basket",
    "no target",
    "spent",
    "target destroyed",
    "track lost",
    "out of reach",
    "target switch",
    "held: track quality",
    "held: out of envelope",
    "held: no launcher",
    "held: reserve",
    "held: rules of engagement",
    "identified: hostile",
    "identified: friend",
    "identified: decoy",
)
"""`note` of kill, miss and held events (index into this tuple; 0: none).

Miss events: "pk" the kill draw failed; "basket" the aim-point error was beyond
the homing basket (guided flyout: the miss beyond the lethal radius); "no
target" nothing to hit (the threat gone or leaked, or never acquired); "spent"
a guided missile fell, timed out or ran out of speed; "target destroyed" its
threat was killed first (a salvo partner or another battery's missile); "track
lost" the fire-control track was dropped before the seeker acquired, and the
missile self-destructed at its last aim point; "out of reach" the midcourse aim
point left the type's envelope. Kill events: "target switch" the threat killed
(`threat_id`) is not the one the missile was launched at: its track swapped to
another threat in midcourse, or its seeker acquired another threat. Held events:
why a confirmed track was not engaged. Identified events: the identity class.
"""

MISS_NOTES = NOTES
"""The former name of `NOTES` (miss notes are its first entries)."""

_I = (
    "kind",
    "threat_id",
    "track_id",
    "missile_id",
    "battery",
    "missile_type",
    "radar",
    "note",
    "rank",
)
_F = ("time_s", "miss_distance_m", "score", "x_m", "y_m", "z_m")


@dataclass
class Events:
    """The whole log as columns (E events), sorted by time then kind.

    Integer columns hold indices into the scenario's name lists (-1: not
    applicable); `kind` indexes `EVENT_KINDS`, `note` indexes `NOTES`.
    """

    time_s: F64
    kind: I64
    threat_id: I64
    track_id: I64
    missile_id: I64
    battery: I64
    missile_type: I64
    radar: I64
    note: I64
    rank: I64
    miss_distance_m: F64
    score: F64
    x_m: F64
    y_m: F64
    z_m: F64

    @property
    def n(self) -> int:
        """Number of events."""
        return int(self.time_s.shape[0])


@dataclass
class EventLog:
    """Append-only buffer of event batches; `finish()` sorts them into `Events`."""

    _parts: list[dict[str, NDArray[np.generic]]] = field(default_factory=list)

    def add(
        self,
        kind: str,
        time_s: F64 | float,
        *,
        n: int,
        threat_id: I64 | int = -1,
        track_id: I64 | int = -1,
        missile_id: I64 | int = -1,
        battery: I64 | int = -1,
        missile_type: I64 | int = -1,
        radar: I64 | int = -1,
        note: I64 | int = 0,
        miss_distance_m: F64 | float = np.nan,
        score: F64 | float = np.nan,
        rank: I64 | int = -1,
        pos_m: F64 | None = None,
    ) -> None:
        """Append `n` events of one kind; scalars broadcast to all `n`."""
        if n == 0:
            return

        def col(v: object, dtype: type) -> NDArray[np.generic]:
            a: NDArray[np.generic] = np.asarray(v, dtype=dtype)
            if a.ndim == 0:  # a scalar: np.full is cheaper than broadcast_to + copy
                return np.full(n, a, dtype=dtype)
            if a.shape == (n,):  # the usual case: a copy, without broadcast_to's wrapper
                return a.copy()
            return np.broadcast_to(a, (n,)).copy()

        p = np.full((n, 3), np.nan) if pos_m is None else pos_m
        self._parts.append(
            {
                "time_s": col(time_s, np.float64),
                "kind": col(EVENT_KINDS.index(kind), np.int64),
                "threat_id": col(threat_id, np.int64),
                "track_id": col(track_id, np.int64),
                "missile_id": col(missile_id, np.int64),
                "battery": col(battery, np.int64),
                "missile_type": col(missile_type, np.int64),
                "radar": col(radar, np.int64),
                "note": col(note, np.int64),
                "miss_distance_m": col(miss_distance_m, np.float64),
                "score": col(score, np.float64),
                "rank": col(rank, np.int64),
                "x_m": p[:, 0].astype(np.float64),
                "y_m": p[:, 1].astype(np.float64),
                "z_m": p[:, 2].astype(np.float64),
            }
        )

    def finish(self) -> Events:
        """All events, stably sorted by (time, kind, threat, track, missile)."""
        cols: dict[str, NDArray[np.generic]] = {}
        for name in _F + _I:
            dtype = np.float64 if name in _F else np.int64
            parts = [p[name] for p in self._parts]
            cols[name] = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        order = np.lexsort(
            (cols["missile_id"], cols["track_id"], cols["threat_id"], cols["kind"], cols["time_s"])
        )
        return Events(**{k: v[order] for k, v in cols.items()})  # type: ignore[arg-type]
