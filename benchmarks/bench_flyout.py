"""Claim (physics issue): 1,000 guided interceptors integrate >= 1,000x faster than real time.

Part 1 measures the vectorised 3-DOF kernel (`skydome.engagement.guidance.step`):
1,000 missiles with thrust, drag, gravity, altitude-limited PN against 1,000
constant-velocity targets, median of several runs, for a few time steps. With
`--reference FILE` (another version of the guidance module, e.g. the kernel
before issue 12: `git show a15063c~1:src/skydome/engagement/guidance.py >
/tmp/guidance_ref.py`) it alternates the two in one process, run by run, and
reports the median wall-time ratio of the pairs: on a shared host the load
changes between runs, and only the pairs see the same machine.

Part 2 runs the built-in default scenario with `run.flyout: kinematic` and
`guided` side by side (alternating, median of the repeats) and prints the cost
of the guided fidelity level.

    python benchmarks/bench_flyout.py [--missiles 1000] [--repeats 5] [--reference FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from types import ModuleType
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from skydome.engagement import guidance  # noqa: E402


def setup(mod: Any, k: int, seed: int) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """Missiles (state, physics) of guidance module `mod`, and their targets."""
    rng = np.random.default_rng(seed)
    vel = np.column_stack([np.full(k, 300.0), np.zeros(k), np.full(k, 300.0)])
    phys = mod.MissilePhysics(
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
    s = mod.MissileState.launch(np.zeros((k, 3)), vel, np.full(k, 1800.0))
    return s, phys, tpos, tvel


def fly(mod: Any, k: int, dt: float, seed: int, sim_s: float) -> float:
    """Wall time of `sim_s` simulated seconds of `k` missiles with `mod.step`."""
    s, phys, tpos, tvel = setup(mod, k, seed)
    zero = np.zeros((k, 3))
    n = int(sim_s / dt)
    t0 = time.perf_counter()
    for i in range(n):
        s, _ = mod.step(s, phys, tpos + tvel * (i * dt), tvel, zero, dt)
    return time.perf_counter() - t0


def load_reference(path: str) -> ModuleType:
    """A guidance module from a file, importable by name (numba's cache needs it)."""
    spec = importlib.util.spec_from_file_location("guidance_reference", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--missiles", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sim-seconds", type=float, default=20.0)
    ap.add_argument("--reference", help="a guidance module file to alternate with")
    ap.add_argument("--no-scenario", action="store_true", help="Part 1 only")
    args = ap.parse_args()
    k, sim = args.missiles, args.sim_seconds
    mods = {"kernel": guidance}
    if args.reference:
        mods["reference"] = load_reference(args.reference)
    for mod in mods.values():
        fly(mod, k, 0.05, 0, 1.0)  # compile (or load numba's cache)
    head = f"{'dt s':>6} {'missiles':>9} {'steps':>6}"
    cols = "".join(f" {name + ' x real time':>24}" for name in mods)
    print(head + cols + (f" {'wall ratio (pairs)':>19}" if len(mods) > 1 else ""))
    for dt in (0.1, 0.05, 0.02):
        walls: dict[str, list[float]] = {name: [] for name in mods}
        ratios = []
        for rep in range(args.repeats):
            order = list(mods.items()) if rep % 2 == 0 else list(mods.items())[::-1]
            pair = {name: fly(mod, k, dt, rep, sim) for name, mod in order}
            for name, w in pair.items():
                walls[name].append(w)
            if len(mods) > 1:
                ratios.append(pair["kernel"] / pair["reference"])
        line = f"{dt:>6} {k:>9} {int(sim / dt):>6}"
        line += "".join(f" {sim / statistics.median(w):>24,.0f}" for w in walls.values())
        if ratios:
            line += f" {statistics.median(ratios):>19.3f}"
        print(line, flush=True)
    if not args.no_scenario:
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
