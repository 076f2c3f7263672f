"""Off-policy estimators of a target policy's value from data a logging policy collected.

No maintained library fits: MABWiser has no off-policy evaluation, and Open Bandit Pipeline
(`obp` 0.5.7, the last release) requires Python < 3.11. With w_i = pi(a_i|x_i) / mu(a_i|x_i),
the target's over the logging policy's probability of the logged action, and q(x, a) a reward
model fitted on the logs:

    IPS   = 1/n sum_i w_i r_i                      (inverse propensity scoring; Horvitz and
                                                    Thompson 1952, Li et al. 2011)
    SNIPS = sum_i w_i r_i / sum_i w_i              (self-normalised; Swaminathan and Joachims 2015)
    DR    = 1/n sum_i [ sum_a pi(a|x_i) q(x_i, a) + w_i (r_i - q(x_i, a_i)) ]
                                                   (doubly robust; Dudik, Langford and Li 2011)

The reward model is cross-fitted (`cross_fitted_rewards`): each round's q comes from a model
fitted on the other folds, never on the round itself, so DR's correction term sees the model's
real error. Confidence intervals: percentile bootstrap over the logged rounds of those
cross-fitted terms (the usual interval for a cross-fitted doubly robust estimate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Logged:
    """Per logged round: reward, both policies' probability of the logged action, and the
    reward model's value of the logged action and of the target policy."""

    reward: np.ndarray
    logging_p: np.ndarray
    target_p: np.ndarray
    q_logged: np.ndarray
    q_target: np.ndarray

    def take(self, index: np.ndarray) -> Logged:
        """The rounds at `index` (a bootstrap resample)."""
        return Logged(*(getattr(self, f)[index] for f in self.__dataclass_fields__))


def ips(d: Logged) -> float:
    """Inverse propensity scoring."""
    return float(np.mean(d.target_p / d.logging_p * d.reward))


def snips(d: Logged) -> float:
    """Self-normalised inverse propensity scoring."""
    weights = d.target_p / d.logging_p
    total = float(np.sum(weights))
    return float(np.sum(weights * d.reward) / total) if total > 0 else 0.0


def dr(d: Logged) -> float:
    """Doubly robust: the reward model's value corrected by weighted residuals."""
    weights = d.target_p / d.logging_p
    return float(np.mean(d.q_target + weights * (d.reward - d.q_logged)))


def on_policy(d: Logged) -> float:
    """The logging policy's own value: the mean logged reward."""
    return float(np.mean(d.reward))


ESTIMATORS: dict[str, Callable[[Logged], float]] = {"ips": ips, "snips": snips, "dr": dr}


def with_interval(
    estimator: Callable[[Logged], float], d: Logged, resamples: int, seed: int, level: float = 0.95
) -> dict[str, float]:
    """`{"estimate", "ci_low", "ci_high"}`: the estimate and its percentile bootstrap interval."""
    rng = np.random.default_rng(seed)
    n = len(d.reward)
    draws = [estimator(d.take(rng.integers(0, n, n))) for _ in range(resamples)]
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(draws, [tail, 100.0 - tail])
    return {"estimate": estimator(d), "ci_low": float(low), "ci_high": float(high)}


def evaluate(d: Logged, resamples: int = 200, seed: int = 0) -> dict[str, dict[str, float]]:
    """Every estimator with its interval (the same resamples for each), plus the logging
    policy's own value under `logging`."""
    found = {name: with_interval(f, d, resamples, seed) for name, f in ESTIMATORS.items()}
    return found | {"logging": with_interval(on_policy, d, resamples, seed)}


def ridge_rewards(
    contexts: np.ndarray, actions: np.ndarray, rewards: np.ndarray, arms: int, l2: float = 1.0
) -> np.ndarray:
    """A reward model for DR: one ridge regression per arm on the logs; coefficients (arms, d)."""
    dims = contexts.shape[1]
    coefs = np.zeros((arms, dims))
    for arm in range(arms):
        x, y = contexts[actions == arm], rewards[actions == arm]
        coefs[arm] = np.linalg.solve(x.T @ x + l2 * np.eye(dims), x.T @ y)
    return coefs


def cross_fitted_rewards(
    contexts: np.ndarray, actions: np.ndarray, rewards: np.ndarray, arms: int, l2: float = 1.0,
    folds: int = 5, seed: int = 0,
) -> np.ndarray:  # fmt: skip
    """Each round's reward model values (n, arms), from ridge models fitted without its fold."""
    n = len(actions)
    fold = np.random.default_rng(seed).permutation(n) % max(1, min(folds, n))
    q = np.zeros((n, arms))
    for k in np.unique(fold):
        held, rest = fold == k, fold != k
        coefs = ridge_rewards(contexts[rest], actions[rest], rewards[rest], arms, l2)
        q[held] = contexts[held] @ coefs.T
    return q
