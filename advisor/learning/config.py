"""The bandit's settings as data: the `bandit:` block of advisor/decisions/nba_policy.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from advisor.decisions.policy import POLICY_FILE

OUTCOMES = ("confirmed", "declined", "expired", "thumbs_up", "thumbs_down", "product_opened")
LEARNING_POLICIES = ("LinUCB",)  # exact choice probabilities: the logged propensity is exact


@dataclass(frozen=True)
class BanditConfig:
    """How the bandit learns, explores and is rewarded."""

    learning_policy: str
    alpha: float
    l2_lambda: float
    seed: int
    explore_share: float
    rewards: Mapping[str, float]
    no_response_after_days: int
    thumbs_window_s: int
    nudge_arms: Mapping[str, str]
    min_rewarded: int
    min_support: float
    bootstrap: int
    opening_window_days: int = 30

    def reward(self, outcomes: list[str]) -> float:
        """A suggestion's reward: its outcomes' rewards summed, clipped to [-1, 1]."""
        return max(-1.0, min(1.0, sum(self.rewards[o] for o in outcomes)))


def parse_config(raw: Mapping[str, Any]) -> BanditConfig:
    """The config from the YAML block; refuses what the chooser cannot honour."""
    if raw["learning_policy"] not in LEARNING_POLICIES:
        raise ValueError(f"learning_policy must be one of {LEARNING_POLICIES}")
    share = float(raw["explore_share"])
    if not 0.0 <= share <= 1.0:
        raise ValueError("explore_share must be between 0 and 1")
    if missing := set(OUTCOMES) - set(raw["rewards"]):
        raise ValueError(f"bandit rewards lack {sorted(missing)}")
    return BanditConfig(
        str(raw["learning_policy"]), float(raw["alpha"]), float(raw["l2_lambda"]),
        int(raw["seed"]), share, {k: float(v) for k, v in raw["rewards"].items()},
        int(raw["no_response_after_days"]), int(raw["thumbs_window_s"]),
        dict(raw["nudge_arms"]), int(raw["promotion"]["min_rewarded"]),
        float(raw["promotion"]["min_support"]), int(raw["promotion"]["bootstrap"]),
        int(raw.get("opening_window_days", 30)),
    )  # fmt: skip


def load_config(path: Path | None = None) -> BanditConfig:
    """The bandit block of a policy file (the shipped one by default)."""
    if path is None:
        return shipped_config()
    return parse_config(yaml.safe_load(path.read_text("utf-8"))["bandit"])


@lru_cache(maxsize=1)
def shipped_config() -> BanditConfig:
    """The shipped bandit config, read once."""
    return parse_config(yaml.safe_load(POLICY_FILE.read_text("utf-8"))["bandit"])
