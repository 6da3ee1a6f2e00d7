"""Explicit, named random streams.

A replication has one seed. Each subsystem draws from its own stream, derived
from the seed and the subsystem's *name* (not its position in a list), so
adding a radar or a battery leaves every other subsystem's random numbers
unchanged: common random numbers when comparing designs.

A study seeded with `S` gives replication `i` the seed `replication_seed(S, i)`,
the same in every cell of a sweep, whatever the executor or the chunking.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["replication_seed", "stream"]


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


def replication_seed(study_seed: int, index: int) -> int:
    """The integer seed of replication `index` of a study seeded with `study_seed`.

    The first 64-bit word of the state of `SeedSequence(study_seed).spawn(index + 1)[index]`
    (which is `SeedSequence(study_seed, spawn_key=(index,))`), shifted right by
    one bit: independent streams for every replication, the same for every
    cell of a sweep.

    Args:
        study_seed: the study seed (non-negative).
        index: replication index (non-negative).

    Returns:
        A non-negative int below 2**63, accepted by `simulate(params, seed=...)`
        and by ``skydome run --seed``.

    Raises:
        ValueError: a negative seed or index.
    """
    if study_seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got {study_seed}, {index}")
    state = np.random.SeedSequence(study_seed, spawn_key=(index,)).generate_state(1, np.uint64)
    return int(state[0]) >> 1
