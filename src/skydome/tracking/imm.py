"""Interacting multiple model (IMM) filter, batched over tracks.

Each track carries K mode-conditioned Gaussians (`Kinematics.mode_x`, `mode_P`)
and mode probabilities (`mode_prob`). One cycle (Blom & Bar-Shalom, IEEE TAC
33(8), 1988; Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to
Tracking and Navigation*, sec. 11.6.6):

1. mixing: c_j = sum_i p_ij mu_i, mu_i|j = p_ij mu_i / c_j,
   x0_j = sum_i mu_i|j x_i, P0_j = sum_i mu_i|j (P_i + (x_i - x0_j)(x_i - x0_j)^T);
2. mode-matched prediction x_j = F_j x0_j, P_j = F_j P0_j F_j^T + Q_j;
3. mode-matched Joseph update and likelihood L_j = N(nu_j; 0, S_j);
4. mu_j = L_j c_j / sum_k L_k c_k;
5. the combined estimate x = sum_j mu_j x_j, P = sum_j mu_j (P_j + (x_j - x)(x_j - x)^T).

Mode switching is a continuous-time Markov chain, so radars of any revisit
rate share one model: with mean sojourn time tau_i in mode i and switches to the
other modes equally likely, the generator is L_ii = -1/tau_i,
L_ij = 1/(tau_i (K - 1)), and p_ij(dt) = expm(L dt)_ij.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.linalg import expm
from scipy.special import logsumexp

from skydome.arrays import F64
from skydome.tracking.base import Kinematics
from skydome.tracking.kalman import (
    BallisticModel,
    CaModel,
    CtModel,
    CvModel,
    gaussian_loglik,
    kf_predict,
    kf_update_joseph,
    model_drift,
)

__all__ = ["ImmFilter", "markov_transition", "rates_transition"]


_MU_FLOOR = 1e-9


@lru_cache(maxsize=256)
def _transition_cached(sojourn_s: tuple[float, ...], dt_s: float) -> F64:
    k = len(sojourn_s)
    rate = 1.0 / np.asarray(sojourn_s)
    L = np.repeat((rate / max(k - 1, 1))[:, None], k, axis=1)
    np.fill_diagonal(L, -rate)
    out: F64 = expm(L * dt_s)
    out = np.clip(out, 0.0, None)
    out /= out.sum(axis=1, keepdims=True)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=256)
def _rates_transition_cached(rates: tuple[tuple[float, ...], ...], dt_s: float) -> F64:
    L = np.asarray(rates, dtype=np.float64).copy()
    np.fill_diagonal(L, 0.0)
    np.fill_diagonal(L, -L.sum(axis=1))
    out: F64 = np.clip(expm(L * dt_s), 0.0, None)
    out /= out.sum(axis=1, keepdims=True)
    out.setflags(write=False)
    return out


def rates_transition(rates_per_s: tuple[tuple[float, ...], ...], dt_s: float) -> F64:
    """Mode transition matrix expm(L dt) (K, K) of explicit switch rates.

    Args:
        rates_per_s: (K, K) rate of switching from mode i to mode j, 1/s (the
            diagonal is ignored: each row's generator sums to zero).
        dt_s: time step, s.
    """
    return _rates_transition_cached(
        tuple(tuple(float(r) for r in row) for row in rates_per_s), float(dt_s)
    )


def markov_transition(sojourn_s: tuple[float, ...], dt_s: float) -> F64:
    """Mode transition matrix p_ij over `dt_s` (K, K), rows summing to 1.

    Args:
        sojourn_s: mean time spent in each mode before switching, s.
        dt_s: time step, s.
    """
    return _transition_cached(tuple(float(s) for s in sojourn_s), float(dt_s))


def _combine(mx: F64, mP: F64, mu: F64) -> tuple[F64, F64]:
    """Moment-matched mixture of the modes' first 6 components: (N, 6), (N, 6, 6)."""
    xs = mx[:, :, :6]
    x = np.einsum("nk,nkd->nd", mu, xs)
    d = xs - x[:, None, :]
    P = np.einsum("nk,nkde->nde", mu, mP[:, :, :6, :6]) + np.einsum("nk,nkd,nke->nde", mu, d, d)
    return x, 0.5 * (P + P.transpose(0, 2, 1))


@dataclass(frozen=True)
class ImmFilter:
    """IMM filter over motion models of one state dimension.

    Attributes:
        models: the mode-matched models, e.g. a quiet CV model and a high-noise
            manoeuvre model, or CV and coordinated turns left and right.
        sojourn_s: mean time in each mode before a switch, s (one per model).
        initial_prob: mode probabilities of a new track (default: the chain's
            stationary distribution, proportional to the sojourn times).
        initial_acceleration_sigma_mps2: prior acceleration standard deviation
            of a new track when the models have 9 states.
        rates_per_s: explicit (K, K) switch rates i -> j, 1/s, instead of the
            sojourn times' "leave at 1/tau_i, to any other mode alike" (None);
            e.g. a free-fall mode that other modes (almost) never enter.
    """

    models: tuple[CvModel | CaModel | CtModel | BallisticModel, ...]
    sojourn_s: tuple[float, ...]
    initial_prob: tuple[float, ...] | None = None
    rates_per_s: tuple[tuple[float, ...], ...] | None = None
    initial_acceleration_sigma_mps2: float = 30.0

    def __post_init__(self) -> None:
        if len(self.models) < 1 or len(self.sojourn_s) != len(self.models):
            raise ValueError("an IMM needs one sojourn time per model, and at least one model")
        if len({m.dim for m in self.models}) != 1:
            raise ValueError("IMM models must share one state dimension")
        if self.initial_prob is not None and len(self.initial_prob) != len(self.models):
            raise ValueError("initial_prob needs one probability per model")

    @property
    def n_modes(self) -> int:
        """Number of modes K."""
        return len(self.models)

    @property
    def dim(self) -> int:
        """State dimension D of every mode."""
        return self.models[0].dim

    def _mu0(self) -> F64:
        if self.initial_prob is not None:
            p = np.asarray(self.initial_prob, dtype=np.float64)
        else:
            p = np.asarray(self.sojourn_s, dtype=np.float64)
        out: F64 = p / p.sum()
        return out

    def _lift(self, k: Kinematics) -> Kinematics:
        """Give tracks without this filter's modes its layout: every mode = (x, P)."""
        n, K, D = k.n, self.n_modes, self.dim
        mx = np.zeros((n, K, D))
        mx[:, :, :6] = k.x[:, None, :]
        mP = np.zeros((n, K, D, D))
        mP[:, :, :6, :6] = k.P[:, None]
        if D > 6:
            s2 = self.initial_acceleration_sigma_mps2**2
            for i in range(6, D):
                mP[:, :, i, i] = s2
        mu = np.broadcast_to(self._mu0(), (n, K)).copy()
        return Kinematics(k.x, k.P, mx, mP, mu)

    def _ensure(self, k: Kinematics) -> Kinematics:
        if k.mode_x.shape[1:] != (self.n_modes, self.dim):
            return self._lift(k)
        return k

    def initiate(self, z: F64, R: F64, velocity_sigma_mps: float) -> Kinematics:
        """New tracks at measured positions, zero velocity, prior mode probabilities."""
        return self._lift(Kinematics.from_positions(z, R, velocity_sigma_mps))

    def predict(self, k: Kinematics, dt_s: float) -> Kinematics:
        """Mix and predict every mode `dt_s` ahead; `x, P` the combined prediction."""
        k = self._ensure(k)
        if k.n == 0 or dt_s == 0.0:
            return k
        if self.rates_per_s is not None:
            Pi = rates_transition(self.rates_per_s, dt_s)
        else:
            Pi = markov_transition(self.sojourn_s, dt_s)
        mu = k.mode_prob
        c = mu @ Pi  # (N, K) predicted mode probabilities
        W = mu[:, :, None] * Pi[None] / c[:, None, :]  # mu_i|j, (N, K_i, K_j)
        mx, mP = k.mode_x, k.mode_P
        x0 = np.einsum("nij,nid->njd", W, mx)
        d = mx[:, :, None, :] - x0[:, None, :, :]  # (N, K_i, K_j, D)
        P0 = np.einsum("nij,nide->njde", W, mP) + np.einsum("nij,nijd,nije->njde", W, d, d)
        P0 = 0.5 * (P0 + P0.transpose(0, 1, 3, 2))
        xs = np.empty_like(x0)
        Ps = np.empty_like(P0)
        for j, model in enumerate(self.models):  # K models: a handful
            F, Q = model.transition(dt_s)
            xs[:, j], Ps[:, j] = kf_predict(x0[:, j], P0[:, j], F, Q)
            d = model_drift(model, dt_s)
            if d is not None:
                xs[:, j, : d.size] += d
        x, P = _combine(xs, Ps, c)
        return Kinematics(x, P, xs, Ps, c)

    def update(self, k: Kinematics, z: F64, R: F64) -> Kinematics:
        """Mode-matched updates, mode probabilities from the mode likelihoods."""
        k = self._ensure(k)
        if k.n == 0:
            return k
        xs = np.empty_like(k.mode_x)
        Ps = np.empty_like(k.mode_P)
        ll = np.empty_like(k.mode_prob)
        for j in range(self.n_modes):
            xs[:, j], Ps[:, j], nu, S = kf_update_joseph(k.mode_x[:, j], k.mode_P[:, j], z, R)
            ll[:, j] = gaussian_loglik(nu, S)
        logw = ll + np.log(np.maximum(k.mode_prob, 1e-300))
        mu = np.exp(logw - logsumexp(logw, axis=1, keepdims=True))
        mu = np.maximum(mu, _MU_FLOOR)
        mu /= mu.sum(axis=1, keepdims=True)
        x, P = _combine(xs, Ps, mu)
        return Kinematics(x, P, xs, Ps, mu)
