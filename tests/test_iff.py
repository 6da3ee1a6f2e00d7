"""Friendly traffic, IFF and rules of engagement, against rates derived by hand.

The sky of `tests.test_decoys.contested`: every object its own track, every
engaged object killed by its one round, friendlies crossing 60 km north of
the asset (never inbound), hostiles flying at it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from skydome.engine import RunResult, simulate
from skydome.events import EVENT_KINDS, NOTES
from skydome.results import summarize
from skydome.scenario.compile_identification import FRIENDLY, HOSTILE
from tests.conftest import RUN_SEEDS
from tests.test_decoys import clopper_pearson, contested, launches_at, params_of
from tests.test_engine import check_invariants
from tests.test_kill_chain import check_kill_chain

K = {k: i for i, k in enumerate(EVENT_KINDS)}
MC_SEEDS = range(8)


def _runs(d: dict[str, Any], seeds: range = MC_SEEDS) -> list[RunResult]:
    p = params_of(d)
    return [simulate(p, seed=s) for s in seeds]


@RUN_SEEDS
@given(seed=st.integers(0, 2**31 - 1))
def test_hold_launches_nothing(seed: int) -> None:
    """Rules `hold`: no launch; every hostile leaks, each explained by a held event."""
    d = contested(hostiles=4, friendlies=3, ident={"rules_of_engagement": "hold"})
    r = simulate(params_of(d), seed=seed)
    ev = r.events
    assert not (ev.kind == K["launch"]).any()
    assert (ev.kind == K["leak"]).sum() == 4
    held = (ev.kind == K["held"]) & (ev.note == NOTES.index("held: rules of engagement"))
    assert set(ev.threat_id[ev.kind == K["leak"]].tolist()) <= set(ev.threat_id[held].tolist())
    check_invariants(r)
    check_kill_chain(r)


@RUN_SEEDS
@given(seed=st.integers(0, 2**31 - 1))
def test_weapons_tight_never_engages_a_friendly(seed: int) -> None:
    """Every transponder failed (no friend ever answers); under weapons_tight none is engaged.

    A friendly never comes within 60 km of the asset (abeam, not inbound) and
    the identification zone is 40 km: its position (good to well under a
    kilometre here) never puts it inside, so it is never declared hostile, only
    unknown, and weapons_tight engages only hostiles. The
    hostiles, silent and inbound, become hostile after 3 interrogations and
    are all engaged (the property is not vacuous).
    """
    iff = {"failure_rate": 1.0, "hostile_zone_km": 40.0}
    ident = {"rules_of_engagement": "weapons_tight", "iff": iff}
    r = simulate(params_of(contested(hostiles=4, friendlies=6, ident=ident)), seed=seed)
    assert launches_at(r, FRIENDLY).sum() == 0
    ip = r.params.identity
    assert ip is not None
    assert (launches_at(r, HOSTILE)[ip.kind == HOSTILE] > 0).all()
    s = summarize(r)["identification"]
    assert s["fratricide"] == 0 and s["friendly"]["identified_as"]["friend"] == 0
    check_invariants(r)
    check_kill_chain(r)


def test_weapons_free_engages_friends_whose_transponder_failed_at_the_failure_rate() -> None:
    """Fratricide rate under weapons_free = failure rate f = 0.3 (99 % Clopper-Pearson).

    Oracle: reply probability 1 and no delay, so a working transponder answers
    the first interrogation, made at the first decision after the track is
    confirmed, before it can be a candidate: never engaged. A failed one never
    answers: unknown, engaged (weapons_free) inside the envelope it crosses,
    and killed by its one round (Pk 1, 5 km basket). So P(fratricide) =
    f x 1 x 1 = 0.3, and fratricides ~ Binomial(8 runs x 10 friendlies, 0.3).
    """
    f = 0.3
    ident = {"iff": {"failure_rate": f, "reply_probability": 1.0, "delay_s": 0.0}}
    runs = _runs(contested(hostiles=2, friendlies=10, ident=ident))
    frat = n = 0
    for r in runs:
        s = summarize(r)["identification"]
        frat += s["fratricide"]
        n += s["friendly"]["count"]
        # a fratricide event for each friendly killed, besides its kill event
        assert s["fratricide"] == s["friendly"]["killed"] == s["friendly"]["engaged"]
        ev = r.events
        fr = ev.kind == K["fratricide"]
        kills = ev.kind == K["kill"]
        assert set(ev.missile_id[fr].tolist()) <= set(ev.missile_id[kills].tolist())
        assert s["friendly"]["identified_as"]["friend"] + s["friendly"]["engaged"] == 10
    lo, hi = clopper_pearson(frat, n)
    assert lo <= f <= hi, (frat, n)


def test_spoofing_hostiles_are_taken_for_friends_at_the_spoof_rate() -> None:
    """Hostiles answering IFF (spoof rate s = 0.5) are never engaged: engaged share 1 - s.

    Oracle: reply 1, no delay: a spoofer answers its first interrogation and is
    a friend before it is a candidate; the others are engaged (weapons_free)
    with one round. Engaged hostiles ~ Binomial(8 runs x 6, 0.5).
    """
    ident = {"iff": {"spoof_rate": 0.5, "reply_probability": 1.0, "delay_s": 0.0}}
    runs = _runs(contested(hostiles=6, ident=ident))
    engaged = sum(summarize(r)["identification"]["hostile"]["engaged"] for r in runs)
    lo, hi = clopper_pearson(engaged, 6 * len(runs))
    assert lo <= 0.5 <= hi, engaged


def test_no_answer_before_the_delay() -> None:
    """With delay_s longer than the run no answer ever counts: every friendly is engaged."""
    ident = {"iff": {"delay_s": 600.0, "reply_probability": 1.0}}
    r = simulate(params_of(contested(hostiles=0, friendlies=4, ident=ident)), seed=2)
    s = summarize(r)["identification"]
    assert s["friendly"]["engaged"] == 4 and s["fratricide"] == 4


def test_rules_of_engagement_per_battery() -> None:
    """Two co-located batteries, one on hold: every launch is from the other."""
    d = contested(hostiles=4, ident={"battery_rules": {"b1": "hold"}})
    d["batteries"].append({**d["batteries"][0], "name": "b2"})
    r = simulate(params_of(d), seed=0)
    la = r.events.kind == K["launch"]
    assert la.sum() == 4
    assert set(r.events.battery[la].tolist()) == {1}


def test_friendlies_never_leak() -> None:
    """A friendly route ending on the asset: no leak, no damage, no launch (all friends)."""
    d = contested(hostiles=0, friendlies=3, ident={"iff": {"reply_probability": 1.0}})
    d["raids"][0]["route"][-1] = {"east_km": 0, "north_km": 0, "altitude_m": 500}
    r = simulate(params_of(d), seed=0)
    s = summarize(r)
    assert not (r.events.kind == K["leak"]).any()
    assert s["threats"]["leaked"] == 0 and s["damage"]["value_lost"] == 0.0
    assert s["identification"]["friendly"]["identified_as"]["friend"] == 3


def _launch_lags(roe: str) -> list[float]:
    d = contested(hostiles=3, ident={"rules_of_engagement": roe})
    ev = simulate(params_of(d), seed=4).events
    la = ev.kind == K["launch"]
    tr = ev.kind == K["track"]
    first: dict[int, float] = {}
    for h, t in zip(ev.threat_id[tr].tolist(), ev.time_s[tr].tolist(), strict=True):
        first.setdefault(h, t)
    return [
        t - first[h] for h, t in zip(ev.threat_id[la].tolist(), ev.time_s[la].tolist(), strict=True)
    ]


def test_weapons_tight_engages_only_after_the_hostile_declaration() -> None:
    """Hostile after 3 consecutive silent, answerable interrogations: not before 4 s.

    Interrogations are made once per 2 s decision cycle from the first decision
    after the track's confirmation (answers could come from delay_s = 2 s after
    its first detection, before that); the third silent one is 2 x 2 = 4 s
    after the first. Weapons_free fires as soon as the fire-control gates
    allow, sooner.
    """
    tight, free = _launch_lags("weapons_tight"), _launch_lags("weapons_free")
    assert len(tight) == len(free) == 3
    assert min(tight) >= 4.0 - 1e-9
    assert max(free) < min(tight)
