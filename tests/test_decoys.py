"""Decoys: the identity model, the discrimination curve, rounds soaked, no damage.

Hand-derived oracles: the recognition curve p(t) = p_max (1 - exp(-t / tau)),
one uniform per decoy (so the share recognised by tracking time t is p(t)),
and runs set up so every decoy not recognised is engaged with one round.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats as sps

from skydome.engine import RunResult, simulate
from skydome.engine.contract import check_identification
from skydome.engine.identification import (
    DECOY_ID,
    UNKNOWN_ID,
    ContestedIdentification,
    IdentState,
    recognition_probability,
)
from skydome.errors import UserError
from skydome.events import EVENT_KINDS, NOTES
from skydome.results import summarize
from skydome.scenario import compile_scenario, parse_scenario
from skydome.scenario.compile import SimParams
from skydome.scenario.compile_identification import DECOY, FRIENDLY, HOSTILE
from skydome.tracking.base import TrackState
from tests.conftest import SMALL, dump
from tests.test_engine import check_invariants
from tests.test_kill_chain import check_kill_chain

K = {k: i for i, k in enumerate(EVENT_KINDS)}


def clopper_pearson(k: int, n: int, alpha: float = 0.01) -> tuple[float, float]:
    """Exact two-sided interval for a binomial proportion (Clopper & Pearson, 1934)."""
    lo = 0.0 if k == 0 else float(sps.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(sps.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def contested(
    *,
    hostiles: int = 6,
    decoys: int = 0,
    friendlies: int = 0,
    ident: dict[str, Any] | None = None,
    launchers: int = 10,
) -> dict[str, Any]:
    """A sky where every object is its own track and every engaged one dies to one round.

    Radar and battery at the asset. Hostiles fly in from the west, decoys from
    the south, friendlies cross west to east 60 km north of the asset (not
    inbound: the asset's radius is 5 km; a track would need a heading error
    over 20 deg to look inbound); members of each raid are 30 s
    apart (7.5 km at 250 m/s). Salvo 1, Pk 1 and a 5 km homing basket: one
    round kills; 200 rounds and 20 target channels: capacity never binds.
    """
    d: dict[str, Any] = copy.deepcopy(yaml.safe_load(SMALL))
    d["run"]["duration_s"] = 1200
    base = {
        "rcs_m2": 3,
        "speed_mps": 250,
        "launch_time_s": 0,
        "damage": 0.1,
        "swerling": 0,
    }
    raids = []
    if hostiles:
        raids.append(
            {
                **base, "name": "jets", "type": "aircraft", "count": hostiles, "target": "base",
                "launch_spread_s": 30.0 * (hostiles - 1),
                "route": [
                    {"east_km": -150, "north_km": 0, "altitude_m": 5000},
                    {"east_km": 0, "north_km": 0, "altitude_m": 3000},
                ],
            }
        )  # fmt: skip
    if decoys:
        raids.append(
            {
                **base, "name": "decoys", "type": "decoy", "kind": "decoy", "count": decoys,
                "target": "base", "launch_spread_s": 30.0 * (decoys - 1),
                "route": [
                    {"east_km": 0, "north_km": -150, "altitude_m": 5000},
                    {"east_km": 0, "north_km": 0, "altitude_m": 3000},
                ],
            }
        )  # fmt: skip
    if friendlies:
        raids.append(
            {
                **{k: v for k, v in base.items() if k != "damage"},
                "name": "patrol", "type": "fighter", "kind": "friendly", "count": friendlies,
                "launch_spread_s": 30.0 * (friendlies - 1),
                "route": [
                    {"east_km": -150, "north_km": 60, "altitude_m": 6000},
                    {"east_km": 150, "north_km": 60, "altitude_m": 6000},
                ],
            }
        )  # fmt: skip
    d["raids"] = raids
    d["missiles"]["m1"].update(pk=1.0, homing_basket_m=5000)
    d["batteries"][0].update(
        launchers=launchers, load={"m1": 20}, fire_channels={"targets": 20, "missiles": 40}
    )
    d["doctrine"] = {"salvo_size": 1, "decision_period_s": 2}
    if ident is not None:
        d["identification"] = ident
    return d


def params_of(d: dict[str, Any]) -> SimParams:
    return compile_scenario(parse_scenario(dump(d)))


def launches_at(r: RunResult, side: int) -> np.ndarray:
    """(N,) missiles launched at each threat of `side` (others 0)."""
    ev, ip = r.events, r.params.identity
    assert ip is not None
    la = (ev.kind == K["launch"]) & (ev.threat_id >= 0)
    n = np.bincount(ev.threat_id[la], minlength=ip.kind.size)
    out: np.ndarray = np.where(ip.kind == side, n, 0)
    return out


# -- the identity model --------------------------------------------------------------


def test_scenarios_without_identification_compile_to_perfect_identification(
    small_dict: dict[str, Any],
) -> None:
    assert params_of(small_dict).identity is None


def test_raid_kinds_compile_to_sides_and_decoys_carry_no_warhead() -> None:
    p = params_of(contested(hostiles=2, decoys=3, friendlies=4))
    assert p.identity is not None
    assert p.identity.kind.tolist() == [HOSTILE] * 2 + [DECOY] * 3 + [FRIENDLY] * 4
    assert p.threats.damage.tolist() == [0.1] * 2 + [0.0] * 7
    assert p.identity.roe.tolist() == [0]  # weapons_free by default


@pytest.mark.parametrize(
    ("raid", "message"),
    [
        ({"kind": "friendly", "target": "base"}, "a friendly raid attacks nothing"),
        ({"target": None}, "a hostile raid needs target"),
        ({"kind": "decoy", "target": None}, "a decoy raid needs target"),
    ],
)
def test_raid_kind_and_target_errors_name_the_field(raid: dict[str, Any], message: str) -> None:
    d = contested(hostiles=2)
    d["raids"][0].update(raid)
    with pytest.raises(UserError) as err:
        parse_scenario(dump(d))
    assert "raids[0]" in str(err.value) and message in str(err.value)


def test_unknown_battery_in_battery_rules_is_a_user_error() -> None:
    d = contested(hostiles=1, ident={"battery_rules": {"nope": "hold"}})
    with pytest.raises(UserError, match="identification.battery_rules.nope: battery 'nope'"):
        parse_scenario(dump(d))


def test_contested_identification_keeps_the_identification_contract() -> None:
    p = params_of(contested(hostiles=12, ident={}))
    assert p.identity is not None
    check_identification(ContestedIdentification(p.identity, p.assets), n_threats=12)


def test_identify_hides_the_type_of_decoys_and_friendlies() -> None:
    """What a decoy or friendly track is, is what identification decides: `identify` gives
    -1 (unknown type) for them, the true index for hostiles, so no planner values a decoy
    at its type's damage (0) read from truth."""
    p = params_of(contested(hostiles=4, decoys=3, ident={}))
    assert p.identity is not None
    stage = ContestedIdentification(p.identity, p.assets)
    n = p.threats.n
    pic = TrackState.empty()
    pic = replace(
        pic,
        x=np.zeros((n + 1, 6)), P=np.zeros((n + 1, 6, 6)),
        track_id=np.arange(n + 1), hits=np.ones(n + 1, dtype=np.int64),
        opportunities=np.ones(n + 1, dtype=np.int64), misses=np.zeros(n + 1, dtype=np.int64),
        confirmed=np.ones(n + 1, dtype=bool), born_s=np.zeros(n + 1),
        last_update_s=np.zeros(n + 1), truth=np.append(np.arange(n), -1),
        quality=np.zeros(n + 1),
    )  # fmt: skip
    ids = stage.identify(pic, np.arange(n + 1))
    kind = p.identity.kind
    assert (ids[:n][kind == HOSTILE] == np.flatnonzero(kind == HOSTILE)).all()
    assert (ids[:n][kind != HOSTILE] == -1).all() and (kind == DECOY).sum() == 3
    assert ids[n] == -1  # a false track


def test_the_lookahead_planner_engages_decoys_it_has_not_recognised() -> None:
    """Before identification hid their type, the look-ahead planner valued every decoy at
    0 (its type's damage) and never fired at one: a read of truth. crowded-sky, seed 2."""
    from skydome.scenario import load_scenario

    s = load_scenario("crowded-sky")
    s = s.model_copy(update={"doctrine": s.doctrine.model_copy(update={"planner": "lookahead"})})
    r = simulate(compile_scenario(s), seed=2)
    check_invariants(r)
    assert summarize(r)["identification"]["decoy"]["rounds"] > 0


# -- the discrimination curve --------------------------------------------------------


def test_recognition_curve_by_hand() -> None:
    """p(t) = p_max (1 - e^(-t / tau)): 0 at t = 0, p_max (1 - 1/e) at tau, -> p_max."""
    t = np.array([-5.0, 0.0, 60.0, 1e9])
    p = recognition_probability(t, 0.8, 60.0)
    assert p[0] == 0.0 and p[1] == 0.0
    assert p[2] == pytest.approx(0.8 * (1 - np.exp(-1.0)))
    assert p[3] == pytest.approx(0.8)


@pytest.mark.parametrize(("age_s", "p_max", "tau_s"), [(30.0, 0.8, 60.0), (120.0, 0.5, 40.0)])
def test_share_of_decoys_recognised_after_a_known_tracking_time(
    age_s: float, p_max: float, tau_s: float
) -> None:
    """4,000 decoy tracks, each tracked `age_s`: the share recognised is p(age_s) (99 % CP).

    Oracle: p = p_max (1 - exp(-age / tau)) = 0.315 and 0.475; recognition is
    u < p with u uniform, so the count is Binomial(4000, p).
    """
    n = 4000
    p = params_of(contested(hostiles=1, ident={"decoys": {"p_max": p_max, "tau_s": tau_s}}))
    assert p.identity is not None
    ip = replace(p.identity, kind=np.full(n, DECOY, dtype=np.int8))
    stage = ContestedIdentification(ip, p.assets)
    t = 500.0
    pic = TrackState.empty(t)
    pic = replace(
        pic,
        x=np.tile([100e3, 100e3, 5e3, 0.0, 100.0, 0.0], (n, 1)),
        P=np.tile(np.eye(6), (n, 1, 1)),
        track_id=np.arange(n, dtype=np.int64),
        hits=np.full(n, 10),
        opportunities=np.full(n, 10),
        misses=np.zeros(n, dtype=np.int64),
        confirmed=np.ones(n, dtype=bool),
        born_s=np.full(n, t - age_s),
        last_update_s=np.full(n, t),
        truth=np.arange(n, dtype=np.int64),
    )
    rng = np.random.default_rng(7)
    state = IdentState.draw(ip, rng)
    rows = np.arange(n)
    ident, _, prev = stage.classify(pic, rows, t, pic.x[:, :3], pic.x[:, 3:], state, rng)
    assert (prev == UNKNOWN_ID).all()
    k = int((ident.identity_class == DECOY_ID).sum())
    lo, hi = clopper_pearson(k, n)
    expected = p_max * (1 - np.exp(-age_s / tau_s))
    assert lo <= expected <= hi, (k / n, expected)


# -- decoys in a run ------------------------------------------------------------------

P_MAX = 0.4
DECOY_SEEDS = range(6)


@pytest.fixture(scope="module")
def decoy_runs() -> list[RunResult]:
    """20 decoys and 6 hostiles, recognised at once with p = 0.4 (tau = 1 ms)."""
    d = contested(hostiles=6, decoys=20, ident={"decoys": {"p_max": P_MAX, "tau_s": 0.001}})
    p = params_of(d)
    return [simulate(p, seed=s) for s in DECOY_SEEDS]


def test_decoys_soak_the_share_of_rounds_the_discrimination_implies(
    decoy_runs: list[RunResult],
) -> None:
    """Each decoy is recognised with p = p_max = 0.4 at its first decision (tau = 1 ms).

    Oracle: a decoy not recognised is engaged like a hostile and dies to its
    one round (salvo 1, Pk 1, large basket, capacity never binds), so the
    decoys engaged are Binomial(120, 0.6) over 6 runs x 20 decoys; each
    engaged decoy soaks exactly one round, each hostile one, so the share of
    rounds on decoys is D / (D + 6) per run with D ~ Binomial(20, 0.6)
    (expected 12 / 18 = 2/3 at the mean).
    """
    engaged = n = rounds_decoy = rounds_all = 0
    for r in decoy_runs:
        dec = launches_at(r, DECOY)
        hos = launches_at(r, HOSTILE)
        ip = r.params.identity
        assert ip is not None
        assert (hos[ip.kind == HOSTILE] == 1).all()  # every hostile: one round
        assert set(dec[ip.kind == DECOY].tolist()) <= {0, 1}  # a decoy: none or one
        engaged += int((dec > 0).sum())
        n += int((ip.kind == DECOY).sum())
        rounds_decoy += int(dec.sum())
        rounds_all += int(dec.sum() + hos.sum())
        s = summarize(r)["identification"]
        assert s["decoy"]["rounds"] == int(dec.sum())
        assert s["decoy"]["engaged"] == int((dec > 0).sum())
        assert s["decoy"]["killed"] == s["decoy"]["engaged"]  # Pk 1
    lo, hi = clopper_pearson(engaged, n)
    assert lo <= 1 - P_MAX <= hi, (engaged, n)
    # The pooled share of rounds on decoys is D / (D + 36), monotone in D: its 99 %
    # interval is the proportion's mapped through it, and must hold the oracle 2/3.
    h = 6 * len(decoy_runs)
    assert rounds_decoy / rounds_all == pytest.approx(engaged / (engaged + h))
    share = [n * q / (n * q + h) for q in (lo, hi)]
    assert share[0] <= (n * (1 - P_MAX)) / (n * (1 - P_MAX) + h) <= share[1]


def test_a_recognised_decoy_is_never_engaged(decoy_runs: list[RunResult]) -> None:
    """No launch at a track at or after an `identified: decoy` event on it; summary agrees."""
    for r in decoy_runs:
        ev = r.events
        rec = (ev.kind == K["identified"]) & (ev.note == NOTES.index("identified: decoy"))
        first = dict(zip(ev.track_id[rec].tolist(), ev.time_s[rec].tolist(), strict=False))
        la = ev.kind == K["launch"]
        for tid, t in zip(ev.track_id[la].tolist(), ev.time_s[la].tolist(), strict=True):
            assert t < first.get(tid, np.inf)
        s = summarize(r)["identification"]["decoy"]
        assert s["identified_as"]["decoy"] + s["engaged"] <= s["count"]
        assert s["identified_as"]["decoy"] > 0


def test_decoy_runs_keep_every_engagement_invariant(decoy_runs: list[RunResult]) -> None:
    for r in decoy_runs:
        check_invariants(r)
        check_kill_chain(r)


def test_decoys_reaching_their_target_do_no_damage() -> None:
    """No launcher: every decoy reaches the asset; no leak, no damage. Hostiles do damage."""
    d = contested(hostiles=0, decoys=5, launchers=0)
    r = simulate(params_of(d), seed=1)
    s = summarize(r)
    assert not (r.events.kind == K["leak"]).any()
    assert s["damage"]["value_lost"] == 0.0
    assert s["identification"]["decoy"]["count"] == 5
    # the same raid as hostile: 5 leaks of damage 0.1 -> value 10 * (1 - 0.9^5)
    d["raids"][0]["kind"] = "hostile"
    r = simulate(params_of(d), seed=1)
    assert (r.events.kind == K["leak"]).sum() == 5
    assert summarize(r)["damage"]["value_lost"] == pytest.approx(10 * (1 - 0.9**5))
