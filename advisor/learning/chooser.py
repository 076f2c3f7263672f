"""Choosing the first suggestion among the actions the policy permits, with its probability.

`ranking`: the policy's top action, always (probability 1): the default. `bandit`: with
probability 1 - explore_share the permitted action with the bandit's best expectation (before it
has learned anything, the ranking's top), else one drawn uniformly from the permitted actions, so

    P(a) = (1 - explore_share) * [a is the greedy pick] + explore_share / K

over the K permitted actions. The choice is only ever one of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from advisor.learning.bandit import BanditModel
from advisor.learning.features import as_array

RANKING, BANDIT = "ranking", "bandit"


@dataclass(frozen=True)
class Choice:
    """The chosen action, the probability it had, and what it was chosen from."""

    chosen: str
    propensity: float
    candidates: tuple[str, ...]
    policy: str
    greedy: str
    model_version: int | None = None

    @property
    def explored(self) -> bool:
        """Whether exploration picked something other than the greedy action."""
        return self.chosen != self.greedy

    def to_json(self) -> dict[str, object]:
        """How the choice was made, for the decision trace."""
        return {"policy": self.policy, "chosen": self.chosen, "propensity": self.propensity,
                "greedy": self.greedy, "candidates": list(self.candidates),
                "model_version": self.model_version}  # fmt: skip


def probabilities(greedy: str, candidates: Sequence[str], explore_share: float) -> np.ndarray:
    """Each candidate's probability of being chosen (ε-greedy over the permitted set)."""
    share = np.full(len(candidates), explore_share / len(candidates))
    share[list(candidates).index(greedy)] += 1.0 - explore_share
    return share


def greedy_arm(model: BanditModel | None, expectations: np.ndarray, ranked: Sequence[str]) -> str:
    """The permitted action with the best expectation; the ranking's top when none is known."""
    if model is None or not model.trained_on:
        return ranked[0]
    column = {arm: i for i, arm in enumerate(model.arms)}
    known = [a for a in ranked if a in column]
    if not known:
        return ranked[0]
    return max(known, key=lambda a: (expectations[column[a]], -ranked.index(a)))


class Chooser:
    """Chooses among permitted actions; seeded, so a run of choices is reproducible."""

    def __init__(
        self, model: BanditModel | None, explore_share: float, seed: int, bandit: bool = True
    ) -> None:
        self.model, self.explore_share, self.bandit = model, explore_share, bandit
        self.rng = np.random.default_rng(seed)

    def choose(self, context: Mapping[str, float], ranked: Sequence[str]) -> Choice:
        """One choice among `ranked` (permitted actions, the policy's order); never outside it."""
        if not ranked:
            raise ValueError("nothing to choose from")
        if not self.bandit:
            return Choice(ranked[0], 1.0, tuple(ranked), RANKING, ranked[0])
        expectations = self.expectations([context])[0]
        return self.draw(expectations, ranked)

    def expectations(self, contexts: list[Mapping[str, float]]) -> np.ndarray:
        """The bandit's expectations per context and arm (zeros when it has none)."""
        if self.model is None:
            return np.zeros((len(contexts), 0))
        return self.model.expectations(as_array(contexts))

    def draw(self, expectations: np.ndarray, ranked: Sequence[str]) -> Choice:
        """Draw one permitted action given the bandit's expectations for this context."""
        greedy = greedy_arm(self.model, expectations, ranked)
        chances = probabilities(greedy, ranked, self.explore_share)
        index = int(self.rng.choice(len(ranked), p=chances))
        version = self.model.version if self.model is not None else None
        return Choice(ranked[index], float(chances[index]), tuple(ranked), BANDIT, greedy, version)
