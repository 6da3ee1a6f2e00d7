"""Claim (physics issue): 1,000 guided interceptors integrate >= 1,000x faster than real time.

Part 1 measures the vectorised 3-DOF kernel (`skydome.engagement.guidance.step`):
1,000 missiles with thrust, drag, gravity, altitude-limited PN against 1,000
constant-velocity targets, median of several runs, for a few time steps.

Part 2 runs the built-in default scenario with `run.flyout: kinematic` and
`guided` side by side (alternating, median of the repeats) and prints the cost
of the guided fidelity level.

    python benchmarks/bench_flyout.py [--missiles 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from skydome.engagement.guidance import MissilePhysics, MissileState, step  # noqa: E402


def setup(k: int, seed: int) -> tuple[MissileState, MissilePhysics, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vel = np.column_stack([np.full(k, 300.0), np.zeros(k), np.full(k, 300.0)])
    phys = MissilePhysics(
        boost_thrust_n=np.full(k, 150_000.0),
        boost_s=np.full(k, 6.0),
        sustain_thrust_n=np.full(k, 20_000.0),
        sustain_s=np.full(k, 10.0),
        isp_s=np.full(k, 250.0),
        cd_area_m2=np.full(k, 0.3 * 0.126),
        a_limit_mps2=np.full(k, 400.0),
        a_limit_floor_mps2=np.full(k, 20.0),
        nav_gain=np.full(k, 4.0),
        augmented=np.zeros(k, dtype=bool),
    )
    tpos = np.column_stack(
        [rng.uniform(40e3, 80e3, k), rng.uniform(-20e3, 20e3, k), rng.uniform(1e3, 12e3, k)]
    )
    tvel = np.column_stack([rng.uniform(-300, -200, k), np.zeros(k), np.zeros(k)])
    s = MissileState.launch(np.zeros((k, 3)), vel, np.full(k, 1800.0))
    return s, phys, tpos, tvel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--missiles", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sim-seconds", type=float, default=20.0)
    args = ap.parse_args()
    k = args.missiles
    print(f"{'dt s':>6} {'missiles':>9} {'steps':>6} {'wall s (median)':>16} {'x real time':>12}")
    for dt in (0.1, 0.05, 0.02):
        n = int(args.sim_seconds / dt)
        walls = []
        for rep in range(args.repeats):
            s, phys, tpos, tvel = setup(k, rep)
            zero = np.zeros((k, 3))
            t0 = time.perf_counter()
            for i in range(n):
                s, _ = step(s, phys, tpos + tvel * (i * dt), tvel, zero, dt)
            walls.append(time.perf_counter() - t0)
        med = statistics.median(walls)
        print(f"{dt:>6} {k:>9} {n:>6} {med:>16.3f} {args.sim_seconds / med:>12,.0f}")
    scenario_table(args.repeats)


def scenario_table(repeats: int) -> None:
    from skydome import compile_scenario, load_scenario, simulate
    from skydome.results import summarize

    base = load_scenario("default")
    params = {
        mode: compile_scenario(
            base.model_copy(update={"run": base.run.model_copy(update={"flyout": mode})})
        )
        for mode in ("kinematic", "guided")
    }
    walls: dict[str, list[float]] = {mode: [] for mode in params}
    kills: dict[str, int] = {}
    for _ in range(repeats):
        for mode, p in params.items():  # alternate, so both see the same machine load
            t0 = time.perf_counter()
            r = simulate(p, seed=1)
            walls[mode].append(time.perf_counter() - t0)
            kills[mode] = int(summarize(r)["threats"]["killed"])
    print()
    print(f"{'default scenario':<17} {'wall s (median)':>16} {'x real time':>12} {'kills':>6}")
    sim = params["kinematic"].duration_s
    for mode, w in walls.items():
        med = statistics.median(w)
        print(f"{mode:<17} {med:>16.2f} {sim / med:>12,.0f} {kills[mode]:>6}")
    ratio = statistics.median(walls["guided"]) / statistics.median(walls["kinematic"])
    print(f"guided / kinematic wall time: {ratio:.2f}")


if __name__ == "__main__":
    main()
