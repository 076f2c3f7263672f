"""Batch update of the bandit from logged outcomes (`advisor bandit update`, or on a schedule).

Every rewarded suggestion since a date is read with its joined outcomes. A bandit fitted on the
earlier 80% (by time) is evaluated off-policy (IPS, SNIPS, DR with bootstrap intervals) on the
latest 20% against the logging policy's own value there; the bandit fitted on all of them is
registered as a new `bandit` version (the registry writes it atomically) with that evaluation
in its meta, and promoted only when asked (`always`) or, with `auto`, when there were at least
`min_rewarded` rewarded suggestions, logs that show at least `min_support` of what it would
choose, and DR's lower 95% bound at least the logging value.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from advisor.decisions.policy import Policy, shipped_policy
from advisor.errors import InvalidInput
from advisor.learning.bandit import MODEL_NAME, BanditModel
from advisor.learning.config import BanditConfig, shipped_config
from advisor.learning.features import as_array
from advisor.learning.join import Joined, joined
from advisor.learning.suggestions import SuggestionLog
from advisor.learning_eval.evaluate import logged_data, policy_matrix, report
from advisor.predict.registry import Registry

PROMOTE = ("auto", "always", "never")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
HOLD_OUT = 0.2
# What the bandit learns from and is judged on: the first item of chat and API lists, chosen by
# the ranking or the bandit. Nudges (policy `rule`, one candidate, probability 1) are decided by
# rules on another channel: they would teach the arms what a nudge earns and inflate support.
LEARNED_CHANNELS, LEARNED_POLICIES = ("api", "chat"), ("ranking", "bandit")


class NothingToLearn(InvalidInput):
    """No rewarded suggestion to learn from (nothing is registered)."""


@dataclass(frozen=True)
class Batch:
    """Rewarded suggestions as arrays, oldest first."""

    contexts: np.ndarray
    actions: list[str]
    rewards: np.ndarray
    logging_p: np.ndarray
    permitted: list[list[str]]

    def part(self, start: int, stop: int | None) -> Batch:
        """The rows start:stop."""
        cut = slice(start, stop)
        return Batch(self.contexts[cut], self.actions[cut], self.rewards[cut],
                     self.logging_p[cut], self.permitted[cut])  # fmt: skip


@dataclass
class UpdateReport:
    """What an update learned from, how the evaluation went, what was registered."""

    rewarded: int
    pending: int
    version: int | None = None
    promoted: bool = False
    reason: str = ""
    evaluation: dict[str, Any] = field(default_factory=dict)


def batch_of(items: list[Joined], arms: tuple[str, ...]) -> Batch:
    """The rewarded chat and API suggestions of actions the bandit has (no nudges)."""
    rows = [j for j in items if j.reward is not None and j.row.chosen in arms and learned(j)]
    permitted = [permitted_of(j, arms) for j in rows]
    return Batch(
        as_array([json.loads(j.row.context) for j in rows]), [j.row.chosen for j in rows],
        np.asarray([j.reward for j in rows], dtype=float),
        np.asarray([j.row.propensity for j in rows], dtype=float), permitted,
    )  # fmt: skip


def learned(item: Joined) -> bool:
    """Whether the suggestion is one the bandit chooses: a chat or API list's first item."""
    return item.row.channel in LEARNED_CHANNELS and item.row.policy in LEARNED_POLICIES


def permitted_of(item: Joined, arms: tuple[str, ...]) -> list[str]:
    """The suggestion's logged candidates the bandit knows, always with the chosen one."""
    found = [a for a in json.loads(item.row.candidates) if a in arms]
    return found if item.row.chosen in found else [*found, item.row.chosen]


def fitted(batch: Batch, arms: tuple[str, ...], config: BanditConfig) -> BanditModel:
    """A fresh bandit fitted on the batch."""
    model = BanditModel.new(arms, config)
    model.update(batch.actions, list(batch.rewards), batch.contexts)
    return model


def evaluation(batch: Batch, arms: tuple[str, ...], config: BanditConfig) -> dict[str, Any]:
    """Off-policy estimates of a bandit fitted on the earlier rows, on the later rows."""
    cut = max(1, int(len(batch.actions) * (1 - HOLD_OUT)))
    if cut >= len(batch.actions):
        return {"n": 0, "note": "too few rewarded suggestions to hold any out"}
    model, held = fitted(batch.part(0, cut), arms, config), batch.part(cut, None)
    target = policy_matrix(model, config.explore_share, held.contexts, held.permitted, arms)
    index = {a: i for i, a in enumerate(arms)}
    actions = np.asarray([index[a] for a in held.actions])
    data = logged_data(held.contexts, actions, held.rewards, held.logging_p, target,
                       config.l2_lambda)  # fmt: skip
    choices = np.asarray([len(p) for p in held.permitted])
    return report(data, config.bootstrap, config.seed, choices) | {"trained_on": cut}


def should_promote(found: dict[str, Any], rewarded: int, config: BanditConfig) -> tuple[bool, str]:
    """The `auto` rule: enough evidence, and DR's lower bound at least the logging value."""
    if rewarded < config.min_rewarded:
        return False, f"{rewarded} rewarded suggestions, fewer than {config.min_rewarded}"
    if found["support"] < config.min_support:
        return False, f"the logs show {found['support']:.0%} of what it would choose"
    low, logging = found["ope"]["dr"]["ci_low"], found["logging_value"]["estimate"]
    if low < logging:
        return False, f"DR lower bound {low:.4f} below the logging value {logging:.4f}"
    return True, f"DR lower bound {low:.4f} at least the logging value {logging:.4f}"


def update(
    log: SuggestionLog, registry: Registry, since: dt.datetime = EPOCH, promote: str = "auto",
    config: BanditConfig | None = None, policy: Policy | None = None,
    now: dt.datetime | None = None,
) -> UpdateReport:  # fmt: skip
    """Learn from the logged outcomes, evaluate, register (and maybe promote) a new version."""
    if promote not in PROMOTE:
        raise InvalidInput(f"promote must be one of {', '.join(PROMOTE)}")
    config, policy = config or shipped_config(), policy or shipped_policy()
    arms = tuple(a.id for a in policy.actions)
    items = joined(log, since, config, policy, now)
    batch = batch_of(items, arms)
    result = UpdateReport(len(batch.actions), sum(j.reward is None and learned(j) for j in items))
    if not batch.actions:
        raise NothingToLearn(f"no rewarded suggestion since {since.date()}; nothing registered")
    result.evaluation = evaluation(batch, arms, config)
    result.promoted, result.reason = decide(promote, result, config)
    with registry.stage(MODEL_NAME, promote=result.promoted) as stage:
        fitted(batch, arms, config).save(stage)
        stage.meta.update(evaluation=result.evaluation, rewarded=result.rewarded,
                          since=since.isoformat(), promotion=result.reason)  # fmt: skip
    result.version = stage.version
    return result


def decide(promote: str, result: UpdateReport, config: BanditConfig) -> tuple[bool, str]:
    """Whether to promote the new version, and why."""
    if promote != "auto":
        return promote == "always", f"--promote {promote}"
    if not result.evaluation.get("n"):
        return False, "no held-out evaluation"
    return should_promote(result.evaluation, result.rewarded, config)
