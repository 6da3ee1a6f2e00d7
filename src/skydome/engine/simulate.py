"""`simulate`: the clock and the recorders around `step`.

The kill chain itself is `skydome.engine.step.step`; the stages are a
`Pipeline` (`default_pipeline` builds the scenario's). `simulate` ticks the
clock every `step_s`, keeps the event log and, on request, samples of truth
and of the air picture, and packs the final state into a `RunResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engine.pipeline import (
    Flyout,
    Identification,
    InterceptModel,
    KillAssessment,
    Pipeline,
    Planner,
    Sensor,
    ThreatEvaluation,
)
from skydome.engine.stages import default_pipeline
from skydome.engine.state import SimState
from skydome.engine.step import Rngs, step
from skydome.events import EventLog, Events
from skydome.scenario.compile import SimParams
from skydome.sensors.base import Detections
from skydome.threats import Threats
from skydome.tracking.base import Tracker, TrackState

__all__ = ["ProgressFn", "RunResult", "simulate"]

Columns = dict[str, NDArray[np.generic]]

ProgressFn = Callable[[float], None]


@dataclass(frozen=True)
class RunResult:
    """Everything one replication produced.

    Attributes:
        params: the scenario that was run.
        seed: the replication seed.
        events: the event log.
        kill_time_s: (N,) time each threat was killed (inf: not killed).
        leak_time_s: (N,) time each threat leaked (inf: did not).
        first_detect_s: (N,) first detection (inf: never).
        first_track_s: (N,) first confirmed track (inf: never).
        engaged: (N,) at least one missile launched at it.
        inventory_end: (B, M) missiles left.
        asset_value_end: (A,) value remaining per asset.
        truth_samples: threats in the sky every `record_every_s`: columns time_s,
            threat_id, x_m, y_m, z_m (for replays and plots).
        track_samples: the air picture at the same times: time_s, track_id,
            threat_id (bookkeeping), confirmed, x_m, y_m, z_m, vx_mps, vy_mps,
            vz_mps, sigma_m (RMS position standard deviation per axis).
        detections: every radar scan's detections, in scan order, when
            `record_detections` was set (else empty).
    """

    params: SimParams
    seed: int
    events: Events
    kill_time_s: F64
    leak_time_s: F64
    first_detect_s: F64
    first_track_s: F64
    engaged: NDArray[np.bool_]
    inventory_end: I64
    asset_value_end: F64
    truth_samples: Columns
    track_samples: Columns
    detections: tuple[Detections, ...] = ()


def simulate(
    params: SimParams,
    seed: int | None = None,
    tracker: Tracker | None = None,
    progress: ProgressFn | None = None,
    record_every_s: float | None = None,
    record_detections: bool = False,
    *,
    pipeline: Pipeline | None = None,
    sensor: Sensor | None = None,
    identification: Identification | None = None,
    evaluation: ThreatEvaluation | None = None,
    planner: Planner | None = None,
    flyout: Flyout | None = None,
    assessment: KillAssessment | None = None,
    intercept: InterceptModel | None = None,
) -> RunResult:
    """Run one replication of a compiled scenario.

    Args:
        params: the compiled scenario.
        seed: replication seed; the scenario's `run.seed` if None.
        tracker: any `Tracker`; the GNN tracker with the scenario's settings if None.
        progress: called now and then with the fraction of simulated time done.
        record_every_s: sample truth and tracks this often (None: not at all;
            Monte Carlo studies leave it off).
        record_detections: keep every scan's detections (`RunResult.detections`);
            recording changes no result.
        pipeline: the stages; `default_pipeline(params)` if None.
        sensor: replaces the pipeline's sensor stage (`skydome.engine.pipeline.Sensor`).
        identification: replaces its identification stage.
        evaluation: replaces its threat evaluation stage.
        planner: replaces its planner (weapon-target assignment).
        flyout: replaces its flyout.
        assessment: replaces its kill assessment.
        intercept: replaces the planner's model of the flyout (intercept
            points and times; `skydome.engine.pipeline.InterceptModel`).

    Returns:
        The run's events and per-threat outcomes.
    """
    seed = params.seed if seed is None else seed
    pipe = _pipeline(params, pipeline, tracker=tracker, sensor=sensor,
                     identification=identification, evaluation=evaluation,
                     planner=planner, flyout=flyout, assessment=assessment,
                     intercept=intercept)  # fmt: skip
    rngs = Rngs.from_seed(seed, params.radars.names)
    state = SimState.initial(params, pipe.flyout.empty())
    logs: list[EventLog] = []
    det_rec: list[Detections] = []
    truth_rec: list[Columns] = []
    track_rec: list[Columns] = []
    next_record = 0.0
    n_steps = int(np.ceil(params.duration_s / params.step_s - 1e-9))
    report_every = max(1, n_steps // 100)
    for k in range(1, n_steps + 1):
        t = min(k * params.step_s, params.duration_s)
        state, out = step(pipe, state, t, rngs)
        logs.append(out.log)
        if record_detections:
            det_rec.extend(out.detections)
        if record_every_s is not None and t + 1e-9 >= next_record:
            next_record += record_every_s
            truth_rec.append(_in_sky(params.threats, state))
            track_rec.append(_track_sample(pipe, state.picture, t))
        if progress is not None and (k % report_every == 0 or k == n_steps):
            progress(k / n_steps)
    return _result(pipe, seed, state, logs, truth_rec, track_rec, det_rec)


def _pipeline(params: SimParams, pipeline: Pipeline | None, **stages: object) -> Pipeline:
    """The default pipeline or the one given, with the stages given replaced."""
    if pipeline is None:
        pipe = default_pipeline(params, stages["tracker"])  # type: ignore[arg-type]
        stages["tracker"] = None
    elif pipeline.params is not params:
        raise ValueError("simulate: pipeline.params is not the scenario passed as params")
    else:
        pipe = pipeline
    given = {k: v for k, v in stages.items() if v is not None}
    known = {f.name for f in fields(Pipeline)}
    assert set(given) <= known
    return replace(pipe, **given) if given else pipe  # type: ignore[arg-type]


def _result(
    pipe: Pipeline,
    seed: int,
    state: SimState,
    logs: list[EventLog],
    truth_rec: list[Columns],
    track_rec: list[Columns],
    det_rec: list[Detections],
) -> RunResult:
    params = pipe.params
    c2, world, tally = state.c2, state.world, state.tally
    empty_truth = _truth_sample(params.threats, 0.0, np.zeros(0, dtype=np.int64))
    return RunResult(
        params=params,
        seed=seed,
        events=EventLog([part for log in logs for part in log._parts]).finish(),
        kill_time_s=world.kill_time_s,
        leak_time_s=world.leak_time_s,
        first_detect_s=tally.first_detect_s,
        first_track_s=tally.first_track_s,
        engaged=tally.engaged,
        inventory_end=(
            c2.launchers.battery_stock(params.batteries.pos_m.shape[0]) + c2.launchers.reserve
        ),
        asset_value_end=world.asset_value,
        truth_samples=_concat(truth_rec, empty_truth),
        track_samples=_concat(track_rec, _track_sample(pipe, TrackState.empty(), 0.0)),
        detections=tuple(det_rec),
    )


def _truth_sample(th: Threats, t: float, idx: I64, evade_start_s: F64 | None = None) -> Columns:
    """True positions of the threats `idx` at `t`."""
    pos, _ = th.state_at(t, idx, evade_start_s=evade_start_s)
    return {
        "time_s": np.full(idx.size, t),
        "threat_id": idx.astype(np.int64),
        "x_m": pos[:, 0],
        "y_m": pos[:, 1],
        "z_m": pos[:, 2],
    }


def _in_sky(th: Threats, state: SimState) -> Columns:
    """The threats in the sky at `state.t_s`."""
    t, world = state.t_s, state.world
    idx = np.flatnonzero((th.launch_s <= t) & (t < th.end_s) & (world.kill_time_s > t))
    return _truth_sample(th, t, idx, world.evade_start_s)


def _track_sample(pipe: Pipeline, tr: TrackState, t: float) -> Columns:
    """The air picture at `t`, each track extrapolated there by the tracker."""
    x = pipe.predict(tr, t, np.arange(tr.n))
    sigma = np.sqrt(np.trace(tr.P[:, :3, :3], axis1=1, axis2=2) / 3.0)
    return {
        "time_s": np.full(tr.n, t),
        "track_id": tr.track_id.copy(),
        "threat_id": tr.truth.copy(),
        "confirmed": tr.confirmed.copy(),
        "x_m": x[:, 0],
        "y_m": x[:, 1],
        "z_m": x[:, 2],
        "vx_mps": x[:, 3],
        "vy_mps": x[:, 4],
        "vz_mps": x[:, 5],
        "sigma_m": sigma,
    }


def _concat(parts: list[Columns], empty: Columns) -> Columns:
    if not parts:
        return empty
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
