"""Compiled converted-measurement covariances (numba).

`radar.polar_covariance` forms J diag(sigma^2) J^T through numpy's stacked matmul,
one BLAS call per 3 x 3 product (~0.5 us a detection). This kernel forms each
detection's product in registers with BLAS's operations (`skydome.fused`: a
fused multiply-add chain per entry), the Jacobian and the scaling as the numpy
form computes them, so the covariances are `radar.polar_covariance_reference`'s
bit for bit on the project's machines (`tools/compare_runs.py`) and equal to
1e-12 anywhere (`tests/test_radar.py`). Importing this module imports numba.
"""

from __future__ import annotations

import numba
import numpy as np

from skydome.arrays import F64
from skydome.fused import fma

__all__ = ["polar_covariance_kernel"]


@numba.njit(cache=True, error_model="numpy")
def polar_covariance_kernel(
    slant_m: F64, sa: F64, ca: F64, se: F64, ce: F64, var: F64, out: F64
) -> None:
    """(J * var) J^T of every detection, into `out` (M, 3, 3).

    Args:
        slant_m: (M,) slant range, m.
        sa: (M,) sine of the azimuth.
        ca: (M,) its cosine.
        se: (M,) sine of the elevation.
        ce: (M,) its cosine.
        var: (M, 3) variances of (range, azimuth, elevation).
        out: (M, 3, 3) written.
    """
    j = np.empty((3, 3))
    js = np.empty((3, 3))
    for m in range(slant_m.shape[0]):
        rc = slant_m[m] * ce[m]
        rs = slant_m[m] * se[m]
        j[0, 0], j[1, 0], j[2, 0] = ce[m] * sa[m], ce[m] * ca[m], se[m]
        j[0, 1], j[1, 1], j[2, 1] = rc * ca[m], -(rc * sa[m]), 0.0
        j[0, 2], j[1, 2], j[2, 2] = -(rs * sa[m]), -(rs * ca[m]), rc
        for a in range(3):
            for b in range(3):
                js[a, b] = j[a, b] * var[m, b]
        for a in range(3):
            for b in range(3):
                acc = js[a, 0] * j[b, 0]
                acc = fma(js[a, 1], j[b, 1], acc)
                out[m, a, b] = fma(js[a, 2], j[b, 2], acc)
