"""A planner comparison study: greedy, myopic WTA and look-ahead planning (issue 14).

Claim checked: the look-ahead planner reduces asset damage against the greedy
and the myopic WTA planners on `default` and on `drone-first`, with 95 %
intervals that do not overlap (or the table shows where it does not).

For each scenario and doctrine variant, the study machinery (`skydome.study`,
the code behind ``skydome mc``) runs `--reps` replications on `--jobs` local
processes. Every variant of a scenario uses the same study seed, so
replication i of every variant sees the same random numbers (common random
numbers): the paired differences against the first variant are reported too,
and their intervals are much narrower than the two separate intervals.

Printed per scenario (markdown):

- leakers, asset value lost (the scenario's value units; the share of all asset
  value in brackets), interceptor cost spent (sum over types of fired x the
  type's `cost`) and rounds fired per kill, each with its 95 % interval
  (Student's t for means, the delta method for the ratio, `skydome.stats`),
  and the mean wall time of one replication (seconds, on its worker);
- leakers by threat type (means);
- the paired differences against the first variant (value lost, leakers, cost).

A variant the scenario schema does not accept (e.g. `lookahead` before the
planner exists), or whose replications fail, is skipped with a note.

    python benchmarks/compare_planners.py [--reps 30] [--jobs 2]
        [--scenarios default,saturation,drone-first] [--variants greedy,wta,lookahead]
    python benchmarks/compare_planners.py --quick   # default and drone-first, 4 reps
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from skydome.errors import UserError  # noqa: E402
from skydome.scenario import Scenario, load_scenario, parse_scenario  # noqa: E402
from skydome.stats import Estimate, mean_estimate, ratio_estimate  # noqa: E402
from skydome.study import (  # noqa: E402
    ReplicationError,
    StudyOptions,
    StudyResult,
    plan_study,
    run_study,
)

VARIANTS: dict[str, dict[str, Any]] = {
    "greedy": {"planner": "greedy"},
    "wta": {"planner": "wta"},
    "lookahead": {"planner": "lookahead"},
    # Further variants, on request with --variants:
    "lookahead-adaptive": {"planner": "lookahead", "policy": "adaptive"},
    # The lookahead planner told the scenario's own raid sizes: what intelligence is worth.
    "lookahead-intel": {"planner": "lookahead", "policy": "adaptive", "perfect_intelligence": True},
    "wta-auto": {"planner": "wta", "wta_solver": "auto"},
    "greedy-sls1": {"planner": "greedy", "salvo_size": 1},
    "wta-sls1": {"planner": "wta", "salvo_size": 1},
    "lookahead-sls1": {"planner": "lookahead", "salvo_size": 1},
}
"""Doctrine overrides per variant name (applied to the scenario's own doctrine)."""

DEFAULT_VARIANTS = ("greedy", "wta", "lookahead")
DEFAULT_SCENARIOS = ("default", "saturation", "drone-first")
QUICK_SCENARIOS = ("default", "drone-first")
QUICK_REPS = 4


@dataclass(frozen=True)
class Cell:
    """One scenario x variant: per-replication columns and their estimates.

    Attributes:
        scenario: built-in name or file.
        variant: variant name.
        n: replications.
        leaked: (n,) leakers per replication.
        value_lost: (n,) asset value lost per replication (scenario value units).
        value_total: total asset value at the start.
        cost: (n,) interceptor cost spent per replication (scenario cost units).
        fired: (n,) interceptors fired.
        killed: (n,) threats killed.
        leaked_by_type: threat type -> (n,) leakers of that type.
        wall_s: (n,) wall time of each replication on its worker, s.
        elapsed_s: wall time of the whole cell (all replications, on `jobs` workers), s.
        seed: the study seed (replication i ran with `replication_seed(seed, i)`).
    """

    scenario: str
    variant: str
    n: int
    leaked: np.ndarray[Any, Any]
    value_lost: np.ndarray[Any, Any]
    value_total: float
    cost: np.ndarray[Any, Any]
    fired: np.ndarray[Any, Any]
    killed: np.ndarray[Any, Any]
    leaked_by_type: dict[str, np.ndarray[Any, Any]]
    wall_s: np.ndarray[Any, Any]
    elapsed_s: float
    seed: int | None = None


def variant_scenario(base: Scenario, change: dict[str, Any]) -> Scenario:
    """The scenario with its doctrine overridden, validated like any scenario file.

    Raises:
        UserError: the schema does not accept the override.
    """
    data = base.model_dump(mode="json")
    data["doctrine"] = {**data.get("doctrine", {}), **change}
    return parse_scenario(yaml.safe_dump(data, sort_keys=False))


def _col(r: StudyResult, name: str) -> np.ndarray[Any, Any]:
    return np.asarray(r.table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)


def run_cell(name: str, variant: str, sc: Scenario, reps: int, jobs: int, seed: int) -> Cell:
    """Run `reps` replications of one scenario variant on `jobs` processes."""
    t0 = time.perf_counter()
    plan = plan_study(sc, seed=seed)
    r = run_study(plan, StudyOptions(n=reps, jobs=jobs))
    elapsed = time.perf_counter() - t0
    params = plan.cells[0].params
    value_total = float(params.assets.value.sum())
    cost = np.zeros(reps)
    for i, m in enumerate(params.missiles.names):
        cost += _col(r, f"fired.{m}") * float(params.missiles.cost[i])
    return Cell(
        scenario=name,
        variant=variant,
        n=reps,
        leaked=_col(r, "leaked"),
        # `damage` is the share of all asset value destroyed (study metric).
        value_lost=_col(r, "damage") * value_total,
        value_total=value_total,
        cost=cost,
        fired=_col(r, "fired"),
        killed=_col(r, "killed"),
        leaked_by_type={t: _col(r, f"leaked.{t}") for t in params.threats.type_names},
        wall_s=_col(r, "wall_s"),
        elapsed_s=elapsed,
        seed=seed,
    )


def _ci(e: Estimate, digits: int = 1) -> str:
    if not math.isfinite(e.estimate):
        return "-"
    if not math.isfinite(e.lo):
        return f"{e.estimate:.{digits}f}"
    return f"{e.estimate:.{digits}f} [{e.lo:.{digits}f}, {e.hi:.{digits}f}]"


def table_main(cells: list[Cell]) -> str:
    """Leakers, value lost, cost, rounds per kill, wall time: one row per variant."""
    lines = [
        "| variant | n | leakers | value lost (share) | interceptor cost | rounds per kill "
        "| wall s per run |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        lost = mean_estimate(c.value_lost)
        share = lost.estimate / c.value_total if c.value_total else math.nan
        lines.append(
            f"| {c.variant} | {c.n} | {_ci(mean_estimate(c.leaked))} "
            f"| {_ci(lost)} ({share:.0%}) | {_ci(mean_estimate(c.cost))} "
            f"| {_ci(ratio_estimate(c.fired, c.killed), 2)} | {float(np.mean(c.wall_s)):.1f} |"
        )
    return "\n".join(lines)


def table_types(cells: list[Cell]) -> str:
    """Mean leakers per threat type: one row per variant."""
    types = list(cells[0].leaked_by_type)
    lines = [
        "| variant | " + " | ".join(types) + " |",
        "|---|" + "---|" * len(types),
    ]
    for c in cells:
        vals = " | ".join(f"{float(np.mean(c.leaked_by_type[t])):.1f}" for t in types)
        lines.append(f"| {c.variant} | {vals} |")
    return "\n".join(lines)


def table_paired(cells: list[Cell]) -> str:
    """Paired differences (variant - first variant), replication by replication (CRN)."""
    ref = cells[0]
    lines = [
        f"| variant - {ref.variant} | value lost | leakers | interceptor cost |",
        "|---|---|---|---|",
    ]
    for c in cells[1:]:
        if c.n != ref.n:
            lines.append(f"| {c.variant} | - | - | - |")
            continue
        lines.append(
            f"| {c.variant} | {_ci(mean_estimate(c.value_lost - ref.value_lost))} "
            f"| {_ci(mean_estimate(c.leaked - ref.leaked))} "
            f"| {_ci(mean_estimate(c.cost - ref.cost))} |"
        )
    return "\n".join(lines)


def _cell_json(c: Cell) -> dict[str, Any]:
    return {
        "scenario": c.scenario,
        "variant": c.variant,
        "n": c.n,
        "seed": c.seed,
        "leaked": mean_estimate(c.leaked).to_dict(),
        "value_lost": mean_estimate(c.value_lost).to_dict(),
        "value_total": c.value_total,
        "interceptor_cost": mean_estimate(c.cost).to_dict(),
        "rounds_per_kill": ratio_estimate(c.fired, c.killed).to_dict(),
        "leaked_by_type": {t: float(np.mean(v)) for t, v in c.leaked_by_type.items()},
        "wall_s_per_run": float(np.mean(c.wall_s)),
        "elapsed_s": c.elapsed_s,
        # Per replication, in replication order, so saved cells can be tabled (and
        # paired) again with --from-json.
        "replications": {
            "leaked": c.leaked.tolist(),
            "value_lost": c.value_lost.tolist(),
            "cost": c.cost.tolist(),
            "fired": c.fired.tolist(),
            "killed": c.killed.tolist(),
            "wall_s": c.wall_s.tolist(),
            "leaked_by_type": {t: v.tolist() for t, v in c.leaked_by_type.items()},
        },
    }


def _cell_from_json(d: dict[str, Any]) -> Cell:
    reps = d["replications"]

    def arr(x: list[float]) -> np.ndarray[Any, Any]:
        return np.asarray(x, dtype=np.float64)

    return Cell(
        scenario=d["scenario"],
        variant=d["variant"],
        n=int(d["n"]),
        leaked=arr(reps["leaked"]),
        value_lost=arr(reps["value_lost"]),
        value_total=float(d["value_total"]),
        cost=arr(reps["cost"]),
        fired=arr(reps["fired"]),
        killed=arr(reps["killed"]),
        leaked_by_type={t: arr(v) for t, v in reps["leaked_by_type"].items()},
        wall_s=arr(reps["wall_s"]),
        elapsed_s=float(d["elapsed_s"]),
        seed=d.get("seed"),
    )


def print_scenario(name: str, seed: int | None, cells: list[Cell], skipped: list[str]) -> None:
    """The markdown tables of one scenario."""
    print(f"## {name}" + (f" (study seed {seed})" if seed is not None else "") + "\n")
    for s in skipped:
        print(f"- skipped: {s}")
    if not cells:
        print()
        return
    if skipped:
        print()
    print(table_main(cells) + "\n")
    print("Leakers by threat type (means):\n")
    print(table_types(cells) + "\n")
    if len(cells) > 1 and len({c.seed for c in cells}) == 1:
        print("Paired differences (common random numbers), 95 % intervals:\n")
        print(table_paired(cells) + "\n")


def table_saved(paths: list[Path], variants: str | None) -> int:
    """Print the tables of cells saved with --json (several files merge; variant order kept)."""
    saved = [_cell_from_json(d) for p in paths for d in json.loads(p.read_text("utf-8"))]
    order = _names(variants, tuple(dict.fromkeys(c.variant for c in saved)))
    print(
        "# Planner comparison (saved cells): 95 % intervals (t; delta method for rounds per "
        "kill); paired differences where every cell used the same study seed\n"
    )
    for name in dict.fromkeys(c.scenario for c in saved):
        cells = [c for v in order for c in saved if c.scenario == name and c.variant == v]
        print_scenario(name, cells[0].seed if cells else None, cells, [])
    return 0


def _names(text: str | None, default: tuple[str, ...]) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()] if text else list(default)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print markdown tables; return the exit status."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--reps", type=int, default=None, help="replications per cell (default 30)")
    ap.add_argument("--jobs", type=int, default=2, help="local worker processes (default 2)")
    ap.add_argument("--scenarios", default=None, help="comma-separated built-ins or files")
    ap.add_argument(
        "--variants",
        default=None,
        help=f"comma-separated, of: {', '.join(VARIANTS)} (default: {','.join(DEFAULT_VARIANTS)})",
    )
    ap.add_argument("--seed", type=int, default=None, help="study seed (default: the scenario's)")
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_REPS} reps on {' and '.join(QUICK_SCENARIOS)} (a few minutes at most)",
    )
    ap.add_argument(
        "--json",
        type=Path,
        default=None,
        help="also write the estimates and per-replication values here (after every cell)",
    )
    ap.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        default=None,
        help="run nothing: table the cells saved by earlier --json runs (same seeds pair up)",
    )
    args = ap.parse_args(argv)
    if args.from_json is not None:
        return table_saved(args.from_json, args.variants)
    reps = args.reps if args.reps is not None else (QUICK_REPS if args.quick else 30)
    scenarios = _names(args.scenarios, QUICK_SCENARIOS if args.quick else DEFAULT_SCENARIOS)
    variants = _names(args.variants, DEFAULT_VARIANTS)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or reps < 2:
        ap.error(f"unknown variants {unknown}" if unknown else "--reps: at least 2 for intervals")

    print(
        f"# Planner comparison: {reps} replications per cell, {args.jobs} worker processes, "
        "95 % intervals (t; delta method for rounds per kill); common random numbers "
        "across the variants of a scenario\n"
    )
    out: list[dict[str, Any]] = []
    t_all = time.perf_counter()
    for name in scenarios:
        base = load_scenario(name)
        seed = base.run.seed if args.seed is None else args.seed
        cells: list[Cell] = []
        skipped: list[str] = []
        for v in variants:
            try:
                sc = variant_scenario(base, VARIANTS[v])
            except UserError as e:
                first = str(e).strip().splitlines()
                skipped.append(f"{v} ({' '.join(s.strip() for s in first[:2])})")
                continue
            print(f"[{name}: {v}, {reps} reps ...]", file=sys.stderr, flush=True)
            try:
                cells.append(run_cell(name, v, sc, reps, args.jobs, seed))
            except ReplicationError as e:  # a defect in one variant: report it, go on
                skipped.append(f"{v} failed: {str(e).splitlines()[0]}")
                print(f"[... failed: {e}]", file=sys.stderr, flush=True)
                continue
            print(f"[... {cells[-1].elapsed_s:.0f} s]", file=sys.stderr, flush=True)
            if args.json is not None:  # after every cell: an interrupted study keeps its cells
                done = out + [_cell_json(c) for c in cells]
                args.json.write_text(json.dumps(done, indent=2) + "\n", encoding="utf-8")
        print_scenario(name, seed, cells, skipped)
        out += [_cell_json(c) for c in cells]
    print(f"total wall time {time.perf_counter() - t_all:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
