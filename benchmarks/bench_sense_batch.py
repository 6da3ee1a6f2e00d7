"""Batched sensing (issue 16): R replications' truth and radar scans at once vs a loop.

One "scan" here is the engine's sense stage at one time for one radar: truth of
every threat, jammers, and that radar's detections, for R replications. The loop
does it as the single engine does, replication by replication
(`Threats.state_at`, `RadarSensor.detect`); the batch calls
`skydome.engine.sense_batch` once for all R. The replications are real states of
the built-in default scenario (single engine stepped to a few times, several
seeds), and every radar scans at each of those times; the figures are the median
over alternating repeats of the ms per radar scan.

    python benchmarks/bench_sense_batch.py [--scenario default] [--reps 16 64 256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from skydome.arrays import F64  # noqa: E402
from skydome.engine import sense_batch as rb  # noqa: E402
from skydome.engine.stages import RadarSensor, default_pipeline  # noqa: E402
from skydome.engine.state import SimState  # noqa: E402
from skydome.engine.step import Rngs, step  # noqa: E402
from skydome.scenario import compile_scenario, load_scenario  # noqa: E402
from skydome.scenario.compile import SimParams  # noqa: E402
from skydome.sensors.jamming import Jammers  # noqa: E402

Rep = tuple[F64, F64, tuple[np.random.Generator, ...]]
"""One replication's state: kill times, evasive-break starts, radar streams."""


def states(
    scenario: str, seeds: int, times: list[float]
) -> tuple[SimParams, RadarSensor, dict[float, list[Rep]]]:
    """Compiled scenario, sensor, and per time a list of (kill, evade, radar rngs) per seed."""
    params = compile_scenario(load_scenario(scenario))
    pipe = default_pipeline(params)
    assert isinstance(pipe.sensor, RadarSensor)
    out: dict[float, list[Rep]] = {t: [] for t in times}
    for seed in range(1, seeds + 1):
        rngs = Rngs.from_seed(seed, params.radars.names)
        st = SimState.initial(params, pipe.flyout.empty())
        k = 0
        for t in times:
            while k * params.step_s < t:
                k += 1
                st, _ = step(pipe, st, k * params.step_s, rngs)
            w = st.world
            out[t].append((w.kill_time_s.copy(), w.evade_start_s.copy(), copy.deepcopy(rngs.radar)))
    return params, pipe.sensor, out


def run_loop(
    sensor: RadarSensor, t: float, reps: list[Rep], gens: list[list[np.random.Generator]]
) -> int:
    """The single engine's sense stage, replication by replication, every radar."""
    th = sensor.threats
    m = 0
    for k, (kill, ev, _) in enumerate(reps):
        in_sky = (th.launch_s <= t) & (t < th.end_s) & (kill > t)
        pos, _ = th.state_at(t, evade_start_s=ev)
        on = in_sky & (th.jam_erp_w > 0.0)
        jam = Jammers(pos[on], th.jam_erp_w[on], th.jam_bandwidth_hz[on])
        for r in range(sensor.radars.n):
            m += sensor.detect(r, t, pos, in_sky, jam, gens[r][k]).n
    return m


def run_batch(
    sensor: RadarSensor,
    t: float,
    kill: F64,
    ev: F64,
    n_reps: int,
    gens: list[list[np.random.Generator]],
) -> int:
    """The same with `radar_batch`."""
    th = sensor.threats
    in_sky = rb.in_sky_batch(th, t, kill, n_reps)
    pos, _ = rb.truth_batch(th, t, ev, n_reps)
    jam, jrep = rb.jammers_batch(th, pos, in_sky, n_reps)
    m = 0
    for r in range(sensor.radars.n):
        det, _ = rb.detect_batch(sensor, r, t, pos, in_sky, jam, jrep, gens[r], n_reps)
        m += det.n
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--reps", type=int, nargs="+", default=[16, 64, 256])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--times", type=float, nargs="+", default=[200.0, 400.0, 700.0])
    a = ap.parse_args()
    params, sensor, snaps = states(a.scenario, a.seeds, a.times)
    n_radars = params.radars.n
    print(f"{a.scenario}: {params.threats.n} threats, {n_radars} radars, times {a.times}")
    print(f"{'R':>5} {'loop ms/scan':>13} {'batch ms/scan':>14} {'batch/loop':>11}")
    for n_reps in a.reps:
        loop_ms, batch_ms = [], []
        for _ in range(a.repeats):
            for t in a.times:
                reps = [snaps[t][k % len(snaps[t])] for k in range(n_reps)]
                kill = np.concatenate([x[0] for x in reps])
                ev = np.concatenate([x[1] for x in reps])
                g_loop = [[copy.deepcopy(x[2][r]) for x in reps] for r in range(n_radars)]
                g_batch = [[copy.deepcopy(x[2][r]) for x in reps] for r in range(n_radars)]
                t0 = time.perf_counter()
                m1 = run_loop(sensor, t, reps, g_loop)
                t1 = time.perf_counter()
                m2 = run_batch(sensor, t, kill, ev, n_reps, g_batch)
                t2 = time.perf_counter()
                assert m1 == m2, (m1, m2)
                loop_ms.append((t1 - t0) * 1e3 / n_radars)
                batch_ms.append((t2 - t1) * 1e3 / n_radars)
        lo, ba = statistics.median(loop_ms), statistics.median(batch_ms)
        print(f"{n_reps:>5} {lo:>13.2f} {ba:>14.2f} {ba / lo:>10.1%}")


if __name__ == "__main__":
    main()
