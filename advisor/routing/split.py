"""When the router is split between two servicing intents: the rule that names the runner-up
as an alternative (its thresholds are tuned on the router's tune split and stored in its card),
read from the probabilities the router already has (no extra model pass)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SPLIT_FAMILY = "servicing"  # both intents of a split decision are of this family


@dataclass(frozen=True)
class Alternative:
    """The runner-up intent of a split decision and its calibrated probability."""

    intent: str
    confidence: float

    def to_json(self) -> dict[str, Any]:
        """`{"intent", "confidence"}`."""
        return {"intent": self.intent, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class SplitRule:
    """Split when the top intent's probability is below `max_top` and the runner-up's is within
    `max_margin` of it; the default never splits (a model trained before the rule existed)."""

    max_top: float = 0.0
    max_margin: float = 0.0

    def splits(self, top: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Per row, whether the decision between the two is split."""
        split: np.ndarray = (top < self.max_top) & (top - second < self.max_margin)
        return split

    def to_card(self) -> dict[str, float]:
        """The card's fields of this rule."""
        return {"split_max_top": self.max_top, "split_max_margin": self.max_margin}

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> SplitRule:
        """The rule a card stores (never split when the card has none)."""
        return cls(float(card.get("split_max_top", 0.0)), float(card.get("split_max_margin", 0.0)))


def split_rows(
    probs: np.ndarray, best: np.ndarray, eligible: np.ndarray, rule: SplitRule
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the runner-up class (the most probable other than `best`, out of scope
    included) and whether the decision is split: both classes eligible and the rule met."""
    rows = np.arange(len(best))
    others = probs.copy()
    others[rows, best] = -1.0
    second = others.argmax(axis=1)
    split = eligible[best] & eligible[second] & rule.splits(probs[rows, best], others[rows, second])
    return second, split
