"""Identification of tracks in a contested sky: decoy discrimination, IFF, rules of engagement.

The identification stage is the command post's one sanctioned read of truth;
here it reads it the way sensors and interrogators would let it. At each
decision cycle every confirmed track gets an identity class (`Identity`):

* **friend** -- an IFF answer was received. A friendly aircraft's transponder
  has failed (whole sortie) with probability `iff_failure`; a working one
  answers each interrogation (one per decision cycle) with probability
  `iff_reply`; the interrogator, slaved to the radars, starts at the track's
  first detection, and no answer arrives before `iff_delay_s` after it. A
  hostile or decoy answers like a friend with probability `iff_spoof` (drawn
  once per aircraft). One answer makes the track a friend
  for the rest of its life.
* **decoy** -- a decoy recognised: with u ~ U(0, 1) drawn once per decoy, the
  track is recognised once p(t) = p_max (1 - exp(-t / tau)) exceeds u, t the
  time since the track's first detection; so P(recognised by t) = p(t).
* **hostile** -- no answer to `hostile_after` consecutive answerable
  interrogations, the track inbound at each (its closest approach, on its
  current velocity, within a defended asset's radius, and closing) and, with
  an identification zone, within `hostile_zone_m` of that asset; stays
  hostile. Consecutive, because one noisy velocity estimate can point a
  crossing track at an asset for one cycle; the zone, because a young track's
  heading at long range can be off by tens of degrees for many cycles (the
  radar revisits every 10 s), while its position is good to a kilometre.
* **unknown** -- anything else. No answer is "unknown", not "hostile".

Rules of engagement per battery then say which classes it may engage:
`weapons_free` hostile and unknown, `weapons_tight` hostile only, `hold` none.
Friends and recognised decoys are never engaged.

Draws come from the replication's own named stream ``identification``
(`skydome.seeding.stream`): first one uniform per threat for decoy
recognition, then one per threat for its transponder, then one per confirmed
track per decision cycle for the reply. No other stream changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64, find_ids
from skydome.engagement.assessment import KILL, Outcome
from skydome.engagement.evaluation import ground_cpa
from skydome.engagement.flyout import InFlight
from skydome.engagement.params import AssetParams
from skydome.events import EVENT_KINDS, NOTES, EventLog, Events
from skydome.scenario.compile_identification import DECOY, FRIENDLY, HOSTILE, KINDS, IdentParams
from skydome.tracking.base import TrackState

__all__ = [
    "CLASS_NAMES",
    "identification_summary",
    "DECOY_ID",
    "FRIEND_ID",
    "HOLD_IDENTITY",
    "HOSTILE_ID",
    "UNKNOWN_ID",
    "ContestedIdentification",
    "IdentState",
    "Identity",
    "ROE_ENGAGES",
    "identify_for_decision",
    "inbound",
    "log_fratricide",
    "recognition_probability",
]

B = NDArray[np.bool_]
I8 = NDArray[np.int8]

HOSTILE_ID, UNKNOWN_ID, FRIEND_ID, DECOY_ID = 0, 1, 2, 3

HOLD_IDENTITY = 5
"""Hold reason (after `fire_control.HOLD_*`): no battery's rules of engagement allow the
track's identity (a friend, a recognised decoy, not yet hostile under weapons_tight, hold)."""
CLASS_NAMES = ("hostile", "unknown", "friend", "decoy")
"""Identity classes (`Identity.identity_class` indexes this tuple)."""

ROE_ENGAGES = np.array(
    [
        [True, True, False, False],  # weapons_free: hostile, unknown
        [True, False, False, False],  # weapons_tight: hostile only
        [False, False, False, False],  # hold
    ],
    dtype=bool,
)
"""(rules of engagement, identity class) -> may engage (`compile_identification.ROE` order)."""

_NOTE = np.array(
    [NOTES.index(f"identified: {c}") if c != "unknown" else 0 for c in CLASS_NAMES],
    dtype=np.int64,
)
"""`note` of an `identified` event per identity class."""


def _i8(n: int = 0) -> I8:
    return np.zeros(n, dtype=np.int8)


@dataclass(frozen=True)
class Identity:
    """What the command post takes K tracks for at one decision.

    Attributes:
        threat: (K,) threat index each track is taken for (-1: a false track),
            as `PerfectIdentification` gives it (type, Pk and speed limits).
        identity_class: (K,) int8 index into `CLASS_NAMES`.
    """

    threat: I64
    identity_class: I8


@dataclass(frozen=True)
class IdentState:
    """The identification's memory: per-threat draws and per-track interrogation record.

    Attributes:
        u_decoy: (N,) the uniform each decoy's recognition is compared with.
        answers: (N,) the aircraft answers IFF like a friend (a working friendly
            transponder, or a spoofing hostile).
        track_id: (T,) tracks interrogated at the last decision (sorted).
        first_s: (T,) start of each track's interrogation (its first detection), s.
        replied: (T,) an answer was received.
        silent: (T,) consecutive answerable interrogations without an answer, the
            track inbound at each (reset to 0 when it is not inbound).
        hostile: (T,) declared hostile (sticky).
        cls: (T,) identity class at the last decision.
    """

    u_decoy: F64
    answers: B
    track_id: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    first_s: F64 = field(default_factory=lambda: np.zeros(0))
    replied: B = field(default_factory=lambda: np.zeros(0, dtype=bool))
    silent: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hostile: B = field(default_factory=lambda: np.zeros(0, dtype=bool))
    cls: I8 = field(default_factory=_i8)

    @staticmethod
    def draw(ip: IdentParams, rng: np.random.Generator) -> IdentState:
        """The per-threat draws of one replication, before any track exists."""
        n = ip.kind.size
        u_decoy = rng.random(n)
        a = rng.random(n)
        answers = np.where(ip.kind == FRIENDLY, a >= ip.iff_failure, a < ip.iff_spoof)
        return IdentState(u_decoy=u_decoy, answers=answers)


def recognition_probability(t_tracked_s: F64, p_max: float, tau_s: float) -> F64:
    """p(t) = p_max (1 - exp(-t / tau)): a decoy recognised after tracking it t seconds.

    Args:
        t_tracked_s: (K,) time since each track's first detection, s (negative: 0).
        p_max: the asymptote.
        tau_s: the time constant, s.
    """
    t = np.maximum(t_tracked_s, 0.0)
    p: F64 = p_max * -np.expm1(-t / tau_s)
    return p


def inbound(pos_m: F64, vel_mps: F64, assets: AssetParams, zone_m: float = np.inf) -> B:
    """(K,) the track closes on a defended asset and passes within its radius (straight line).

    Closest approach of the ground track on its current velocity, as the threat
    evaluation computes it (`evaluate_threats`), against every asset; with
    `zone_m`, only an asset within that ground distance of the track counts.
    """
    r, rv, _, cpa = ground_cpa(pos_m, vel_mps, assets)
    near = np.sum(r * r, axis=2) <= zone_m * zone_m
    hit: B = ((rv < 0.0) & (cpa <= assets.radius_m[None, :]) & near).any(axis=1)
    return hit


@dataclass(frozen=True)
class ContestedIdentification:
    """Decoy discrimination and IFF (module docstring); `identify` as `PerfectIdentification`.

    Attributes:
        params: the compiled identification parameters.
        assets: the defended assets (the "inbound" test of the hostile rule).
    """

    params: IdentParams
    assets: AssetParams

    def identify(self, picture: TrackState, rows: I64) -> I64:
        """(K,) threat index of each hostile track row in `rows`; -1 otherwise.

        -1 for a false track, and for a decoy or a friendly aircraft: what such a
        track is, is exactly what `classify` decides, so the threat evaluation and
        the planners (type weights, values, Pk per type) must not read it from
        truth; they value it as a track of unknown type. A decoy that is not yet
        recognised therefore soaks rounds as an unknown threat would, and a friend
        not yet identified is valued as one.
        """
        ids = picture.truth[rows]
        real = ids >= 0
        hide = np.zeros(ids.shape, dtype=bool)
        hide[real] = self.params.kind[ids[real]] != HOSTILE
        out: I64 = np.where(hide, -1, ids)
        return out

    def classify(
        self,
        picture: TrackState,
        rows: I64,
        t_s: float,
        pos_m: F64,
        vel_mps: F64,
        state: IdentState,
        rng: np.random.Generator,
    ) -> tuple[Identity, IdentState, I8]:
        """Interrogate and classify the confirmed track rows `rows` at decision time `t_s`.

        Args:
            picture: the air picture.
            rows: (K,) confirmed rows.
            t_s: decision time, s.
            pos_m: (K, 3) the tracks' positions predicted to `t_s`, m.
            vel_mps: (K, 3) their velocities, m/s.
            state: the memory from the last decision.
            rng: the `identification` stream (one uniform per row drawn).

        Returns:
            The identities, the new memory (these tracks only) and (K,) each
            track's class at the last decision (`UNKNOWN_ID` for new tracks).
        """
        ip = self.params
        k = rows.size
        ids = picture.track_id[rows]
        truth = picture.truth[rows]
        real = truth >= 0
        ti = np.maximum(truth, 0)
        # Interrogation starts at the track's first detection (the interrogator is
        # slaved to the radars); the classifier sees a track once it is confirmed.
        first = picture.born_s[rows].astype(np.float64)
        replied = np.zeros(k, dtype=bool)
        silent = np.zeros(k, dtype=np.int64)
        hostile = np.zeros(k, dtype=bool)
        prev = np.full(k, UNKNOWN_ID, dtype=np.int8)
        known, at = find_ids(state.track_id, ids)
        if known.any():
            j = at[known]
            first[known] = state.first_s[j]
            replied[known] = state.replied[j]
            silent[known] = state.silent[j]
            hostile[known] = state.hostile[j]
            prev[known] = state.cls[j]
        answerable = t_s - first >= ip.iff_delay_s - 1e-9
        draw = rng.random(k)
        reply = answerable & real & state.answers[ti] & (draw < ip.iff_reply)
        replied |= reply
        coming = inbound(pos_m, vel_mps, self.assets, ip.hostile_zone_m)
        silent = np.where(coming, silent + (answerable & ~replied), 0)
        hostile |= ~replied & (silent >= ip.hostile_after)
        p = recognition_probability(t_s - picture.born_s[rows], ip.decoy_p_max, ip.decoy_tau_s)
        decoy = real & (ip.kind[ti] == DECOY) & (state.u_decoy[ti] < p)
        cls = np.where(
            replied,
            FRIEND_ID,
            np.where(decoy, DECOY_ID, np.where(hostile, HOSTILE_ID, UNKNOWN_ID)),
        ).astype(np.int8)
        order = np.argsort(ids, kind="stable")
        new = IdentState(
            u_decoy=state.u_decoy,
            answers=state.answers,
            track_id=ids[order],
            first_s=first[order],
            replied=replied[order],
            silent=silent[order],
            hostile=hostile[order],
            cls=cls[order],
        )
        return Identity(picture.truth[rows], cls), new, prev


def identify_for_decision(
    stage: ContestedIdentification,
    t_s: float,
    picture: TrackState,
    state: IdentState | None,
    rng: np.random.Generator,
    predict: Callable[[TrackState, float, I64], F64],
    log: EventLog,
) -> tuple[IdentState, B]:
    """Classify the picture's confirmed tracks; log changes; which battery may engage each.

    Args:
        stage: the identification stage.
        t_s: decision time, s.
        picture: the air picture.
        state: the memory of the last decision (None: the first; draws are made).
        rng: the replication's `identification` stream.
        predict: `Pipeline.predict` (track rows to `t_s`).
        log: the step's events; an `identified` event (note: the class) is
            logged when a track's class becomes friend, decoy or hostile.

    Returns:
        The new memory and (T, B) whether battery b may engage picture row t
        under its rules of engagement (False for unconfirmed rows).
    """
    ip = stage.params
    if state is None:
        state = IdentState.draw(ip, rng)
    rows = np.flatnonzero(picture.confirmed)
    x = predict(picture, t_s, rows)
    ident, state, prev = stage.classify(picture, rows, t_s, x[:, :3], x[:, 3:], state, rng)
    cls = ident.identity_class
    changed = (cls != prev) & (cls != UNKNOWN_ID)
    if changed.any():
        sel = rows[changed]
        log.add(
            "identified", t_s, n=sel.size, threat_id=picture.truth[sel],
            track_id=picture.track_id[sel], note=_NOTE[cls[changed]], pos_m=x[changed, :3],
        )  # fmt: skip
    allow = np.zeros((picture.n, ip.roe.size), dtype=bool)
    allow[rows] = ROE_ENGAGES[ip.roe][:, cls].T
    return state, allow


def log_fratricide(log: EventLog, ip: IdentParams, due: InFlight, out: Outcome) -> None:
    """Log a `fratricide` event for every missile kill of a friendly aircraft (besides its kill)."""
    hit = (out.code == KILL) & (out.threat >= 0)
    hit &= ip.kind[np.maximum(out.threat, 0)] == FRIENDLY
    if hit.any():
        log.add(
            "fratricide", due.t_intercept_s[hit], n=int(hit.sum()), threat_id=out.threat[hit],
            track_id=due.track_id[hit], missile_id=due.missile_id[hit], battery=due.battery[hit],
            missile_type=due.mtype[hit], pos_m=out.threat_pos_m[hit],
        )  # fmt: skip


def identification_summary(ip: IdentParams, ev: Events, kill_time_s: F64) -> dict[str, object]:
    """The summary's `identification` block: rounds, kills and identities per side.

    Per side (hostile, decoy, friendly): `count`, `engaged` (a missile launched
    at it), `rounds` (missiles launched at it), `killed`, and `identified_as`
    (threats that ever had a track identified as friend, decoy or hostile);
    `fratricide`: friendly aircraft killed by a missile.

    Args:
        ip: the identification parameters (sides).
        ev: the run's events.
        kill_time_s: (N,) kill time of each threat (inf: not killed).
    """
    n = ip.kind.size
    launch = (ev.kind == EVENT_KINDS.index("launch")) & (ev.threat_id >= 0)
    rounds = np.bincount(ev.threat_id[launch], minlength=n)
    idf = ev.kind == EVENT_KINDS.index("identified")
    killed = np.isfinite(kill_time_s)
    sides: dict[str, object] = {}
    for k, name in enumerate(KINDS):
        m = ip.kind == k
        as_ = {}
        for c in ("friend", "decoy", "hostile"):
            hit = idf & (ev.note == NOTES.index(f"identified: {c}"))
            seen = np.zeros(n, dtype=bool)
            seen[ev.threat_id[hit & (ev.threat_id >= 0)]] = True
            as_[c] = int((seen & m).sum())
        sides[name] = {
            "count": int(m.sum()),
            "engaged": int(((rounds > 0) & m).sum()),
            "rounds": int(rounds[m].sum()),
            "killed": int((killed & m).sum()),
            "identified_as": as_,
        }
    frat = ev.kind == EVENT_KINDS.index("fratricide")
    return {**sides, "fratricide": int(frat.sum())}
