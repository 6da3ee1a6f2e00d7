"""Mean returns of baseline agents in the Gymnasium environment, with 95 % intervals.

Agents (each plays the same replication seeds):

- no-fire:   never launches (the floor);
- random:    for each track slot, uniform over no-fire and its feasible options;
- obs-greedy: from the observation alone (plus the scenario's public missile
  costs), the cheapest feasible option for every track, most urgent first;
- greedy:    the built-in greedy planner on the engine's request (`env.request`);
- wta:       the built-in WTA planner on the same request (its option choice;
  salvo sizes follow the environment's rules).

Reward (`skydome.gym.env`): -value_weight * fraction of asset value lost
- missile_cost_weight * interceptor cost. The run is shortened with
`--duration` (default 900 s of the default scenario's 1800 s) to stay
within a couple of minutes.

    python examples/gym_baselines.py [--scenario default] [--seeds 6] [--duration 900]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skydome.engine.stages import GreedyPlanner, WtaPlanner
from skydome.gym import SkydomeEnv
from skydome.stats import mean_estimate

Agent = Callable[[SkydomeEnv, dict[str, Any], np.random.Generator], NDArray[np.int64]]


def no_fire(env: SkydomeEnv, obs: dict[str, Any], rng: np.random.Generator) -> NDArray[np.int64]:
    """Never launch."""
    return np.zeros(env.max_tracks, np.int64)


def random_agent(
    env: SkydomeEnv, obs: dict[str, Any], rng: np.random.Generator
) -> NDArray[np.int64]:
    """Uniform over no-fire and the feasible options, per slot."""
    allow = env.action_masks().reshape(env.max_tracks, env.n_options + 1)
    pick = rng.random(allow.shape) * allow
    choice: NDArray[np.int64] = np.argmax(pick, axis=1).astype(np.int64)
    return choice


def obs_greedy(env: SkydomeEnv, obs: dict[str, Any], rng: np.random.Generator) -> NDArray[np.int64]:
    """The cheapest feasible option for every track (observation and public costs only)."""
    mask = obs["mask"].astype(bool)
    cost = np.tile(env.params.missiles.cost, env.n_batteries)  # option b*M + m
    pref = np.where(mask, cost[None, :], np.inf)
    return np.where(mask.any(axis=1), np.argmin(pref, axis=1) + 1, 0).astype(np.int64)


def planner_agent(planner: Any) -> Agent:
    """An agent that plays a built-in planner's choices on the engine's request."""

    def act(env: SkydomeEnv, obs: dict[str, Any], rng: np.random.Generator) -> NDArray[np.int64]:
        assert env.request is not None
        return env.action_from_plan(planner.plan(env.request))

    return act


def episode(env: SkydomeEnv, agent: Agent, seed: int) -> tuple[float, int, float, float]:
    """One episode: return, missiles launched, value preserved, cost spent."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        obs, r, done, _, info = env.step(agent(env, obs, rng))
        total += r
    return total, env.launched, info["value_preserved"], info["cost_spent"]


def main() -> None:
    """Print each agent's mean return with its 95 % t interval."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--duration", type=float, default=900.0, help="run length, s")
    ap.add_argument("--value-weight", type=float, default=1.0)
    ap.add_argument("--missile-cost-weight", type=float, default=0.001)
    args = ap.parse_args()
    env = SkydomeEnv(
        args.scenario,
        value_weight=args.value_weight,
        missile_cost_weight=args.missile_cost_weight,
        duration_s=args.duration,
    )
    p = env.params
    agents: dict[str, Agent] = {
        "no-fire": no_fire,
        "random": random_agent,
        "obs-greedy": obs_greedy,
        "greedy": planner_agent(GreedyPlanner(p.missiles, p.doctrine.salvo_size)),
        "wta": planner_agent(WtaPlanner(p.missiles, p.doctrine)),
    }
    print(
        f"scenario {p.name}, {p.duration_s:.0f} s, seeds 1..{args.seeds}, "
        f"value_weight {env.value_weight}, missile_cost_weight {env.missile_cost_weight}"
    )
    print(
        f"{'agent':<11} {'mean return':>12} {'95% CI':>22} {'launched':>9} "
        f"{'preserved':>9} {'cost':>7} {'time':>7}"
    )
    for name, agent in agents.items():
        t0 = time.perf_counter()
        runs = [episode(env, agent, seed) for seed in range(1, args.seeds + 1)]
        est = mean_estimate([r[0] for r in runs])
        launched, kept, cost = np.mean([r[1:] for r in runs], axis=0)
        print(
            f"{name:<11} {est.estimate:>12.4f} [{est.lo:>9.4f}, {est.hi:>9.4f}] "
            f"{launched:>9.1f} {kept:>9.3f} {cost:>7.1f} {time.perf_counter() - t0:>6.1f}s"
        )


if __name__ == "__main__":
    main()
