"""Explicit, named random streams.

A replication has one seed. Each subsystem draws from its own stream, derived
from the seed and the subsystem's *name* (not its position in a list), so
adding a radar or a battery leaves every other subsystem's random numbers
unchanged: common random numbers when comparing designs.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["stream"]


def stream(seed: int, *names: str) -> np.random.Generator:
    """A generator for the subsystem named by `names` (e.g. ``("radar", "91N6")``).

    Args:
        seed: the replication seed (non-negative int).
        names: path of the subsystem; equal paths give equal streams.

    Returns:
        An independent `numpy.random.Generator` (PCG64).
    """
    key = tuple(zlib.crc32(n.encode("utf-8")) for n in names)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))
