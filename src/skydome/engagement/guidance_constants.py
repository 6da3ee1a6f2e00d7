"""Constants shared by the guided flyout's numpy reference (`guidance`) and its compiled loop.

Kept apart from both so `guidance_kernel` (which imports numba) need not import
`guidance`, and `guidance` (imported by kinematic runs and the scenario
compiler) need not import numba: no import cycle, numba only on first use.
`skydome.engagement.guidance` re-exports them; see its docstring for the model.
"""

from __future__ import annotations

__all__ = [
    "APN",
    "BLIND_STEPS",
    "CPA_NEWTON",
    "ENDGAME_TGO_S",
    "JERK_NONE",
    "KERNEL_COLUMNS",
    "LAWS",
    "PN",
    "PRESERVE_MIN_COS",
    "TPN",
    "VC_MIN_MPS",
    "ZEM",
]

LAWS = ("pn", "tpn", "apn", "zem")
"""Guidance laws; `MissilePhysics.law` holds indices into this tuple."""
PN, TPN, APN, ZEM = 0, 1, 2, 3
"""Indices of the laws in `LAWS`."""

PRESERVE_MIN_COS = 0.5
"""Command preservation divides by cos(lead) floored here (lead 60 deg): the
LOS-normal command is kept exactly up to 60 deg of lead; beyond, the applied
command stays within about twice it (2.1x at 70 deg, 2x at 90 deg)."""

VC_MIN_MPS = 1.0
"""Closing speed floor of the ZEM law's time to go R / V_c, m/s."""

JERK_NONE = 1e30
"""The compiled kernel's jerk limit for "none", m/s^3 (fastmath assumes no inf)."""

ENDGAME_TGO_S = 15.0
"""Within this time to go R / V_c (the homing phase) the step evaluates the
forces twice (Heun, second order); farther out it holds the start command
(first order, half the cost: long midcourse flights are most of the work)."""

BLIND_STEPS = 1.0
"""The blind range, in steps of time to go: closer to closest approach the
command is frozen at the achieved acceleration (a seeker's blind range). A
PN command grows as miss / t_go^2; sampled that close and held for a whole
step (through a lag) it would throw the missile off. Tied to the step, the
blind range vanishes as dt -> 0, so the step still converges to the ODE."""

CPA_NEWTON = 4
"""Newton iterations of the closest-approach time within the last step."""

KERNEL_COLUMNS = (
    "boost_thrust_n",
    "boost_s",
    "sustain_thrust_n",
    "sustain_s",
    "inv_ve",
    "cd_area_m2",
    "a_limit_mps2",
    "a_limit_floor_mps2",
    "lift_area_m2",
    "nav_gain",
    "tau_s",
    "jerk_limit_mps3",
    "lag_e",
    "lag_f",
)
"""Columns of the compiled kernel's (K, 14) parameter rows (`MissilePhysics.kernel_params`):
one row per missile, so a step reads one short contiguous row instead of 14
arrays (and numba unboxes one argument instead of 14)."""
(
    K_BOOST_T,
    K_BOOST_S,
    K_SUS_T,
    K_SUS_S,
    K_INV_VE,
    K_CDA,
    K_ALIM,
    K_AFLOOR,
    K_LIFT,
    K_NAV,
    K_TAU,
    K_JERK,
    K_LAG_E,
    K_LAG_F,
) = range(len(KERNEL_COLUMNS))
"""Indices of `KERNEL_COLUMNS`."""
