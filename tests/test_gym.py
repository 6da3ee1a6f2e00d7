"""The Gymnasium environment: API conformance, determinism, replay fidelity, vector API."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402
from gymnasium.vector import SyncVectorEnv  # noqa: E402

import skydome.gym  # noqa: E402
from skydome.engine import Plan, PlanRequest, simulate  # noqa: E402
from skydome.events import EVENT_KINDS  # noqa: E402
from skydome.gym.env import SkydomeEnv  # noqa: E402
from skydome.scenario import builtin_names  # noqa: E402

SHORT_S = 300.0


class _NoFire:
    def plan(self, req: PlanRequest) -> Plan:
        z = np.zeros(0, np.int64)
        return Plan(z, z, z)


def _episode(env: SkydomeEnv, seed: int, policy: str) -> tuple[list[dict[str, Any]], float]:
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    seen, total, done = [obs], 0.0, False
    while not done:
        if policy == "random":
            a = rng.integers(0, env.n_options + 1, env.max_tracks)
        elif policy == "nofire":
            a = np.zeros(env.max_tracks, np.int64)
        else:  # "greedy": the scenario's own planner on the probed request
            assert env.request is not None
            a = env.action_from_plan(env.pipeline.planner.plan(env.request))
        obs, r, done, trunc, _ = env.step(a)
        assert not trunc
        seen.append(obs)
        total += r
    return seen, total


@pytest.mark.parametrize("name", builtin_names())
def test_check_env_on_builtin(name: str) -> None:
    duration = None if name == "default" else SHORT_S  # check_env plays a few decisions only
    env = gymnasium.make(skydome.gym.ENV_ID, scenario=name, duration_s=duration)
    check_env(env.unwrapped, skip_render_check=True)


def test_registered_entry_point() -> None:
    env = gymnasium.make("skydome/Defence-v0", scenario="default", max_tracks=8)
    assert isinstance(env.unwrapped, SkydomeEnv)
    assert env.action_space.shape == (8,)


def test_random_agent_is_reproducible() -> None:
    env = SkydomeEnv("default", duration_s=SHORT_S, missile_cost_weight=0.01)
    a, ra = _episode(env, 7, "random")
    b, rb = _episode(env, 7, "random")
    assert ra == rb and len(a) == len(b) > 2
    for oa, ob in zip(a, b, strict=True):
        for key in oa:
            np.testing.assert_array_equal(oa[key], ob[key])
    assert env.launched > 0


def test_no_fire_agent_launches_nothing_and_matches_simulate() -> None:
    env = SkydomeEnv("default", duration_s=900.0)
    _, total = _episode(env, 3, "nofire")
    assert env.launched == 0
    run = simulate(env.params, seed=3, planner=_NoFire())
    assert env._state is not None
    np.testing.assert_array_equal(env._state.world.asset_value, run.asset_value_end)
    lost = 1.0 - run.asset_value_end.sum() / env.params.assets.value.sum()
    assert total == pytest.approx(-lost)


def test_greedy_actions_replay_the_engine_exactly() -> None:
    """The probe leaves no trace: the built-in planner's choices reproduce `simulate`."""
    env = SkydomeEnv("default", duration_s=900.0)
    _episode(env, 5, "greedy")
    run = simulate(env.params, seed=5)
    assert env._state is not None
    np.testing.assert_array_equal(env._state.world.kill_time_s, run.kill_time_s)
    np.testing.assert_array_equal(env._state.world.asset_value, run.asset_value_end)
    assert env.launched == int((run.events.kind == EVENT_KINDS.index("launch")).sum())


def test_unseeded_resets_draw_new_replications_reproducibly() -> None:
    env = SkydomeEnv("default", duration_s=SHORT_S)
    first = [env.reset()[1]["seed"], env.reset()[1]["seed"], env.reset()[1]["seed"]]
    assert first[0] == env.params.seed and len(set(first)) == 3
    env.reset(seed=4)
    a = [env.reset()[1]["seed"] for _ in range(2)]
    env.reset(seed=4)
    assert a == [env.reset()[1]["seed"] for _ in range(2)]


def test_action_masks_layout() -> None:
    env = SkydomeEnv("default", duration_s=SHORT_S, max_tracks=4)
    obs, _ = env.reset(seed=1)
    m = env.action_masks().reshape(4, env.n_options + 1)
    assert m[:, 0].all()
    np.testing.assert_array_equal(m[:, 1:], obs["mask"].astype(bool))


def test_sync_vector_env() -> None:
    def make() -> SkydomeEnv:
        return SkydomeEnv("default", duration_s=SHORT_S, max_tracks=16)

    venv = SyncVectorEnv([make, make])
    obs, _ = venv.reset(seed=[11, 12])
    assert obs["tracks"].shape == (2, 16, 10)
    for _ in range(5):
        obs, r, term, trunc, _ = venv.step(venv.action_space.sample())
        assert r.shape == (2,) and term.shape == (2,)
    venv.close()


def test_check_env_with_salvo_choice() -> None:
    env = SkydomeEnv("default", duration_s=SHORT_S, choose_salvo=True)
    space = env.action_space
    assert isinstance(space, gymnasium.spaces.MultiDiscrete)
    assert space.nvec[0] == env.n_options * env.params.doctrine.salvo_size + 1
    check_env(env, skip_render_check=True)


def _first_allowed(env: SkydomeEnv, size: int) -> np.ndarray:
    """For each slot, the first feasible option fired with `size` missiles (0 if none)."""
    s = env.n_salvo
    allow = env.action_masks().reshape(env.max_tracks, -1)[:, 1:].reshape(env.max_tracks, -1, s)
    ok = allow[:, :, size - 1]
    first = np.argmax(ok, axis=1)
    return np.where(ok.any(axis=1), first * s + size, 0).astype(np.int64)


@pytest.mark.parametrize("size", [1, 2])
def test_salvo_choice_fires_the_chosen_number(size: int) -> None:
    """One missile per engagement when the agent asks for one; two when it asks for two."""
    env = SkydomeEnv("default", duration_s=600.0, choose_salvo=True)
    assert env.n_salvo == 2
    env.reset(seed=2)
    per_engagement = []
    done = False
    while not done:
        a = _first_allowed(env, size)
        before = env.launched
        _, _, done, _, _ = env.step(a)
        if (a > 0).any() and env.launched > before:
            per_engagement.append((env.launched - before) / int((a > 0).sum()))
    assert per_engagement, "no engagement was made"
    if size == 1:
        assert max(per_engagement) <= 1.0
    else:
        assert max(per_engagement) > 1.0


def test_salvo_choice_masks_sizes_beyond_salvo_left() -> None:
    env = SkydomeEnv("default", duration_s=SHORT_S, max_tracks=8, choose_salvo=True)
    obs, _ = env.reset(seed=1)
    s = env.n_salvo
    m = env.action_masks().reshape(8, env.n_options * s + 1)
    assert m[:, 0].all()
    sizes = m[:, 1:].reshape(8, env.n_options, s)
    left = obs["tracks"][:, 8]
    for size in range(1, s + 1):
        expect = obs["mask"].astype(bool) & (size <= left)[:, None]
        np.testing.assert_array_equal(sizes[:, :, size - 1], expect)


def test_greedy_actions_with_salvo_choice_replay_the_engine_exactly() -> None:
    env = SkydomeEnv("default", duration_s=900.0, choose_salvo=True)
    _episode(env, 5, "greedy")
    run = simulate(env.params, seed=5)
    assert env._state is not None
    np.testing.assert_array_equal(env._state.world.kill_time_s, run.kill_time_s)
    assert env.launched == int((run.events.kind == EVENT_KINDS.index("launch")).sum())
