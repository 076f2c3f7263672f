"""The bandit model: MABWiser's LinUCB over the policy's actions, saved in the model registry.

The state is the fitted MABWiser object, pickled (MABWiser's documented way to persist a
model) into a registry version with its SHA-256 in meta.json; loading checks the digest first,
so a truncated or edited file is refused rather than unpickled.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from mabwiser.mab import MAB, LearningPolicy

from advisor.errors import AdvisorError
from advisor.learning.config import BanditConfig
from advisor.learning.features import FEATURE_NAMES
from advisor.predict.registry import ModelVersion, Stage, data_hash

MODEL_NAME = "bandit"
STATE_FILE = "bandit.pkl"


class BanditStateError(AdvisorError):
    """A stored bandit state that does not match its recorded digest or features."""


@dataclass
class BanditModel:
    """A contextual bandit over named arms with a fixed feature order."""

    arms: tuple[str, ...]
    mab: Any  # mabwiser.mab.MAB (untyped library)
    trained_on: int = 0
    version: int | None = None

    @classmethod
    def new(cls, arms: Sequence[str], config: BanditConfig) -> BanditModel:
        """An untrained LinUCB bandit over the arms, seeded."""
        policy = LearningPolicy.LinUCB(alpha=config.alpha, l2_lambda=config.l2_lambda)
        return cls(tuple(arms), MAB(list(arms), policy, seed=config.seed))

    def update(
        self, decisions: Sequence[str], rewards: Sequence[float], contexts: np.ndarray
    ) -> None:
        """Learn from a batch (the first batch fits, later ones add to it)."""
        if not len(decisions):
            return
        known = [d in self.arms for d in decisions]
        if not all(known):
            raise ValueError("a decision names an arm the bandit does not have")
        learn = self.mab.partial_fit if self.trained_on else self.mab.fit
        learn(list(decisions), list(rewards), contexts)
        self.trained_on += len(decisions)

    def expectations(self, contexts: np.ndarray) -> np.ndarray:
        """Upper confidence bounds, one row per context, one column per arm (arms order)."""
        if not self.trained_on:
            return np.zeros((len(contexts), len(self.arms)))
        found = self.mab.predict_expectations(contexts)
        rows = [found] if isinstance(found, dict) else found
        return np.asarray([[float(r[a]) for a in self.arms] for r in rows])

    def save(self, stage: Stage) -> None:
        """Write the state into a registry stage, with its digest and features in the meta."""
        payload = pickle.dumps(self.mab, protocol=pickle.HIGHEST_PROTOCOL)
        (stage.path / STATE_FILE).write_bytes(payload)
        stage.meta.update(arms=list(self.arms), features=list(FEATURE_NAMES),
                          trained_on=self.trained_on, sha256=data_hash(payload))  # fmt: skip

    @classmethod
    def load(cls, found: ModelVersion) -> BanditModel:
        """A registered version, refused unless its digest and features match."""
        path: Path = found.path / STATE_FILE
        payload = path.read_bytes()
        if data_hash(payload) != found.meta.get("sha256"):
            raise BanditStateError(f"{path} does not match the digest in its meta.json")
        if found.meta.get("features") != list(FEATURE_NAMES):
            raise BanditStateError(f"bandit v{found.version} was trained on other features")
        mab = pickle.loads(payload)  # our own artefact, its digest checked above
        arms = tuple(found.meta["arms"])
        return cls(arms, mab, int(found.meta.get("trained_on", 0)), found.version)
