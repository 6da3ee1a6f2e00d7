"""Radar emission control (EMCON) and radar survival, vectorised over the R radars.

A radar emits unless it is destroyed or its doctrine keeps it silent:

- ``always``: it emits all the time (the default, and the behaviour of every
  scenario written before emission control existed);
- ``scheduled``: it emits for `on_s`, is silent for `off_s`, and repeats, the
  cycle starting at `offset_s` (phase = (t - offset) mod (on + off); on while
  phase < on; the schedule extends backwards, so at t = 0 with offset 0 it is on);
- ``blink``: it goes silent for `off_s` as soon as the command post holds a
  confirmed track it identifies as an anti-radiation missile (ARM), updated since
  the radar last came on, then emits again (and goes silent again at the next
  fresh ARM track).

A silent radar makes no detection (its scans are skipped: the tracker sees an
empty look with no coverage, so the tracks it fed coast and are deleted by the
tracker's own rules) and attracts no ARM. The cost of silence is fewer
detections, coasting tracks and later engagements; the gain is that ARMs lose
their homing signal (`skydome.sensors.antiradiation`).

Every quantity is in closed form in t except the blink's silent windows, which
start at engine steps (when the command post's picture shows an ARM) and are
kept in `EmissionState`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64

__all__ = [
    "ALWAYS",
    "BLINK",
    "MODES",
    "SCHEDULED",
    "EmissionParams",
    "EmissionState",
    "Switches",
    "blink_trigger",
    "emitting",
    "last_emission_s",
    "schedule_on",
    "switches",
]

B = NDArray[np.bool_]

MODES = ("always", "scheduled", "blink")
"""Emission modes; `EmissionParams.mode` indexes this tuple."""
ALWAYS, SCHEDULED, BLINK = 0, 1, 2


@dataclass(frozen=True)
class EmissionParams:
    """Each radar's emission doctrine (R radars), static.

    Attributes:
        mode: (R,) index into `MODES`.
        on_s: (R,) scheduled: emitting part of the cycle, s (inf for other modes).
        off_s: (R,) scheduled: silent part of the cycle; blink: silence after a
            fresh ARM track, s (0 for `always`).
        offset_s: (R,) scheduled: start of the first emitting window, s.
    """

    mode: I64
    on_s: F64
    off_s: F64
    offset_s: F64

    @staticmethod
    def always(n_radars: int) -> EmissionParams:
        """Every radar always on."""
        return EmissionParams(
            mode=np.zeros(n_radars, dtype=np.int64),
            on_s=np.full(n_radars, np.inf),
            off_s=np.zeros(n_radars),
            offset_s=np.zeros(n_radars),
        )

    @property
    def controlled(self) -> bool:
        """Some radar is not always on."""
        return bool((self.mode != ALWAYS).any())


@dataclass(frozen=True)
class EmissionState:
    """What evolves about the radars and the ARMs homing on them.

    Attributes:
        destroyed_s: (R,) time each radar was destroyed, s (inf: alive).
        silent_from_s: (R,) blink: start of the current or last silence, s (-inf: none).
        silent_until_s: (R,) blink: its end, s (-inf: none).
        arm_acquired: (A,) each ARM's seeker has acquired its radar (ARMs in
            `skydome.sensors.antiradiation.ArmParams` order).
    """

    destroyed_s: F64
    silent_from_s: F64
    silent_until_s: F64
    arm_acquired: B

    @staticmethod
    def initial(params: EmissionParams, n_arms: int) -> EmissionState:
        """Every radar alive, no blink silence, no ARM acquired."""
        r = params.mode.size
        return EmissionState(
            destroyed_s=np.full(r, np.inf),
            silent_from_s=np.full(r, -np.inf),
            silent_until_s=np.full(r, -np.inf),
            arm_acquired=np.zeros(n_arms, dtype=bool),
        )


def schedule_on(params: EmissionParams, t_s: float | F64) -> B:
    """(R,) (or (R, K) for t_s of shape (K,)) the schedule lets each radar emit at t_s.

    Always and blink radars: True (blink silences are state, `emitting`).
    Scheduled radars: ((t - offset) mod (on + off)) < on.
    """
    t = np.asarray(t_s, dtype=np.float64)
    extra = (None,) * t.ndim
    sel = (slice(None), *extra)
    sched = params.mode == SCHEDULED
    period = np.where(sched, params.on_s + params.off_s, 1.0)
    phase = np.mod(t - params.offset_s[sel], period[sel])
    on: B = ~sched[sel] | (phase < np.where(sched, params.on_s, np.inf)[sel])
    return on


def emitting(params: EmissionParams, state: EmissionState, t_s: float) -> B:
    """(R,) each radar emits at t_s: alive, its schedule on, not in a blink silence."""
    blink_silent = (state.silent_from_s <= t_s) & (t_s < state.silent_until_s)
    on: B = (t_s < state.destroyed_s) & schedule_on(params, t_s) & ~blink_silent
    return on


def last_emission_s(params: EmissionParams, state: EmissionState, t_s: F64, radar: I64) -> F64:
    """(K,) the last time at or before t_s[k] that radar[k] emitted, s.

    t_s itself when it emits then; the end of the last emitting window of a
    scheduled radar that is off (t - (phase - on)); the start of a blink
    silence; the destruction time of a destroyed radar (whichever is earliest
    applies: a destroyed radar emitted last when it died or before).

    Args:
        params: emission doctrine.
        state: radar state (blink silences as last known).
        t_s: (K,) times, s.
        radar: (K,) radar indices.
    """
    t = np.asarray(t_s, dtype=np.float64)
    mode = params.mode[radar]
    on_s, off_s, off0 = params.on_s[radar], params.off_s[radar], params.offset_s[radar]
    last = t.copy()
    sched = mode == SCHEDULED
    if sched.any():
        period = on_s[sched] + off_s[sched]
        phase = np.mod(t[sched] - off0[sched], period)
        last[sched] = np.where(phase < on_s[sched], t[sched], t[sched] - (phase - on_s[sched]))
    blink = mode == BLINK
    if blink.any():
        frm, until = state.silent_from_s[radar], state.silent_until_s[radar]
        silent = blink & (frm <= t) & (t < until)
        last = np.where(silent, frm, last)
    dead = state.destroyed_s[radar]
    return np.where(dead <= t, np.minimum(last, dead), last)


@dataclass(frozen=True)
class Switches:
    """Emission switches during one step (S rows), in no particular order.

    Attributes:
        time_s: (S,) when, s.
        radar: (S,) which radar.
        on: (S,) True: came on (`radar_on`); False: went silent (`radar_off`).
    """

    time_s: F64
    radar: I64
    on: B


def switches(params: EmissionParams, state: EmissionState, t0_s: float, t1_s: float) -> Switches:
    """The schedule and blink switches of the radars alive in (t0_s, t1_s].

    At t0_s = 0 a radar that is silent at 0 switches off at 0 (the log starts
    with it). Blink silences that start at t1_s are logged by `blink_trigger`;
    here only their ends. A radar destroyed before a switch makes none.
    """
    times: list[F64] = []
    radars: list[I64] = []
    ons: list[B] = []
    sched = np.flatnonzero(params.mode == SCHEDULED)
    if sched.size:
        on_s, off_s, off0 = params.on_s[sched], params.off_s[sched], params.offset_s[sched]
        period = on_s + off_s
        # Cycle k starts (on) at off0 + k P and goes off at off0 + k P + on.
        for shift, is_on in ((0.0, True), (on_s, False)):
            base = off0 + shift
            k_lo = np.floor((t0_s - base) / period) + 1.0  # first k with time > t0
            k_hi = np.floor((t1_s - base) / period)  # last k with time <= t1
            count = np.maximum(k_hi - k_lo + 1.0, 0.0).astype(np.int64)
            if count.sum():
                row = np.repeat(np.arange(sched.size), count)
                first = np.repeat(np.cumsum(count) - count, count)
                k = k_lo[row] + (np.arange(row.size) - first)
                times.append(base[row] + k * period[row])
                radars.append(sched[row])
                ons.append(np.full(row.size, is_on))
        if t0_s == 0.0:
            off_at_0 = ~schedule_on(params, 0.0)[sched]
            times.append(np.zeros(int(off_at_0.sum())))
            radars.append(sched[off_at_0])
            ons.append(np.zeros(int(off_at_0.sum()), dtype=bool))
    blink = np.flatnonzero(
        (params.mode == BLINK) & (state.silent_until_s > t0_s) & (state.silent_until_s <= t1_s)
    )
    if blink.size:
        times.append(state.silent_until_s[blink])
        radars.append(blink)
        ons.append(np.ones(blink.size, dtype=bool))
    if not times:
        return Switches(np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))
    t = np.concatenate(times)
    r = np.concatenate(radars).astype(np.int64)
    alive = t < state.destroyed_s[r]
    return Switches(t[alive], r[alive], np.concatenate(ons)[alive])


def blink_trigger(
    params: EmissionParams, state: EmissionState, t_s: float, arm_update_s: F64
) -> tuple[EmissionState, I64]:
    """Silence the blink radars that see a fresh ARM track at t_s.

    A blink radar that is emitting at t_s goes silent for `off_s` when the
    command post holds a confirmed track it identifies as an ARM whose last
    update came after the radar last came on (a track left over from before
    the silence does not silence it again); a radar that came on exactly at
    t_s emits until the next step at least.

    Args:
        params: emission doctrine.
        state: radar state.
        t_s: now, s.
        arm_update_s: (T,) last update times of the confirmed tracks identified as ARMs.

    Returns:
        The new state and (S,) the radars silenced now (a `radar_off` at t_s each).
    """
    if arm_update_s.size == 0:
        return state, np.zeros(0, dtype=np.int64)
    newest = float(arm_update_s.max())
    on = emitting(params, state, t_s)
    # A radar that came on at silent_until_s reacts only to tracks updated after it
    # came on, and not at that instant: it emits for one step at least (a look).
    until = state.silent_until_s
    go = np.flatnonzero((params.mode == BLINK) & on & (newest > until) & (t_s > until))
    if go.size == 0:
        return state, go
    frm, until = state.silent_from_s.copy(), state.silent_until_s.copy()
    frm[go] = t_s
    until[go] = t_s + params.off_s[go]
    return replace(state, silent_from_s=frm, silent_until_s=until), go
