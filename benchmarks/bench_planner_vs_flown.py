"""Claim (issue 12): in guided runs the planner's time to intercept agrees with the flown one.

For guided runs (`run.flyout: guided`) of each built-in scenario over a few
seeds, every missile's predicted time to intercept at launch (the planner's
`t_intercept - t_launch`) is compared with its flown time (launch to the end
of its flight at closest approach: kill events, and misses by Pk or beyond
the lethal radius; flights that ended spent or without a target are left
out). Two planners side by side:

- before: average speed in a straight line (`AverageSpeedIntercept`, what the
  kinematic flyout uses);
- after: the types' own flights, tabled (`FlyoutTableIntercept`, the default
  for guided runs).

Prints, per scenario and planner, the median and 90th percentile of
|predicted - flown| / flown, the count of flights compared and the table's
build time.

    python benchmarks/bench_planner_vs_flown.py [--seeds 3] [--scenarios default saturation]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field, replace

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from skydome.engagement.flyout import InFlight  # noqa: E402
from skydome.engine import simulate  # noqa: E402
from skydome.engine.pipeline import Flyout, Pipeline  # noqa: E402
from skydome.engine.stages import (  # noqa: E402
    AverageSpeedIntercept,
    FlyoutTableIntercept,
    default_pipeline,
)
from skydome.engine.state import Missiles  # noqa: E402
from skydome.events import EVENT_KINDS, MISS_NOTES  # noqa: E402
from skydome.scenario import compile_scenario, load_scenario  # noqa: E402
from skydome.scenario.compile import SimParams  # noqa: E402
from skydome.tracking.base import TrackState  # noqa: E402


@dataclass(frozen=True)
class RecordingFlyout:
    """A flyout stage that remembers each launch's predicted time to intercept (benchmark only)."""

    inner: Flyout
    predicted: dict[int, tuple[int, float]] = field(default_factory=dict)

    def empty(self) -> Missiles:
        """The inner flyout's empty missiles."""
        return self.inner.empty()

    def launch(self, missiles: Missiles, new: InFlight, picture: TrackState) -> Missiles:
        """Remember each new missile's predicted time to intercept; launch it."""
        for i, mt, tl, ti in zip(
            new.missile_id, new.mtype, new.t_launch_s, new.t_intercept_s, strict=True
        ):
            self.predicted[int(i)] = (int(mt), float(ti - tl))
        return self.inner.launch(missiles, new, picture)

    def advance(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        """The inner flyout's advance."""
        return self.inner.advance(*args, **kwargs)


def errors(params: SimParams, pipe: Pipeline, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(relative error, missile type) of every flight that ended at closest approach."""
    rec = RecordingFlyout(pipe.flyout)
    r = simulate(params, seed=seed, pipeline=replace(pipe, flyout=rec))
    ev = r.events
    kill, miss = EVENT_KINDS.index("kill"), EVENT_KINDS.index("miss")
    cpa_notes = [MISS_NOTES.index(n) for n in ("", "pk", "basket")]
    ended = ((ev.kind == kill) | (ev.kind == miss)) & np.isin(ev.note, cpa_notes)
    launch = ev.kind == EVENT_KINDS.index("launch")
    t_launch = dict(zip(ev.missile_id[launch].tolist(), ev.time_s[launch].tolist(), strict=True))
    rel, mtype = [], []
    for mid, t_end in zip(ev.missile_id[ended].tolist(), ev.time_s[ended].tolist(), strict=True):
        mt, predicted = rec.predicted[mid]
        flown = t_end - t_launch[mid]
        if flown > 0:
            rel.append(abs(predicted - flown) / flown)
            mtype.append(mt)
    return np.array(rel), np.array(mtype, dtype=np.int64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--scenarios", nargs="+", default=["default", "saturation"])
    args = ap.parse_args()
    console = Console(width=110)
    table = Table(title="Guided runs: |predicted - flown| / flown time to intercept")
    for col in ("scenario", "types", "planner", "flights", "median", "p90"):
        table.add_column(col, justify="right" if col not in ("scenario", "planner") else "left")
    for name in args.scenarios:
        params = replace(compile_scenario(load_scenario(name)), flyout="guided")
        t0 = time.perf_counter()
        after = default_pipeline(params)
        build = time.perf_counter() - t0
        assert isinstance(after.intercept, FlyoutTableIntercept)
        before = replace(after, intercept=AverageSpeedIntercept(params.missiles))
        console.print(f"{name}: flyout table built in {build:.2f} s")
        for label, pipe in (("average speed (before)", before), ("flyout tables (after)", after)):
            parts = [errors(params, pipe, params.seed + k) for k in range(args.seeds)]
            rel = np.concatenate([p[0] for p in parts])
            mt = np.concatenate([p[1] for p in parts])
            groups = [("all", rel)] + [
                (params.missiles.names[m], rel[mt == m]) for m in np.unique(mt)
            ]
            for types, x in groups:
                if x.size == 0:
                    continue
                table.add_row(
                    name, types, label, str(x.size),
                    f"{100 * np.median(x):.1f} %", f"{100 * np.quantile(x, 0.9):.1f} %",
                )  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
