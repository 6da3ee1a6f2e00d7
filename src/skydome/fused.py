"""A fused multiply-add for the compiled kernels (numba): `fma(a, b, c)` = a * b + c, one rounding.

BLAS accumulates every entry of a small matrix product as a chain of fused
multiply-adds over the inner index, `acc = a_0 b_0; acc = fma(a_k, b_k, acc)`
(OpenBLAS's dgemm and small-matrix kernels); a kernel that forms its products
with `fma` in that order reproduces numpy's stacked matmul bit for bit without
its per-matrix call overhead. `llvm.fma` is correctly rounded on every machine
(in software where the hardware has no FMA unit), so such a kernel's results do
not depend on the CPU. Importing this module imports numba.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from numba import types
from numba.extending import intrinsic

__all__ = ["fma"]


@intrinsic
def _fma_intrinsic(typingctx: Any, a: Any, b: Any, c: Any) -> Any:  # noqa: ARG001
    """The product a * b plus c, rounded once (llvm.fma.f64)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:  # noqa: ARG001
        return builder.fma(*args)

    return sig, codegen


fma = cast(Callable[[float, float, float], float], _fma_intrinsic)
"""a * b + c with one rounding, callable from numba-compiled code only."""
