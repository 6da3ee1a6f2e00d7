"""Guided flyout kernel against the guidance textbooks and the rocket equation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from skydome.engagement.guidance import G0, MissilePhysics, MissileState, step


def physics(k: int, n_gain: float, **over: object) -> MissilePhysics:
    base: dict[str, object] = dict(
        boost_thrust_n=np.zeros(k),
        boost_s=np.zeros(k),
        sustain_thrust_n=np.zeros(k),
        sustain_s=np.zeros(k),
        isp_s=np.full(k, 250.0),
        cd_area_m2=np.zeros(k),
        a_limit_mps2=np.full(k, 1e9),
        a_limit_floor_mps2=np.full(k, 1e9),
        nav_gain=np.full(k, n_gain),
        augmented=np.zeros(k, dtype=bool),
        gravity=False,
    )
    base.update(over)
    return MissilePhysics(**base)  # type: ignore[arg-type]


def fly(
    s: MissileState,
    phys: MissilePhysics,
    tpos: np.ndarray,
    tvel: np.ndarray,
    tacc: np.ndarray,
    dt: float,
    t_max: float = 200.0,
) -> tuple[MissileState, list[tuple[float, np.ndarray]]]:
    """Fly until every missile has passed closest approach; the target moves analytically."""
    hist = []
    t = 0.0
    while not s.done.all() and t < t_max:
        p = tpos + tvel * t + 0.5 * tacc * t * t
        v = tvel + tacc * t
        s, a = step(s, phys, p, v, tacc, dt)
        hist.append((t, a))
        t += dt
    return s, hist


@pytest.mark.parametrize("n_gain", [3.0, 4.0, 5.0])
def test_ideal_pn_hits_a_non_manoeuvring_target(n_gain: float) -> None:
    """Ideal PN against a constant-velocity target has zero miss (Zarchan ch. 2);
    with a 20 deg heading error the kinematic simulation misses by under 1 m."""
    he = np.radians(20.0)
    s = MissileState.launch(
        np.zeros((1, 3)), np.array([[1000.0 * np.cos(he), 1000.0 * np.sin(he), 0.0]]), np.ones(1)
    )
    tpos = np.array([[12_000.0, 3_000.0, 2_000.0]])
    tvel = np.array([[-300.0, 0.0, 0.0]])
    s, _ = fly(s, physics(1, n_gain), tpos, tvel, np.zeros((1, 3)), dt=0.002)
    assert s.done.all()
    assert s.miss_m[0] < 1.0


@pytest.mark.parametrize("n_gain", [3.0, 4.0, 5.0])
def test_pn_against_a_manoeuvring_target_needs_n_over_n_minus_2(n_gain: float) -> None:
    """Zero-lag PN against a step target manoeuvre n_T: the commanded acceleration
    grows as n_c/n_T = N/(N-2) (1 - (1 - t/t_F)^(N-2)) (Zarchan, 6th ed., eq. 2.14),
    approaching N/(N-2) at intercept."""
    nt = 3.0 * G0
    vm, vt, r0, dt = 3000.0, 300.0, 20_000.0, 0.001
    s = MissileState.launch(np.zeros((1, 3)), np.array([[vm, 0.0, 0.0]]), np.ones(1))
    tpos = np.array([[r0, 0.0, 0.0]])
    tvel = np.array([[-vt, 0.0, 0.0]])
    tacc = np.array([[0.0, nt, 0.0]])
    s, hist = fly(s, physics(1, n_gain), tpos, tvel, tacc, dt=dt)
    t_f = r0 / (vm + vt)
    for frac in (0.5, 0.8, 0.9):
        k = int(round(frac * t_f / dt))
        ratio = np.linalg.norm(hist[k][1][0]) / nt
        expect = n_gain / (n_gain - 2) * (1 - (1 - frac) ** (n_gain - 2))
        assert ratio == pytest.approx(expect, rel=0.05), (frac, ratio, expect)
    # And the missile still hits: the required acceleration stays finite for N > 2.
    assert s.miss_m[0] < 1.0


def test_augmented_pn_acceleration_decays_as_the_textbook_says() -> None:
    """Zero-lag APN against a step manoeuvre: n_c/n_T = (N/2) (1 - t/t_F)^(N-2)
    (Zarchan, 6th ed., ch. 8): it starts at N/2 and falls to zero at intercept,
    where PN needs N/(N-2)."""
    nt = 3.0 * G0
    vm, vt, r0, n_gain, dt = 3000.0, 300.0, 20_000.0, 4.0, 0.001
    s = MissileState.launch(np.zeros((1, 3)), np.array([[vm, 0.0, 0.0]]), np.ones(1))
    tpos, tvel = np.array([[r0, 0.0, 0.0]]), np.array([[-vt, 0.0, 0.0]])
    tacc = np.array([[0.0, nt, 0.0]])
    phys = physics(1, n_gain, augmented=np.ones(1, dtype=bool))
    s, hist = fly(s, phys, tpos, tvel, tacc, dt=dt)
    t_f = r0 / (vm + vt)
    for frac in (0.1, 0.3, 0.5):
        k = int(round(frac * t_f / dt))
        ratio = np.linalg.norm(hist[k][1][0]) / nt
        assert ratio == pytest.approx(n_gain / 2 * (1 - frac) ** (n_gain - 2), rel=0.05)
    assert s.miss_m[0] < 1.0


def test_vertical_launch_reaches_rocket_equation_apogee() -> None:
    """Drag off, constant gravity: burnout speed v_b = Isp g0 ln(m0/mf) - g tb, burnout
    height Isp g0 (tb - (mf/mdot) ln(m0/mf)) - g tb^2 / 2, apogee h_b + v_b^2 / (2 g)
    (Sutton & Biblarz, *Rocket Propulsion Elements*, ch. 4)."""
    m0, isp, tb, thrust = 1800.0, 250.0, 12.0, 90_000.0
    mdot = thrust / (isp * G0)
    mf = m0 - mdot * tb
    vb = isp * G0 * np.log(m0 / mf) - G0 * tb
    hb = isp * G0 * (tb - (mf / mdot) * np.log(m0 / mf)) - 0.5 * G0 * tb**2
    apogee = hb + vb**2 / (2 * G0)
    phys = physics(
        1,
        0.0,
        boost_thrust_n=np.full(1, thrust),
        boost_s=np.full(1, tb),
        isp_s=np.full(1, isp),
        gravity=True,
    )
    s = MissileState.launch(np.zeros((1, 3)), np.array([[0.0, 0.0, 1e-3]]), np.full(1, m0))
    far = np.array([[0.0, 0.0, 1e9]])  # a target far overhead: no guidance
    top = 0.0
    dt = 0.01
    for _ in range(int(200 / dt)):
        s, _ = step(s, phys, far, np.zeros((1, 3)), np.zeros((1, 3)), dt)
        top = max(top, float(s.pos_m[0, 2]))
        if s.vel_mps[0, 2] < 0:
            break
    assert top == pytest.approx(apogee, rel=0.01)
    assert s.mass_kg[0] == pytest.approx(mf, abs=2 * mdot * dt)  # to within the last step


def test_lateral_limit_shrinks_with_altitude() -> None:
    k = 2
    phys = physics(
        k,
        4.0,
        a_limit_mps2=np.full(k, 300.0),
        a_limit_floor_mps2=np.full(k, 5.0),
    )
    pos = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 30_000.0]])
    s = MissileState.launch(pos, np.array([[1000.0, 0.0, 0.0]] * 2), np.ones(k))
    # A target far off the nose demands a huge turn from both.
    tp = pos + np.array([2_000.0, 2_000.0, 0.0])
    _, a = step(s, phys, tp, np.zeros((k, 3)), np.zeros((k, 3)), 0.01)
    amag = np.linalg.norm(a, axis=1)
    # The step's mean of the limited commands at its start and end (1e-6 apart).
    assert amag[0] == pytest.approx(300.0, rel=1e-5)
    assert amag[1] == pytest.approx(max(300.0 * np.exp(-30_000 / 7200.0), 5.0), rel=1e-5)


def test_many_missiles_at_once_equal_one_by_one() -> None:
    rng = np.random.default_rng(3)
    k = 20
    pos = np.zeros((k, 3))
    vel = np.column_stack([rng.uniform(800, 1200, k), rng.uniform(-200, 200, k), np.zeros(k)])
    tpos = np.column_stack(
        [rng.uniform(8e3, 15e3, k), rng.uniform(-3e3, 3e3, k), rng.uniform(1e3, 5e3, k)]
    )
    tvel = np.column_stack([rng.uniform(-300, -100, k), np.zeros(k), np.zeros(k)])
    launch = MissileState.launch(pos, vel, np.ones(k))
    all_s, _ = fly(launch, physics(k, 4.0), tpos, tvel, np.zeros((k, 3)), dt=0.01)
    for i in (0, 7, 19):
        sl = slice(i, i + 1)
        launch = MissileState.launch(pos[sl], vel[sl], np.ones(1))
        one, _ = fly(launch, physics(1, 4.0), tpos[sl], tvel[sl], np.zeros((1, 3)), dt=0.01)
        assert one.miss_m[0] == pytest.approx(all_s.miss_m[i], rel=1e-9, abs=1e-9)


def test_compiled_kernel_equals_the_numpy_reference() -> None:
    """The numba loop and the numpy expressions are the same equations: random
    missiles (some done, some APN, some with a lift area, some exo-atmospheric)
    against random targets agree to rounding over 50 steps."""
    rng = np.random.default_rng(7)
    k = 257
    phys = MissilePhysics(
        boost_thrust_n=rng.uniform(0, 2e5, k),
        boost_s=rng.uniform(0, 10, k),
        sustain_thrust_n=rng.uniform(0, 3e4, k),
        sustain_s=rng.uniform(0, 20, k),
        isp_s=rng.uniform(200, 300, k),
        cd_area_m2=rng.uniform(0, 0.1, k),
        a_limit_mps2=rng.uniform(50, 500, k),
        a_limit_floor_mps2=rng.uniform(0, 30, k),
        nav_gain=rng.uniform(3, 5, k),
        augmented=rng.random(k) < 0.5,
        lift_area_m2=np.where(rng.random(k) < 0.5, rng.uniform(0.1, 2, k), np.nan),
        gravity_bias=True,
    )
    pos = rng.uniform(-1e4, 1e4, (k, 3))
    pos[:, 2] = rng.uniform(0, 8e4, k)
    s = MissileState.launch(pos, rng.normal(0, 600, (k, 3)), rng.uniform(300, 2000, k))
    s = replace(s, done=rng.random(k) < 0.1)
    tpos = pos + rng.uniform(-3e4, 3e4, (k, 3))
    tvel = rng.normal(0, 300, (k, 3))
    tacc = rng.normal(0, 30, (k, 3))
    a, b = s, s
    for _ in range(50):
        seen = tpos + rng.normal(0, 5.0, (k, 3))  # a noisy seeker's view
        a, la = step(a, phys, tpos, tvel, tacc, 0.05, backend="numba", guide_pos_m=seen)
        b, lb = step(b, phys, tpos, tvel, tacc, 0.05, backend="numpy", guide_pos_m=seen)
        for f in ("t_s", "pos_m", "vel_mps", "mass_kg", "miss_m", "t_end_s"):
            np.testing.assert_allclose(
                getattr(a, f), getattr(b, f), rtol=1e-9, atol=1e-6, equal_nan=True
            )
        assert np.array_equal(a.done, b.done)
        np.testing.assert_allclose(la, lb, rtol=1e-9, atol=1e-6)
        tpos = tpos + tvel * 0.05
    assert a.done.sum() > int(0.1 * k)  # some flights ended on the way
