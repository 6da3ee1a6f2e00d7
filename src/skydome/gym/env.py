"""`SkydomeEnv`: a Gymnasium environment in which the agent is the planner.

The environment runs the engine's pure `step` (`skydome.engine.step`) with the
scenario's own stages, except the planner: at every *decision point* -- a
decision tick at which the engine poses a `PlanRequest` with at least one
feasible (track, battery, type) choice -- the request is the observation and
the agent's action becomes the `Plan`. Ticks between decision points run with
a planner that fires nothing.

How a decision point is found: `step` does not mutate the state it is given,
so each tick is first run on a deep copy of the random streams with a *probe*
planner that records the request (and fires nothing). If the request offers a
choice, the env stops there; when the action arrives, the same tick is run
again from the same state and the untouched streams with the agent's plan, so
the probe leaves no trace. Otherwise the probe's result is the tick's result.

Observation (`observation_space`, a `Dict` of `Box`es; K = `max_tracks`,
B batteries, M missile types). Slot i holds the i-th most urgent candidate
track (the doctrine's engage order); slots past the candidates are zeros, and
candidates past the K most urgent are not offered (never engaged at that
decision; a tick whose first K candidates offer no choice is not a decision
point):

- `tracks` (K, 10) float32: threat score, position x, y, z (km), velocity
  vx, vy, vz (km/s), RMS position sigma per axis (km), missiles the track may
  still receive (salvo left), 1 if the slot holds a track;
- `mask` (K, B*M) int8: option b*M + m is feasible for the track (envelope,
  fire control, stock) and battery b has a free target and missile channel;
- `stock` (B, M) float32: missiles on each battery's launchers, per type;
- `channels` (B, 2) float32: free target and missile channels per battery;
- `time` (1,) float32: simulated time of the decision, s.

`info`: `t_s`, `n_tracks` (slots filled), `launched` and `cost_spent` (so far
this episode), `value_preserved` (fraction of the initial asset value left),
`seed` (the replication seed).

Action: `MultiDiscrete([B*M + 1] * K)`; for slot i, 0 = no fire and
o = 1 + b*M + m fires a salvo of type m from battery b. Slots are served in
order (most urgent first) under the built-in greedy planner's capacity rules:
an infeasible choice (including an empty slot) is ignored, a battery
engages a new track only while it has a free target channel, and a salvo is
clipped to the track's salvo left, the battery's stock of the type and its
free missile channels (a clipped-to-zero salvo is dropped). The engine then
gives the missiles launch slots; a missile with no slot or no intercept in
time is not launched (as for the built-in planners). `action_masks()` returns
the feasibility mask flattened for maskable agents (sb3-contrib layout: K
blocks of B*M + 1 booleans, no-fire always allowed).

With `choose_salvo=True` the agent also picks the salvo size (shoot-look-shoot
against salvo doctrine): `MultiDiscrete([B*M*S + 1] * K)` with S the
doctrine's `salvo_size`, o = 1 + (b*M + m)*S + (s - 1) fires s missiles of
type m from battery b (clipped as above); `action_masks()` then has K blocks
of B*M*S + 1 and allows only sizes up to the track's salvo left.

Reward of a step (the decision point and the ticks up to the next one):

    value_weight * (asset value lost) / (initial total asset value) * -1
    - missile_cost_weight * (sum of the costs of the missiles launched)

so an episode's return is `value_weight * (fraction of asset value preserved
- 1) - missile_cost_weight * (total interceptor cost)`. Missile costs are the
scenario's `missiles[].cost`. Asset value lost before the first decision point
is counted in the first step's reward.

The episode terminates at the end of the run (`run.duration_s`, or the
`duration_s` given); it is never truncated. `reset(seed=s)` uses `s` as the
replication seed, so the same seed and actions give the same observations and
rewards; `reset()` without a seed plays the scenario's `run.seed` first, then
replication seeds drawn from the environment's generator (`np_random`,
seeded by the last seed given), so a seeded sequence of episodes is
reproducible too.

The stages must be pure, as `step` requires (a stateful stage would see each
probed tick twice); the built-in ones are.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from skydome.arrays import F64, I64
from skydome.engagement.evaluation import ThreatAssessment
from skydome.engine.pipeline import (
    Identification,
    Pipeline,
    Plan,
    PlanRequest,
    ThreatEvaluation,
)
from skydome.engine.stages import default_pipeline
from skydome.engine.state import SimState
from skydome.engine.step import Rngs, step
from skydome.scenario.compile import SimParams, compile_scenario
from skydome.scenario.load import load_scenario
from skydome.tracking.base import TrackState

__all__ = ["N_TRACK_FEATURES", "SkydomeEnv"]

ObsDict = dict[str, NDArray[Any]]

N_TRACK_FEATURES = 10
_EMPTY_PLAN = Plan(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))


@dataclass
class _Seen:
    """What the probe saw at one decision: the request and the candidates' picture."""

    req: PlanRequest | None = None
    rows: I64 | None = None
    picture: TrackState | None = None
    pos_m: F64 | None = None
    vel_mps: F64 | None = None


@dataclass
class _RecordingIdentification:
    inner: Identification
    seen: _Seen

    def identify(self, picture: TrackState, rows: I64) -> I64:
        self.seen.picture, self.seen.rows = picture, rows.copy()
        return self.inner.identify(picture, rows)


@dataclass
class _RecordingEvaluation:
    inner: ThreatEvaluation
    seen: _Seen

    def evaluate(self, pos_m: F64, vel_mps: F64, identity: I64) -> ThreatAssessment:
        self.seen.pos_m, self.seen.vel_mps = pos_m.copy(), vel_mps.copy()
        return self.inner.evaluate(pos_m, vel_mps, identity)


@dataclass
class _ProbePlanner:
    seen: _Seen

    def plan(self, req: PlanRequest) -> Plan:
        self.seen.req = req
        return _EMPTY_PLAN


@dataclass
class _NoFirePlanner:
    def plan(self, req: PlanRequest) -> Plan:
        return _EMPTY_PLAN


@dataclass
class _FixedPlanner:
    plan_: Plan = field(default_factory=lambda: _EMPTY_PLAN)
    expect_n: int = -1

    def plan(self, req: PlanRequest) -> Plan:
        if req.score.shape[0] != self.expect_n:  # the replay must pose the probed request
            raise RuntimeError("skydome gym: the decision replay differs from its probe")
        return self.plan_


def _params(scenario: str | Path | SimParams, duration_s: float | None) -> SimParams:
    p = scenario if isinstance(scenario, SimParams) else compile_scenario(load_scenario(scenario))
    if duration_s is not None:
        if not duration_s > 0:
            raise ValueError(f"duration_s must be > 0, got {duration_s}")
        p = replace(p, duration_s=min(float(duration_s), p.duration_s))
    return p


class SkydomeEnv(gymnasium.Env[dict[str, Any], NDArray[np.int64]]):
    """Battle management: the agent assigns (battery, missile type) to tracks.

    Args:
        scenario: a built-in scenario name, a scenario file path, or compiled `SimParams`.
        max_tracks: K, candidate track slots in the observation and action.
        value_weight: weight of the fraction of asset value lost (reward).
        missile_cost_weight: weight of the interceptor cost spent (reward).
        duration_s: shorten the run to this many seconds (None: the scenario's).
        pipeline: the stages (`default_pipeline(params)` if None); its planner
            is not used.
        choose_salvo: the action also chooses the salvo size, 1 to the
            doctrine's `salvo_size` (False: each engagement fires the track's
            salvo left, as the built-in planners do).
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's class attribute)

    def __init__(
        self,
        scenario: str | Path | SimParams = "default",
        max_tracks: int = 64,
        value_weight: float = 1.0,
        missile_cost_weight: float = 0.0,
        duration_s: float | None = None,
        pipeline: Pipeline | None = None,
        choose_salvo: bool = False,
    ) -> None:
        if max_tracks < 1:
            raise ValueError(f"max_tracks must be >= 1, got {max_tracks}")
        self.params = _params(scenario, duration_s)
        if pipeline is not None and pipeline.params is not self.params:
            pipeline = replace(pipeline, params=self.params)
        self.pipeline = pipeline if pipeline is not None else default_pipeline(self.params)
        self.max_tracks = int(max_tracks)
        self.value_weight = float(value_weight)
        self.missile_cost_weight = float(missile_cost_weight)
        n_b, n_m = self.params.batteries.load.shape
        self.n_batteries, self.n_types = int(n_b), int(n_m)
        self.n_options = n_b * n_m
        self.n_salvo = max(int(self.params.doctrine.salvo_size), 1) if choose_salvo else 1
        self.choose_salvo = bool(choose_salvo)
        k = self.max_tracks
        big = np.float32(np.finfo(np.float32).max)
        self.observation_space = spaces.Dict(
            {
                "tracks": spaces.Box(-big, big, (k, N_TRACK_FEATURES), np.float32),
                "mask": spaces.Box(0, 1, (k, self.n_options), np.int8),
                "stock": spaces.Box(0.0, big, (n_b, n_m), np.float32),
                "channels": spaces.Box(0.0, big, (n_b, 2), np.float32),
                "time": spaces.Box(0.0, big, (1,), np.float32),
            }
        )
        n_act = self.n_options * self.n_salvo + 1
        self.action_space = spaces.MultiDiscrete(np.full(k, n_act, dtype=np.int64))
        self._seen = _Seen()
        self._probe = replace(
            self.pipeline,
            planner=_ProbePlanner(self._seen),
            identification=_RecordingIdentification(self.pipeline.identification, self._seen),
            evaluation=_RecordingEvaluation(self.pipeline.evaluation, self._seen),
        )
        self._nofire = replace(self.pipeline, planner=_NoFirePlanner())
        self._n_steps = int(np.ceil(self.params.duration_s / self.params.step_s - 1e-9))
        self._value0 = float(self.params.assets.value.sum()) or 1.0
        self._replication_seed = int(self.params.seed)
        self._seeded = False
        self._state: SimState | None = None
        self._rngs: Rngs | None = None
        self._k = 0
        self._req: PlanRequest | None = None
        self._slots: I64 = np.zeros(0, np.int64)
        self._mask: NDArray[np.bool_] = np.zeros((k, self.n_options), bool)
        self._salvo_left: I64 = np.zeros(k, np.int64)
        self._obs: ObsDict = self._empty_obs(0.0)
        self._carry = 0.0
        self.launched = 0
        self.cost_spent = 0.0

    # -- gymnasium API ---------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[ObsDict, dict[str, Any]]:
        """Start a replication; `seed` (if given) is its replication seed."""
        if seed is None and not self._seeded:
            seed = int(self.params.seed)  # the first episode: the scenario's run.seed
        if seed is not None:
            super().reset(seed=seed)
            self._seeded = True
            self._replication_seed = int(seed)
        else:  # the next replication, drawn from the seeded generator
            self._replication_seed = int(self.np_random.integers(2**31))
        p = self.params
        self._rngs = Rngs.from_seed(self._replication_seed, p.radars.names)
        self._state = SimState.initial(p, self.pipeline.flyout.empty())
        self._k = 0
        self.launched = 0
        self.cost_spent = 0.0
        self._carry = self._advance()
        return self._obs, self._info()

    def step(self, action: NDArray[np.int64]) -> tuple[ObsDict, float, bool, bool, dict[str, Any]]:
        """Apply the assignment at the current decision point and run to the next one."""
        if self._state is None or self._rngs is None:
            raise RuntimeError("SkydomeEnv.step called before reset")
        reward, self._carry = self._carry, 0.0
        if self._req is not None:
            plan = self._plan(np.asarray(action, dtype=np.int64).reshape(-1))
            before = self._state
            planner = _FixedPlanner(plan, self._req.score.shape[0])
            self._state, _ = step(
                replace(self.pipeline, planner=planner), before, self._t(), self._rngs
            )
            self._k += 1
            reward += self._reward(before, self._state)
            self._req = None
            reward += self._advance()
        terminated = self._req is None
        return self._obs, float(reward), terminated, False, self._info()

    def action_masks(self) -> NDArray[np.bool_]:
        """(K * (B*M*S + 1),) allowed choices per slot, no-fire first (maskable agents)."""
        k, s = self.max_tracks, self.n_salvo
        allow = np.ones((k, self.n_options * s + 1), dtype=bool)
        if self.choose_salvo:
            sizes_ok = np.arange(1, s + 1)[None, :] <= self._salvo_left[:, None]  # (K, S)
        else:
            sizes_ok = np.ones((k, 1), dtype=bool)
        allow[:, 1:] = (self._mask[:, :, None] & sizes_ok[:, None, :]).reshape(k, -1)
        return allow.reshape(-1)

    @property
    def request(self) -> PlanRequest | None:
        """The engine's `PlanRequest` at the current decision point (None: episode over)."""
        return self._req

    @property
    def slot_rows(self) -> I64:
        """(<= K,) the request row each observation slot holds, slot order."""
        return self._slots

    def action_from_plan(self, plan: Plan) -> NDArray[np.int64]:
        """The action choosing `plan`'s options (rows outside the K slots are dropped).

        Salvo sizes are the environment's (clipped salvo left), not `plan.count`,
        unless the environment lets the agent choose them (`choose_salvo`).
        """
        slot = {int(r): i for i, r in enumerate(self._slots)}
        action = np.zeros(self.max_tracks, np.int64)
        s = self.n_salvo
        for r, o, c in zip(plan.rows, plan.option, plan.count, strict=True):
            if int(r) in slot:
                size = min(max(int(c), 1), s) if self.choose_salvo else 1
                action[slot[int(r)]] = int(o) * s + size
        return action

    # -- internals -------------------------------------------------------------------------

    def _t(self) -> float:
        return min((self._k + 1) * self.params.step_s, self.params.duration_s)

    def _advance(self) -> float:
        """Tick until a decision point (observation set, `_req` kept) or the end; the reward."""
        assert self._state is not None and self._rngs is not None
        reward = 0.0
        while self._k < self._n_steps:
            t = self._t()
            self._seen.req = None
            rngs = copy.deepcopy(self._rngs)
            new, _ = step(self._probe, self._state, t, rngs)
            req = self._seen.req
            if req is not None and self._offers_choice(req):
                self._req = req
                self._obs = self._observe(req, t)
                return reward
            reward += self._reward(self._state, new)
            self._state, self._rngs = new, rngs
            self._k += 1
        self._req = None
        self._mask = np.zeros_like(self._mask)
        self._salvo_left = np.zeros_like(self._salvo_left)
        self._obs = self._empty_obs(self.params.duration_s)
        return reward

    def _feasible(self, req: PlanRequest) -> NDArray[np.bool_]:
        """(N, B*M) feasible options with free channels at their battery."""
        n = req.feasible.shape[0]
        free = (req.target_channels_free > 0) & (req.missile_channels_free > 0)
        return (req.feasible & free[None, :, None]).reshape(n, -1)

    def _offers_choice(self, req: PlanRequest) -> bool:
        return bool(self._feasible(req)[req.order[: self.max_tracks]].any())

    def _reward(self, before: SimState, after: SimState) -> float:
        lost = float(before.world.asset_value.sum() - after.world.asset_value.sum())
        n_b = self.n_batteries
        inv0 = before.c2.launchers.battery_stock(n_b) + before.c2.launchers.reserve
        inv1 = after.c2.launchers.battery_stock(n_b) + after.c2.launchers.reserve
        used = inv0 - inv1
        self.launched += int(used.sum())
        cost = float((used * self.params.missiles.cost[None, :]).sum())
        self.cost_spent += cost
        return -self.value_weight * lost / self._value0 - self.missile_cost_weight * cost

    def _observe(self, req: PlanRequest, t: float) -> ObsDict:
        seen = self._seen
        assert seen.pos_m is not None and seen.vel_mps is not None
        assert seen.picture is not None and seen.rows is not None
        k = self.max_tracks
        slots = req.order[:k]
        self._slots = slots
        obs = self._empty_obs(t)
        n = slots.size
        P = seen.picture.P[seen.rows[slots]]
        sigma = np.sqrt(np.trace(P[:, :3, :3], axis1=1, axis2=2) / 3.0)
        feat = obs["tracks"]
        feat[:n, 0] = req.score[slots]
        feat[:n, 1:4] = seen.pos_m[slots] / 1e3
        feat[:n, 4:7] = seen.vel_mps[slots] / 1e3
        feat[:n, 7] = sigma / 1e3
        feat[:n, 8] = req.salvo[slots]
        feat[:n, 9] = 1.0
        np.nan_to_num(feat, copy=False, posinf=0.0, neginf=0.0)
        mask = np.zeros((k, self.n_options), dtype=bool)
        mask[:n] = self._feasible(req)[slots]
        self._mask = mask
        self._salvo_left = np.zeros(k, dtype=np.int64)
        self._salvo_left[:n] = req.salvo[slots]
        obs["mask"] = mask.astype(np.int8)
        obs["stock"] = req.stock.astype(np.float32)
        obs["channels"] = np.stack(
            [req.target_channels_free, req.missile_channels_free], axis=1
        ).astype(np.float32)
        return obs

    def _empty_obs(self, t: float) -> ObsDict:
        k, n_b, n_m = self.max_tracks, self.n_batteries, self.n_types
        return {
            "tracks": np.zeros((k, N_TRACK_FEATURES), np.float32),
            "mask": np.zeros((k, self.n_options), np.int8),
            "stock": np.zeros((n_b, n_m), np.float32),
            "channels": np.zeros((n_b, 2), np.float32),
            "time": np.array([t], np.float32),
        }

    def _plan(self, action: I64) -> Plan:
        """The agent's choices as a `Plan` under the greedy planner's capacity rules."""
        req = self._req
        assert req is not None
        if action.shape != (self.max_tracks,):
            raise ValueError(f"action must have shape ({self.max_tracks},), got {action.shape}")
        n_m = self.n_types
        stock = req.stock.copy()
        tch = req.target_channels_free.copy()
        mch = req.missile_channels_free.copy()
        rows: list[int] = []
        opts: list[int] = []
        counts: list[int] = []
        s = self.n_salvo
        for i, row in enumerate(self._slots):
            a = int(action[i]) - 1
            if a < 0 or a >= self.n_options * s:
                continue
            o, size = divmod(a, s)
            if not self._mask[i, o]:
                continue
            b, m = divmod(o, n_m)
            wanted = size + 1 if self.choose_salvo else int(req.salvo[row])
            count = min(wanted, int(req.salvo[row]), int(stock[b, m]), int(mch[b]))
            if tch[b] <= 0 or count <= 0:
                continue
            tch[b] -= 1
            mch[b] -= count
            stock[b, m] -= count
            rows.append(int(row))
            opts.append(o)
            counts.append(count)
        return Plan(
            np.asarray(rows, np.int64), np.asarray(opts, np.int64), np.asarray(counts, np.int64)
        )

    def _preserved(self) -> float:
        if self._state is None:
            return 1.0
        return float(self._state.world.asset_value.sum()) / self._value0

    def _info(self) -> dict[str, Any]:
        n = 0 if self._req is None else int(min(self._req.order.size, self.max_tracks))
        return {
            "t_s": float(self._obs["time"][0]),
            "n_tracks": n,
            "launched": self.launched,
            "cost_spent": self.cost_spent,
            "value_preserved": self._preserved(),
            "seed": self._replication_seed,
        }
