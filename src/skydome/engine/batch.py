"""`simulate_batch`: many replications of one scenario stepped together.

A Monte Carlo study runs one scenario hundreds of times with different seeds.
One replication of `default` is ~1,800 steps in which every stage works on a
few dozen rows, so its time goes to per-call overhead, not arithmetic.
`simulate_batch` steps R replications as one struct-of-arrays program (the
Brax/JAX pattern of vectorising over environments, in numpy): every threat,
track, detection and missile row carries its replication, the stages work on
all rows at once, and association, assignment and kill assessment never cross
replications. Each replication keeps its own named random streams, drawn with
the same calls as a single run, so replication k of a batch is byte-identical
to `simulate(params, seed=seeds[k])`.

A scenario whose stages the batched step does not cover (`unbatched_reason`)
runs its replications one after the other: same results, no speed-up.
"""

from __future__ import annotations

from collections.abc import Sequence

from skydome.engine.pipeline import Pipeline
from skydome.engine.simulate import ProgressFn, RunResult, simulate
from skydome.engine.stages import default_pipeline
from skydome.scenario.compile import SimParams

__all__ = [
    "AUTO_BATCH_MAX",
    "auto_batch_size",
    "simulate_batch",
    "unbatched_reason",
]

AUTO_BATCH_MAX = 256
"""The largest batch chosen automatically: beyond it the per-call overhead is long gone
(`benchmarks/bench_batch.py`) and only memory grows."""

_BATCH_MEMORY_BYTES = 2 << 30
"""Memory a batch may use, for `auto_batch_size`."""


def auto_batch_size(params: SimParams) -> int:
    """How many replications of `params` to step together by default.

    1 when the scenario uses what the batched step does not cover; else as many
    as fit `_BATCH_MEMORY_BYTES` at the measured per-replication memory (event
    log and state grow with the threats and the simulated time), at most
    `AUTO_BATCH_MAX`.
    """
    from skydome.engine import batch_step

    if batch_step.unsupported_params(params) is not None:
        return 1
    return max(1, min(AUTO_BATCH_MAX, _BATCH_MEMORY_BYTES // replication_bytes(params)))


def replication_bytes(params: SimParams) -> int:
    """Estimated peak memory of one replication in a batch, bytes.

    Measured by `benchmarks/bench_batch.py` at R = 256: 0.28 MB per replication for
    `default` (60 threats), 2.25 MB for `saturation` (500); with a margin.
    """
    return int(100_000 + 6_000 * params.threats.n)


def unbatched_reason(pipe: Pipeline) -> str | None:
    """Why the scenario's replications cannot be stepped together (None: they can).

    Args:
        pipe: the scenario's stages.
    """
    from skydome.engine import batch_step

    return batch_step.unsupported(pipe)


def simulate_batch(
    params: SimParams,
    seeds: Sequence[int],
    *,
    pipeline: Pipeline | None = None,
    progress: ProgressFn | None = None,
    batched: bool = True,
) -> list[RunResult]:
    """Run one replication of `params` per seed, stepped together where possible.

    Args:
        params: the compiled scenario.
        seeds: (R,) replication seeds.
        pipeline: the stages; `default_pipeline(params)` if None.
        progress: called now and then with the fraction of simulated time done
            (of the whole batch).
        batched: False: run the replications one after the other (the
            reference the batched step is tested against).

    Returns:
        R results, in the order of `seeds`; result k equals
        `simulate(params, seed=seeds[k], pipeline=pipeline)` byte for byte.
    """
    seeds = [int(s) for s in seeds]
    if pipeline is not None and pipeline.params is not params:
        raise ValueError("simulate_batch: pipeline.params is not the scenario passed as params")
    pipe = default_pipeline(params) if pipeline is None else pipeline
    if not seeds:
        return []
    if batched and unbatched_reason(pipe) is None:
        from skydome.engine import batch_step

        return batch_step.run(pipe, seeds, progress)
    out = []
    for i, seed in enumerate(seeds):
        part = None
        if progress is not None:
            done, n = i, len(seeds)

            def part(f: float, done: int = done, n: int = n) -> None:
                progress((done + f) / n)

        out.append(simulate(params, seed=seed, pipeline=pipe, progress=part))
    return out
