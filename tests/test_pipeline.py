"""Pipeline stages: built-in stages pass their contracts, users' stages plug in, step is pure."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pytest

from skydome.engagement.evaluation import ThreatAssessment
from skydome.engine import (
    Plan,
    PlanRequest,
    Rngs,
    SimState,
    default_pipeline,
    simulate,
    step,
)
from skydome.engine.contract import (
    check_assessment,
    check_evaluation,
    check_flyout,
    check_identification,
    check_pipeline,
    check_planner,
    check_sensor,
)
from skydome.engine.stages import (
    GreedyPlanner,
    PerfectIdentification,
    ValueAtRiskEvaluation,
    WtaPlanner,
)
from skydome.events import EVENT_KINDS
from skydome.scenario import compile_scenario, load_scenario, parse_scenario
from skydome.scenario.compile import SimParams
from skydome.tracking.base import TrackState
from tests.conftest import dump

LAUNCH = EVENT_KINDS.index("launch")


@pytest.fixture
def small(small_dict: dict[str, Any]) -> SimParams:
    return compile_scenario(parse_scenario(dump(small_dict)))


def _wta(p: SimParams) -> WtaPlanner:
    return WtaPlanner(p.missiles, replace(p.doctrine, wta_solver="heuristic"))


@pytest.mark.parametrize(
    "make",
    [lambda p: GreedyPlanner(p.missiles, p.doctrine.salvo_size), _wta],
    ids=["greedy", "wta"],
)
def test_builtin_planners_pass_the_contract(small: SimParams, make: Any) -> None:
    check_planner(make(small), n_types=small.missiles.pk.size)


def test_builtin_identification_and_evaluation_pass(small: SimParams) -> None:
    check_identification(PerfectIdentification())
    check_evaluation(ValueAtRiskEvaluation(small.assets, small.doctrine), small.threats.n)


@pytest.mark.parametrize("name", ["default", "saturation"])
def test_builtin_sensor_and_assessment_pass_their_contracts(name: str) -> None:
    p = compile_scenario(load_scenario(name))
    pipe = default_pipeline(p)
    check_sensor(pipe.sensor, p.threats.n, seed=1)
    check_assessment(pipe.assessment, p, seed=1)


@pytest.mark.parametrize("flyout", ["kinematic", "guided"])
def test_builtin_flyouts_pass_their_contract(flyout: str) -> None:
    s = load_scenario("default")
    s = s.model_copy(update={"run": s.run.model_copy(update={"flyout": flyout})})
    p = compile_scenario(s)
    check_flyout(default_pipeline(p).flyout, p, seed=2, horizon_s=400.0)


@dataclass(frozen=True)
class DropsOne:
    """A flyout that silently loses one missile per step."""

    inner: Any

    def empty(self) -> Any:
        return self.inner.empty()

    def launch(self, missiles: Any, new: Any, picture: Any) -> Any:
        return self.inner.launch(missiles, new, picture)

    def advance(self, ms: Any, t0: float, t1: float, world: Any, pic: Any, rng: Any) -> Any:
        ms, arr = self.inner.advance(ms, t0, t1, world, pic, rng)
        return (ms.take(np.arange(1, ms.n)) if ms.n else ms), arr


def test_check_flyout_rejects_a_flyout_that_loses_missiles(small: SimParams) -> None:
    with pytest.raises(AssertionError, match=r"DropsOne.advance: missiles lost or duplicated"):
        check_flyout(DropsOne(default_pipeline(small).flyout), small)


@dataclass(frozen=True)
class Clairvoyant:
    """A sensor wrapper that also reports every threat in the sky, wherever it is."""

    inner: Any

    @property
    def scan_period_s(self) -> Any:
        return self.inner.scan_period_s

    def coverage(self, radar: int) -> Any:
        return self.inner.coverage(radar)

    def detect(
        self, radar: int, t_s: float, pos_m: Any, in_sky: Any, jammers: Any, rng: Any
    ) -> Any:
        d = self.inner.detect(radar, t_s, pos_m, in_sky, jammers, rng)
        extra = np.setdiff1d(np.flatnonzero(in_sky), d.truth)
        m = extra.size
        return replace(
            d,
            pos_m=np.vstack([d.pos_m, pos_m[extra]]),
            cov_m2=np.concatenate([d.cov_m2, np.tile(np.eye(3), (m, 1, 1))]),
            polar=np.vstack([d.polar, np.ones((m, 3))]),
            truth=np.concatenate([d.truth, extra]),
        )


def test_check_sensor_rejects_detections_outside_coverage(small: SimParams) -> None:
    with pytest.raises(AssertionError, match="Clairvoyant.detect: detected a threat outside"):
        check_sensor(Clairvoyant(default_pipeline(small).sensor), small.threats.n)


@dataclass(frozen=True)
class KillsEverything:
    """An assessment that kills every aimed-at threat, dead, far or not."""

    n: int

    def assess(self, arrivals: Any, world: Any, rng: Any) -> Any:
        from skydome.engagement.assessment import KILL, Outcome

        due = arrivals.due
        kill = world.kill_time_s.copy()
        kill[due.threat] = due.t_intercept_s
        k = due.n
        return Outcome(np.full(k, KILL), due.threat, np.zeros(k), due.pip_m, kill)


def test_check_assessment_rejects_kills_from_far_away(small: SimParams) -> None:
    with pytest.raises(AssertionError, match="KillsEverything.assess: "):
        check_assessment(KillsEverything(small.threats.n), small)


def test_simulate_takes_an_intercept_model_as_a_keyword(small: SimParams) -> None:
    """The planner's flyout model is a stage like the others: a keyword swaps it."""

    @dataclass(frozen=True)
    class NeverFeasible:
        inner: Any

        def grid(
            self, pos_m: Any, vel_mps: Any, batteries: Any, deadline_rel_s: Any,
            threat_type: Any = None,
        ) -> Any:  # fmt: skip
            g = self.inner.grid(pos_m, vel_mps, batteries, deadline_rel_s, threat_type)
            return replace(g, feasible=np.zeros_like(g.feasible))

        def flyout(self, *args: Any) -> Any:
            return self.inner.flyout(*args)

    pipe = default_pipeline(small)
    a = simulate(small, seed=2, intercept=NeverFeasible(pipe.intercept))
    b = simulate(small, seed=2, pipeline=replace(pipe, intercept=NeverFeasible(pipe.intercept)))
    assert int((a.events.kind == LAUNCH).sum()) == 0  # nothing is ever feasible: no launch
    np.testing.assert_array_equal(a.events.time_s, b.events.time_s)


def test_default_pipeline_passes_check_pipeline(small: SimParams) -> None:
    check_pipeline(default_pipeline(small), seed=3)


@dataclass(frozen=True)
class NeverFire:
    """A planner that never engages anything."""

    def plan(self, req: PlanRequest) -> Plan:
        e = np.zeros(0, dtype=np.int64)
        return Plan(e, e, e)


def test_a_planner_that_never_fires_launches_nothing(small: SimParams) -> None:
    check_planner(NeverFire())
    r = simulate(small, seed=2, planner=NeverFire())
    assert not (r.events.kind == LAUNCH).any()
    assert not r.engaged.any()
    assert np.array_equal(r.inventory_end, small.batteries.inventory + small.batteries.reserve)


@dataclass
class CountingUnknown:
    """Identification that never reads truth: every track unknown; counts its calls."""

    calls: int = 0

    def identify(self, picture: TrackState, rows: Any) -> Any:
        self.calls += 1
        return np.full(rows.shape[0], -1, dtype=np.int64)


def test_a_custom_identification_stage_is_used(small: SimParams) -> None:
    ident = CountingUnknown()
    check_identification(ident)
    ident.calls = 0
    r = simulate(small, seed=2, identification=ident)
    assert ident.calls > 0
    assert (r.events.kind == LAUNCH).any()  # unknown tracks are still engaged (weight 1)


@dataclass(frozen=True)
class Reckless:
    """A broken planner: engages every track with option 0, feasible or not."""

    def plan(self, req: PlanRequest) -> Plan:
        n = req.score.shape[0]
        rows = np.arange(n, dtype=np.int64)
        return Plan(rows, np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64))


def test_check_planner_rejects_a_broken_planner_with_a_clear_message() -> None:
    with pytest.raises(AssertionError, match=r"Reckless\.plan: an infeasible \(track, option\)"):
        check_planner(Reckless())


@dataclass(frozen=True)
class FloatIds:
    def identify(self, picture: TrackState, rows: Any) -> Any:
        return picture.truth[rows].astype(float)


def test_check_identification_rejects_wrong_dtype() -> None:
    with pytest.raises(AssertionError, match="FloatIds.identify: dtype float64, expected int64"):
        check_identification(FloatIds())


@dataclass(frozen=True)
class NegativeScores:
    def evaluate(self, pos_m: Any, vel_mps: Any, identity: Any) -> ThreatAssessment:
        k = pos_m.shape[0]
        z = np.zeros(k)
        return ThreatAssessment(-np.ones(k), np.zeros(k, dtype=np.int64), z, z, z)


def test_check_evaluation_rejects_negative_scores() -> None:
    with pytest.raises(AssertionError, match="NegativeScores.evaluate: scores"):
        check_evaluation(NegativeScores())


def test_explicit_default_pipeline_gives_the_same_run(small: SimParams) -> None:
    a = simulate(small, seed=4)
    b = simulate(small, seed=4, pipeline=default_pipeline(small))
    for f in fields(a.events):
        assert np.array_equal(getattr(a.events, f.name), getattr(b.events, f.name), equal_nan=True)


def test_a_pipeline_for_another_scenario_is_refused(small: SimParams) -> None:
    other = replace(small, duration_s=small.duration_s + 1.0)
    with pytest.raises(ValueError, match="pipeline.params"):
        simulate(small, pipeline=default_pipeline(other))


def _arrays(x: object, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(x):  # type: ignore[arg-type]
        v = getattr(x, f.name)
        if isinstance(v, np.ndarray):
            out[prefix + f.name] = v.copy()
        elif hasattr(v, "__dataclass_fields__"):
            out.update(_arrays(v, prefix + f.name + "."))
    return out


def test_step_changes_nothing_it_is_given(small: SimParams) -> None:
    pipe = default_pipeline(small)
    rngs = Rngs.from_seed(1, small.radars.names)
    state = SimState.initial(small, pipe.flyout.empty())
    t = 0.0
    for _ in range(int(small.duration_s / small.step_s)):
        before = _arrays(state)
        t += small.step_s
        new, _ = step(pipe, state, t, rngs)
        after = _arrays(state)
        for k, v in before.items():
            assert np.array_equal(v, after[k], equal_nan=True), f"step mutated state.{k}"
        state = new
    assert state.c2.n_launched > 0
