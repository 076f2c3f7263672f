"""Off-policy evaluation of a bandit on logged suggestions: the target's probabilities of every
permitted action, a reward model for DR, and the estimates against the logging policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from advisor.learning.bandit import BanditModel
from advisor.learning.chooser import greedy_arm, probabilities
from advisor.learning_eval import ope


def policy_matrix(
    model: BanditModel | None, explore_share: float, contexts: np.ndarray,
    permitted: Sequence[Sequence[str]], arms: Sequence[str],
) -> np.ndarray:  # fmt: skip
    """Each round's probability of choosing each arm, (n, arms): the chooser's ε-greedy over
    the round's permitted actions (greedy on the model, or the ranking's top without one)."""
    column = {a: i for i, a in enumerate(arms)}
    expected = model.expectations(contexts) if model is not None else np.zeros((len(contexts), 0))
    found = np.zeros((len(contexts), len(arms)))
    for t, allowed in enumerate(permitted):
        greedy = greedy_arm(model, expected[t], list(allowed))
        found[t, [column[a] for a in allowed]] = probabilities(greedy, allowed, explore_share)
    return found


def logged_data(
    contexts: np.ndarray, actions: np.ndarray, rewards: np.ndarray, logging_p: np.ndarray,
    target: np.ndarray, l2: float = 1.0,
) -> ope.Logged:  # fmt: skip
    """The estimators' input: logged rounds, the target's matrix, and cross-fitted ridge reward
    models per arm (a round's q never comes from a model fitted on it)."""
    q = ope.cross_fitted_rewards(contexts, actions, rewards, target.shape[1], l2)
    rows = np.arange(len(actions))
    return ope.Logged(rewards, logging_p, target[rows, actions], q[rows, actions],
                      (target * q).sum(axis=1))  # fmt: skip


def support(logged: ope.Logged, choices: np.ndarray | None = None) -> float:
    """The target's mean probability mass on actions the logging policy could play: a round
    logged with probability 1 (the ranking, no exploration) supports only the logged action;
    an exploring round (probability below 1) every permitted one. Rounds with a single
    permitted action (`choices`, how many each had) are left out: there was nothing to choose,
    so they say nothing about the target's choices. Below 1, the estimates miss what the target
    would do where the logs never tried it."""
    keep = np.ones(len(logged.reward), bool) if choices is None else np.asarray(choices) > 1
    if not keep.any():
        return 0.0
    seen = np.where(logged.logging_p >= 1.0, logged.target_p, 1.0)
    return float(np.mean(seen[keep]))


def report(
    logged: ope.Logged, resamples: int, seed: int, choices: np.ndarray | None = None
) -> dict[str, Any]:
    """`{"ope": {ips, snips, dr}, "logging_value": {...}, "n", "support"}`."""
    found = ope.evaluate(logged, resamples, seed)
    own = found.pop("logging")
    return {"ope": found, "logging_value": own, "n": len(logged.reward),
            "support": support(logged, choices)}  # fmt: skip
