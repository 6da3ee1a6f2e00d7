"""Gymnasium environments on the engine's step: the agent is the planner.

`SkydomeEnv` (`skydome.gym.env`) is registered as "skydome/Defence-v0"; pass
the scenario (a built-in name or a file path) as a keyword:

    import gymnasium, skydome.gym
    env = gymnasium.make("skydome/Defence-v0", scenario="default")

Needs the `gym` extra (`pip install skydome[gym]`).
"""

import gymnasium

from skydome.gym.env import SkydomeEnv

__all__ = ["ENV_ID", "SkydomeEnv"]

ENV_ID = "skydome/Defence-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="skydome.gym.env:SkydomeEnv")
