"""The linear planar engagement (a validation reference) against Zarchan and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from skydome.engagement.linear_engagement import LinearEngagement, adjoint_miss, simulate

FT = 0.3048  # m per ft
G_FT = 32.2 * FT  # Zarchan's g (32.2 ft/s^2), m/s^2

# Zarchan, Tactical and Strategic Missile Guidance, ch. 3 (single time-constant
# guidance system, method of adjoints): T = 1 s, t_F = 10 s, N' = 3,
# V_m = 3000 ft/s, V_c = 4000 ft/s, a 3 g step target (96.6 ft/s^2) and a
# -20 deg heading error. Published misses: 0.219 ft and 1.90 ft.
ZARCHAN = dict(vm=3000 * FT, vc=4000 * FT, nt=3 * G_FT, he=np.radians(-20.0), tau=1.0, tf=10.0)


def single_lag(
    t_f: np.ndarray, nt: np.ndarray, he: np.ndarray, nav: float = 3.0, tau: float = 1.0
) -> LinearEngagement:
    return LinearEngagement(
        t_f_s=t_f,
        nav_gain=np.float64(nav),
        tau_s=np.float64(tau),
        target_acc_mps2=nt,
        heading_error_rad=he,
        missile_speed_mps=np.float64(ZARCHAN["vm"]),
        closing_speed_mps=np.float64(ZARCHAN["vc"]),
    )


def test_single_lag_reproduces_zarchans_published_misses() -> None:
    """0.219 ft for the 3 g step target and 1.90 ft for the -20 deg heading error
    (magnitudes; the heading-error miss is negative in y), within 2 %."""
    z = ZARCHAN
    run = simulate(
        single_lag(np.array([z["tf"]] * 2), np.array([z["nt"], 0.0]), np.array([0.0, z["he"]]))
    )
    miss_ft = np.abs(run.miss_m) / FT
    assert miss_ft[0] == pytest.approx(0.219, rel=0.02)
    assert miss_ft[1] == pytest.approx(1.90, rel=0.02)


@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
def test_single_lag_n3_matches_the_closed_form(tau: float) -> None:
    """N' = 3, single lag: the adjoint transform (1/s^3)(sT/(1+sT))^3 inverts to
    y/(n_T T^2) = x^2 e^-x / 2 for a step target and, from (1/s^2)(sT/(1+sT))^3,
    y/(-V_m HE T) = x e^-x (1 - x/2) for a heading error (y_dot(0) = -V_m HE),
    x = t_F / T (Zarchan's closed-form single-lag solutions; at x = 10 they give
    his 0.219 ft and 1.90 ft). Within 1e-6 of each input's peak miss."""
    t_f = np.array([0.5, 1.0, 3.0, 5.0, 8.0, 12.0])
    k = t_f.size
    nt, he, vm = ZARCHAN["nt"], ZARCHAN["he"], ZARCHAN["vm"]
    run = simulate(
        single_lag(np.tile(t_f, 2), np.repeat([nt, 0.0], k), np.repeat([0.0, he], k), tau=tau)
    )
    x = t_f / tau
    target = nt * tau**2 * 0.5 * x**2 * np.exp(-x)
    heading = -vm * he * tau * x * np.exp(-x) * (1 - x / 2)
    # Peaks: 2 e^-2 n_T T^2 at x = 2; about 0.2 V_m |HE| T near x = 0.6.
    np.testing.assert_allclose(run.miss_m[:k], target, rtol=1e-6, atol=1e-6 * nt * tau**2)
    np.testing.assert_allclose(run.miss_m[k:], heading, rtol=1e-6, atol=1e-6 * vm * tau)


@pytest.mark.parametrize("nav", [3.0, 4.0, 5.0])
def test_without_lag_pn_needs_n_over_n_minus_2_and_hits(nav: float) -> None:
    """Zero lag, step target: n_c/n_T = N'/(N'-2) [1 - (1 - t/t_F)^(N'-2)]
    (Zarchan, eq. 2.14), and the miss is zero."""
    run = simulate(
        LinearEngagement(
            t_f_s=np.float64(10.0),
            nav_gain=np.float64(nav),
            tau_s=np.float64(0.0),
            target_acc_mps2=np.float64(3 * G_FT),
            heading_error_rad=np.float64(0.0),
            missile_speed_mps=np.float64(900.0),
            closing_speed_mps=np.float64(1200.0),
        )
    )
    # Up to 10 ms before intercept (closer in, n_c = N'(y + y_dot t_go)/t_go^2
    # divides rounding error by t_go^2).
    keep = run.t_s[0] < 10.0 - 0.01
    frac = run.t_s[0, keep] / 10.0
    expect = nav / (nav - 2) * (1 - (1 - frac) ** (nav - 2))
    np.testing.assert_allclose(run.n_c_mps2[0, keep] / (3 * G_FT), expect, rtol=1e-6, atol=1e-9)
    assert abs(run.miss_m[0]) < 1e-6


def test_without_lag_apn_command_decays_and_heading_error_is_removed() -> None:
    """Zero-lag APN against a step: n_c/n_T = (N'/2)(1 - t/t_F)^(N'-2) (Zarchan ch. 8);
    zero-lag PN removes a heading error with n_c = -N' V_m HE/t_F (1 - t/t_F)^(N'-2)
    (Zarchan eq. 2.17); both miss by nothing."""
    nav = 4.0
    vm, he = 900.0, np.radians(-10.0)
    eng = LinearEngagement(
        t_f_s=np.float64(8.0),
        nav_gain=np.float64(nav),
        tau_s=np.float64(0.0),
        target_acc_mps2=np.array([3 * G_FT, 0.0]),
        heading_error_rad=np.array([0.0, he]),
        missile_speed_mps=np.float64(vm),
        closing_speed_mps=np.float64(1200.0),
        law="apn",
    )
    run = simulate(eng)
    keep = run.t_s[0] < 8.0 - 0.01
    frac = run.t_s[0, keep] / 8.0
    np.testing.assert_allclose(
        run.n_c_mps2[0, keep] / (3 * G_FT), nav / 2 * (1 - frac) ** (nav - 2), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(
        run.n_c_mps2[1, keep], -nav * vm * he / 8.0 * (1 - frac) ** (nav - 2), rtol=1e-6, atol=1e-6
    )
    assert np.all(np.abs(run.miss_m) < 1e-6)


@pytest.mark.parametrize(("law", "order"), [("pn", 1), ("pn", 3), ("apn", 1), ("apn", 5)])
def test_adjoint_equals_forward_runs(law: str, order: int) -> None:
    """One adjoint run gives the miss for every flight time; it equals forward runs
    at those flight times (N' = 3, 4, 5 in one batch)."""
    nav = np.array([3.0, 4.0, 5.0])
    adj = adjoint_miss(nav, 1.0, 10.0, law=law, lag_order=order)
    nt, he, vm = ZARCHAN["nt"], ZARCHAN["he"], ZARCHAN["vm"]
    idx = [100, 400, 700, 1000]
    t_f = adj.t_f_s[idx]
    cases = [(g, tf) for g in nav for tf in t_f]
    gains = np.array([c[0] for c in cases] * 2)
    tfs = np.array([c[1] for c in cases] * 2)
    n = len(cases)
    eng = LinearEngagement(
        t_f_s=tfs,
        nav_gain=gains,
        tau_s=np.float64(1.0),
        target_acc_mps2=np.repeat([nt, 0.0], n),
        heading_error_rad=np.repeat([0.0, he], n),
        missile_speed_mps=np.float64(vm),
        closing_speed_mps=np.float64(ZARCHAN["vc"]),
        law=law,
        lag_order=order,
    )
    fwd = simulate(eng).miss_m
    by_adjoint = np.concatenate(
        [nt * adj.per_target_acc_s2[:, idx].ravel(), -vm * he * adj.per_y_dot_s[:, idx].ravel()]
    )
    np.testing.assert_allclose(fwd, by_adjoint, rtol=1e-5, atol=1e-7)


def test_batch_equals_one_by_one_and_inputs_superpose() -> None:
    """Cases in a batch do not interact, and the miss is linear in the inputs."""
    nt, he = ZARCHAN["nt"], ZARCHAN["he"]
    both = simulate(single_lag(np.array([4.0, 7.0]), np.array([nt, nt]), np.array([he, he])))
    for i, tf in enumerate((4.0, 7.0)):
        alone_t = simulate(single_lag(np.array([tf]), np.array([nt]), np.array([0.0])))
        alone_h = simulate(single_lag(np.array([tf]), np.array([0.0]), np.array([he])))
        assert both.miss_m[i] == pytest.approx(alone_t.miss_m[0] + alone_h.miss_m[0], rel=1e-9)


def test_adjoint_refuses_a_lag_free_system() -> None:
    with pytest.raises(ValueError, match="lag"):
        adjoint_miss(3.0, 0.0, 10.0)
