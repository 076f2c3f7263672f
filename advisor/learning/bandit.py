"""The bandit model: MABWiser's LinUCB over the policy's actions, saved in the model registry.

The state is LinUCB's own arrays, never a pickle: per arm the ridge matrix A = X'X + lambda*I and
the vector X'y, as an .npz (read with allow_pickle=False) in a registry version with its SHA-256,
alpha and lambda in meta.json. Loading rebuilds a MABWiser learner and sets each arm's arrays
(its `_RidgeRegression` model: A, A_inv, Xty, beta), so a MABWiser upgrade that moves classes
cannot break it and no file is ever unpickled; the digest still refuses a truncated file.
"""

from __future__ import annotations

import io
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
STATE_FILE = "bandit.npz"


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
        """Write each arm's A and X'y into a registry stage, with digest and settings in meta."""
        models = [self.mab._imp.arm_to_model[a] for a in self.arms] if self.trained_on else []
        buffer = io.BytesIO()
        np.savez(
            buffer, A=np.asarray([m.A for m in models]), Xty=np.asarray([m.Xty for m in models])
        )
        payload = buffer.getvalue()
        (stage.path / STATE_FILE).write_bytes(payload)
        policy = self.mab.learning_policy
        stage.meta.update(arms=list(self.arms), features=list(FEATURE_NAMES),
                          trained_on=self.trained_on, sha256=data_hash(payload),
                          alpha=policy.alpha, l2_lambda=policy.l2_lambda)  # fmt: skip

    @classmethod
    def load(cls, found: ModelVersion) -> BanditModel:
        """A version rebuilt from its arrays; refused unless its digest and features match."""
        path: Path = found.path / STATE_FILE
        payload = path.read_bytes()
        if data_hash(payload) != found.meta.get("sha256"):
            raise BanditStateError(f"{path} does not match the digest in its meta.json")
        if found.meta.get("features") != list(FEATURE_NAMES):
            raise BanditStateError(f"bandit v{found.version} was trained on other features")
        with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
            a_matrices, xty = arrays["A"], arrays["Xty"]
        arms, meta = tuple(found.meta["arms"]), found.meta
        policy = LearningPolicy.LinUCB(
            alpha=float(meta["alpha"]), l2_lambda=float(meta["l2_lambda"])
        )
        model = cls(arms, MAB(list(arms), policy), int(meta.get("trained_on", 0)), found.version)
        if model.trained_on:
            model.restore(a_matrices, xty)
        return model

    def restore(self, a_matrices: np.ndarray, xty: np.ndarray) -> None:
        """Set each arm's ridge state (a fit on one zero context first makes the learner fitted
        without changing any arm's statistics)."""
        if a_matrices.shape != (len(self.arms), len(FEATURE_NAMES), len(FEATURE_NAMES)):
            raise BanditStateError("the stored bandit state has the wrong shape")
        self.mab.fit([self.arms[0]], [0.0], np.zeros((1, len(FEATURE_NAMES))))
        for arm, a_matrix, vector in zip(self.arms, a_matrices, xty, strict=True):
            ridge = self.mab._imp.arm_to_model[arm]
            ridge.A, ridge.Xty = a_matrix, vector
            ridge.A_inv = np.linalg.inv(a_matrix)
            ridge.beta = ridge.A_inv @ vector
