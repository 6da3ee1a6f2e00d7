"""The fire-control quality gate: predicted intercept-point error, hold reasons, held events."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skydome.engagement import fire_control as fc
from skydome.engine import RunResult, simulate
from skydome.events import EVENT_KINDS, NOTES
from skydome.scenario import compile_scenario, parse_scenario
from skydome.scenario.compile import SimParams
from tests.conftest import dump
from tests.test_engine import check_invariants

K = {k: i for i, k in enumerate(EVENT_KINDS)}
QUALITY = NOTES.index("held: track quality")
HELD_NOTES = {NOTES.index(f"held: {w}") for w in ("track quality", "out of envelope")} | {
    NOTES.index("held: no launcher"),
    NOTES.index("held: reserve"),
}
NO_GATE = {"min_track_updates": 1, "quality_sigmas": 0.0}


def _params(d: dict[str, Any]) -> SimParams:
    return compile_scenario(parse_scenario(dump(d)))


# -- the predicted position covariance against the textbook 6 x 6 form -----------------


def _spd(rng: np.random.Generator, n: int) -> np.ndarray:
    a = rng.normal(size=(n, 6, 6)) * np.array([300.0] * 3 + [40.0] * 3)[None, :, None]
    out: np.ndarray = a @ a.transpose(0, 2, 1) + 1e-3 * np.eye(6)
    return out


def _textbook(P: np.ndarray, T: float, q: float, tq: float) -> np.ndarray:  # noqa: N803
    """Position block of F P F' + Q with the full 6 x 6 CV matrices (BLK 6.2.2)."""
    i3 = np.eye(3)
    F = np.block([[i3, T * i3], [0 * i3, i3]])  # noqa: N806
    Q = q * q * np.block([[tq**3 / 3 * i3, tq**2 / 2 * i3], [tq**2 / 2 * i3, tq * i3]])  # noqa: N806
    out: np.ndarray = (F @ P @ F.T + Q)[:3, :3]
    return out


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    horizon=st.floats(0.0, 400.0),
    q=st.floats(0.0, 50.0),
    noise_horizon=st.floats(0.1, 1000.0),
)
def test_predicted_covariance_is_the_cv_closed_form(
    seed: int, horizon: float, q: float, noise_horizon: float
) -> None:
    rng = np.random.default_rng(seed)
    P = _spd(rng, 3)  # noqa: N806
    # Horizons per (track, battery, type), as the engine passes them.
    T = np.full((3, 2, 2), horizon) * rng.uniform(0.5, 1.0, size=(3, 2, 2))  # noqa: N806
    got = fc.predicted_position_cov(P, T, q, noise_horizon)
    sig = fc.position_sigma_m(P, T, q, noise_horizon)
    for n, b, m in np.ndindex(T.shape):
        tt = float(T[n, b, m])
        want = _textbook(P[n], tt, q, min(tt, noise_horizon))
        np.testing.assert_allclose(got[n, b, m], want, rtol=1e-9, atol=1e-6)
        # sigma^2: the largest root of the characteristic polynomial
        # l^3 - tr(C) l^2 + (sum of principal 2x2 minors) l - det(C).
        c = want
        minors = (
            c[0, 0] * c[1, 1] - c[0, 1] * c[1, 0]
            + c[0, 0] * c[2, 2] - c[0, 2] * c[2, 0]
            + c[1, 1] * c[2, 2] - c[1, 2] * c[2, 1]
        )  # fmt: skip
        lam = np.roots([1.0, -np.trace(c), minors, -np.linalg.det(c)]).real.max()
        assert sig[n, b, m] == pytest.approx(np.sqrt(lam), rel=1e-6)


def test_sigma_grows_with_the_velocity_error_times_the_horizon() -> None:
    P = np.diag([100.0**2] * 3 + [50.0**2] * 3)[None]  # noqa: N806
    T = np.array([[[0.0, 100.0]]])  # noqa: N806
    sig = fc.position_sigma_m(P, T, 0.0)
    assert sig[0, 0, 0] == pytest.approx(100.0)
    assert sig[0, 0, 1] == pytest.approx(np.hypot(100.0, 50.0 * 100.0))
    # Infeasible cells (no intercept time) give nan, which fails the gate.
    nan = fc.position_sigma_m(P, np.array([[[np.inf]]]), 20.0)
    assert np.isnan(nan).all()
    ok = fc.quality_ok(nan, np.array([[[1e9]]]), 3.0, np.array([10]), 1)
    assert not ok.any()


def test_hold_reasons_follow_their_precedence() -> None:
    # Six tracks, one battery, one type:
    # 0 too few updates; 1 out of envelope; 2 reachable but error too large;
    # 3 good but nothing left to fire; 4 good, a salvo left, not served; 5 engaged.
    mature = np.array([False, True, True, True, True, True])
    reach = np.array([True, False, True, True, True, True])[:, None, None]
    good = np.array([True, True, False, True, True, True])[:, None, None]
    left = np.array([True, True, True, False, True, True])[:, None, None]
    served = np.array([False, False, False, False, False, True])
    r = fc.hold_reason(mature, reach, good, left, served)
    assert r.tolist() == [
        fc.HOLD_QUALITY, fc.HOLD_ENVELOPE, fc.HOLD_QUALITY, fc.HOLD_LAUNCHER, fc.HOLD_RESERVE,
        fc.HOLD_NONE,
    ]  # fmt: skip


def _reason_one(
    mature: bool, reach: np.ndarray, good: np.ndarray, left: np.ndarray, served: bool
) -> int:
    """One track's reason, written out as the doctrine reads (the oracle)."""
    if served:
        return fc.HOLD_NONE
    if not mature:
        return fc.HOLD_QUALITY
    if not reach.any():
        return fc.HOLD_ENVELOPE
    if not (reach & good).any():
        return fc.HOLD_QUALITY
    if not (reach & good & left).any():
        return fc.HOLD_LAUNCHER
    return fc.HOLD_RESERVE


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 12),
    b=st.integers(1, 3),
    m=st.integers(1, 4),
)
def test_hold_reasons_match_a_per_track_oracle(seed: int, n: int, b: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.2, 0.9, size=5)
    mature, served = rng.random(n) < p[0], rng.random(n) < 0.2
    reach, good, left = (rng.random((n, b, m)) < p[k] for k in (1, 2, 3))
    got = fc.hold_reason(mature, reach, good, left, served)
    want = [_reason_one(mature[i], reach[i], good[i], left[i], served[i]) for i in range(n)]
    assert got.tolist() == want


# -- in the engine -----------------------------------------------------------------------


def _one_jet(small: dict[str, Any], **doctrine: Any) -> dict[str, Any]:
    d = copy.deepcopy(small)
    d["raids"][0]["count"] = 1
    d["doctrine"] = {"decision_period_s": 1.0, "kill_assessment_s": 3.0, **doctrine}
    d["missiles"]["m1"]["homing_basket_m"] = 5000
    return d


def _held(r: RunResult) -> np.ndarray:
    return np.asarray(r.events.kind == K["held"])


def test_a_young_track_is_held_once_for_quality_then_engaged(small_dict: dict[str, Any]) -> None:
    d = _one_jet(small_dict, min_track_updates=6)
    r = simulate(_params(d), seed=1)
    ev = r.events
    held, launch = _held(r), ev.kind == K["launch"]
    assert launch.any()  # a mature track is engaged
    tid = ev.track_id[launch][0]
    q = held & (ev.track_id == tid) & (ev.note == QUALITY)
    assert q.sum() == 1  # logged once, not at every decision while it matured
    assert ev.time_s[q][0] < ev.time_s[launch].min()
    # The radar scans at the first tick (1 s), then every 2 s: the sixth detection
    # comes no earlier than its sixth scan from the first detection.
    scans = np.r_[1.0, np.arange(2.0, 600.0, 2.0)]
    sixth = scans[scans >= r.first_detect_s[0]][5]
    reaction = r.params.batteries.reaction_s[0]
    assert ev.time_s[launch].min() >= sixth + reaction - 1e-9
    # Without the gate the same track is engaged earlier (on its confirmation).
    r0 = simulate(_params(_one_jet(small_dict, **NO_GATE)), seed=1)
    l0 = r0.events.kind == K["launch"]
    assert r0.events.time_s[l0].min() < sixth + reaction - 1e-9
    check_invariants(r)


def test_an_uncorrectable_track_is_held_for_quality_and_never_engaged(
    small_dict: dict[str, Any],
) -> None:
    d = _one_jet(small_dict, quality_sigmas=3.0, midcourse_share=0.0)
    d["missiles"]["m1"]["homing_basket_m"] = 1.0  # no track is that good
    r = simulate(_params(d), seed=2)
    ev = r.events
    assert not (ev.kind == K["launch"]).any()
    held = _held(r)
    assert held.any()
    # Held for quality first (in reach, but its error is uncorrectable), later out
    # of the envelope (inside the minimum range or too late); each logged once.
    envelope = NOTES.index("held: out of envelope")
    for tid in np.unique(ev.track_id[held]):
        notes = ev.note[held & (ev.track_id == tid)].tolist()
        assert notes[0] == QUALITY
        assert set(notes) <= {QUALITY, envelope}
        assert len(notes) == len(set(notes))
    assert np.isfinite(r.leak_time_s).all()  # the threat leaked, and the log says why


def test_no_stock_is_held_for_no_launcher(small_dict: dict[str, Any]) -> None:
    d = _one_jet(small_dict)
    d["batteries"][0]["load"] = {"m1": 0}
    d["batteries"][0]["launchers"] = 1
    r = simulate(_params(d), seed=3)
    ev = r.events
    notes = set(ev.note[_held(r)].tolist())
    assert NOTES.index("held: no launcher") in notes
    assert not (ev.kind == K["launch"]).any()


def test_a_planner_that_holds_fire_is_logged_as_reserve(small_dict: dict[str, Any]) -> None:
    # WTA with missiles costing far more than the asset is worth: nothing is fired
    # although missiles and channels are free.
    d = _one_jet(small_dict, planner="wta", missile_cost_weight=1e6)
    r = simulate(_params(d), seed=1)
    ev = r.events
    assert not (ev.kind == K["launch"]).any()
    assert NOTES.index("held: reserve") in set(ev.note[_held(r)].tolist())
    # The greedy planner fires at whatever it can: nothing is held in reserve.
    g = simulate(_params(_one_jet(small_dict)), seed=1)
    assert (g.events.kind == K["launch"]).any()
    assert NOTES.index("held: reserve") not in set(g.events.note[_held(g)].tolist())


def _long_range(**doctrine: Any) -> SimParams:
    """One aircraft at 9 km altitude coming from 380 km, seen by a 10-s surveillance radar
    with a 3 mrad elevation error, and a 400 km missile (the 40N6-style case of issue 13)."""
    d = {
        "name": "long-range",
        "origin": {"lat_deg": 0.0, "lon_deg": 0.0},
        "run": {"duration_s": 600, "step_s": 1.0, "seed": 1},
        "assets": [
            {
                "name": "base",
                "position": {"east_km": 0, "north_km": 0},
                "value": 10,
                "defended_radius_km": 5,
            },
        ],  # fmt: skip
        "radars": [
            {
                "name": "surveillance",
                "position": {"east_km": 0, "north_km": 0},
                "mast_height_m": 25,
                "detection_range_km": 600,
                "reference_rcs_m2": 10,
                "max_range_km": 600,
                "scan_period_s": 10,
                "sigma_range_m": 150,
                "sigma_azimuth_mrad": 3,
                "sigma_elevation_mrad": 5,
            }
        ],  # fmt: skip
        "missiles": {
            "lr": {
                "min_range_km": 5,
                "max_range_km": 400,
                "max_altitude_km": 30,
                "average_speed_mps": 1220,
                "max_target_speed_mps": 4800,
                "pk": 0.8,
                "homing_basket_m": 3000,
            }
        },  # fmt: skip
        "batteries": [
            {
                "name": "b",
                "position": {"east_km": 0, "north_km": 0},
                "launchers": 4,
                "load": {"lr": 2},
                "fire_channels": {"targets": 4, "missiles": 8},
                "reaction_time_s": 2,
            }
        ],  # fmt: skip
        "raids": [
            {
                "name": "jet",
                "type": "strike aircraft",
                "count": 1,
                "target": "base",
                "launch_time_s": 0,
                "rcs_m2": 10,
                "speed_mps": 250,
                "route": [
                    {"east_km": -380, "north_km": 0, "altitude_m": 9000},
                    {"east_km": 0, "north_km": 0, "altitude_m": 9000},
                ],
            }
        ],  # fmt: skip
        "doctrine": {"decision_period_s": 1.0, "salvo_size": 1, **doctrine},
        "tracker": {"confirm_m": 2, "confirm_n": 3},  # as the built-ins: confirmed on 2 scans
    }
    return _params(d)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_long_range_launch_on_a_two_scan_old_track(seed: int) -> None:
    ungated = simulate(_long_range(**NO_GATE), seed=seed)
    gated = simulate(_long_range(), seed=seed)
    # A midcourse that removes twice as much error (about 11 deg of heading).
    lenient = simulate(_long_range(midcourse_share=0.2), seed=seed)
    # The radar scans at the first tick (1 s), then every 10 s from 10 s.
    scans = np.r_[1.0, np.arange(10.0, 600.0, 10.0)]
    third_scan = scans[scans >= gated.first_detect_s[0]][2]  # the earliest third detection
    reaction = 2.0

    def first_launch(r: RunResult) -> float:
        la = r.events.kind == K["launch"]
        return float(r.events.time_s[la].min()) if la.any() else np.inf

    # Without the gate the missile leaves on the track's confirming second scan ...
    assert first_launch(ungated) < third_scan + reaction
    # ... with it, not before a third update, and then only on a track whose
    # predicted error at the intercept fits what the missile corrects: with
    # this radar alone (10 s scans, 5 mrad in elevation) not within the run at
    # the default midcourse share, on a few more scans with a more lenient one.
    assert first_launch(gated) >= third_scan + reaction
    assert third_scan + reaction <= first_launch(lenient) < np.inf
    for r in (gated, lenient):
        ev = r.events
        q = (ev.kind == K["held"]) & (ev.note == QUALITY)
        assert q.any() and ev.time_s[q].min() < first_launch(r)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_held_reasons_are_logged_once_until_engaged_and_explain_leaks(
    small_dict: dict[str, Any], seed: int
) -> None:
    d = copy.deepcopy(small_dict)
    d["raids"][0]["count"] = 6
    d["raids"][0]["launch_spread_s"] = 20
    d["batteries"][0]["load"] = {"m1": 2}  # 4 rounds for 6 jets: some must leak
    d["doctrine"] = {"decision_period_s": 1.0, "salvo_size": 1}
    r = simulate(_params(d), seed=seed)
    check_invariants(r)
    ev = r.events
    held, launch = ev.kind == K["held"], ev.kind == K["launch"]
    assert set(ev.note[held].tolist()) <= HELD_NOTES
    # Per track, a reason appears at most once between two launches at it.
    for tid in np.unique(ev.track_id[held]):
        rows = np.flatnonzero((ev.track_id == tid) & (held | launch))
        seen: set[int] = set()
        for i in rows:
            if ev.kind[i] == K["launch"]:
                seen = set()
                continue
            assert int(ev.note[i]) not in seen
            seen.add(int(ev.note[i]))
    # Every leaked threat that had a confirmed track a decision before it leaked was
    # either engaged or held with a reason.
    leaked = np.flatnonzero(np.isfinite(r.leak_time_s))
    assert leaked.size
    for i in leaked:
        if r.first_track_s[i] + 1.0 >= r.leak_time_s[i]:
            continue
        explained = (held | launch) & (ev.threat_id == i)
        assert explained.any(), f"threat {i} leaked with a track but no launch or held event"


def test_every_tracked_leaker_of_the_default_scenario_is_explained(
    default_params: SimParams,
) -> None:
    r = simulate(default_params, seed=1)
    ev = r.events
    why = (ev.kind == K["held"]) | (ev.kind == K["launch"])
    explained = np.zeros(default_params.threats.n, dtype=bool)
    tid = ev.threat_id[why]
    explained[tid[tid >= 0]] = True
    leaked = np.isfinite(r.leak_time_s)
    tracked = r.first_track_s + default_params.doctrine.decision_period_s < r.leak_time_s
    assert (leaked & tracked).sum() >= 10  # the default raid leaks through a full magazine
    assert not (leaked & tracked & ~explained).any()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 1e8), rank=st.integers(0, 3))
def test_largest_eigenvalue_closed_form_matches_lapack(seed: int, scale: float, rank: int) -> None:
    """Smith's closed form against np.linalg.eigvalsh on random symmetric PSD matrices of
    every rank (rank 0: zero; repeated eigenvalues included) and scale."""
    from skydome.engagement.fire_control import largest_eigenvalue_sym3

    rng = np.random.default_rng(seed)
    g = rng.normal(size=(50, 3, rank)) * scale
    a = g @ np.swapaxes(g, -1, -2)
    a[:5] = np.eye(3) * scale  # all three eigenvalues equal
    lam = largest_eigenvalue_sym3(a)
    ref = np.linalg.eigvalsh(a)[..., -1]
    np.testing.assert_allclose(lam, ref, rtol=1e-7, atol=1e-9 * scale * scale + 1e-300)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    horizon=st.floats(0.0, 400.0),
    q=st.one_of(st.just(0.0), st.floats(1e-3, 50.0)),
    noise_horizon=st.sampled_from([0.5, 12.0, 1000.0, np.inf]),
)
def test_compiled_sigma_rows_are_the_numpy_form_bit_for_bit(
    seed: int, horizon: float, q: float, noise_horizon: float
) -> None:
    """`position_sigma_rows` (the batched decision's kernel, covariances read in place)
    equals `position_sigma_m` of the gathered covariances exactly, including
    degenerate (zero, isotropic) covariances and non-finite horizons (nan)."""
    from skydome.engagement.fire_control_kernel import position_sigma_rows

    rng = np.random.default_rng(seed)
    P = _spd(rng, 7)  # noqa: N806
    P[5] = 0.0  # p = 0: the eigenvalue is q
    P[6] = np.eye(6) * 1e4  # three equal eigenvalues
    rows = rng.integers(0, 7, size=200)
    T = horizon * rng.uniform(0.0, 1.0, size=200)  # noqa: N806
    T[1::17] = np.inf
    T[::23] = 0.0
    got = position_sigma_rows(P, rows, T, q, noise_horizon)
    want = fc.position_sigma_m(P[rows], T, q, noise_horizon)
    assert got.tobytes() == want.tobytes()
    assert np.isnan(got[np.isinf(T)]).all() and np.isfinite(got[np.isfinite(T)]).all()
