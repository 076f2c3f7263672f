"""Runtime credit-risk scorer: the promoted LightGBM model, Platt-calibrated, exact contributions.

The calibrated log-odds are `slope * margin + intercept`, and LightGBM's `pred_contrib` splits the
margin exactly into per-feature parts plus a bias. So `slope * contribution` is each feature's
exact share of the calibrated log-odds, and the intercept joins the bias: the contributions and
`base_log_odds` add up to `logit(probability)`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
from sqlalchemy.orm import Session

from advisor.predict.credit_features import CreditInputs, load_credit_inputs
from advisor.predict.registry import ModelVersion, Registry
from advisor.predict.score import Score

MODEL_NAME = "credit-risk"
MODEL_FILE = "model.txt"
CALIBRATION_FILE = "calibration.json"


def sigmoid(log_odds: float) -> float:
    """The probability of a log-odds value (no overflow at extreme log-odds)."""
    if log_odds >= 0:
        return 1.0 / (1.0 + math.exp(-log_odds))
    odds = math.exp(log_odds)
    return odds / (1.0 + odds)


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of the booster's margin: p = sigmoid(slope * margin + intercept)."""

    slope: float
    intercept: float

    @classmethod
    def load(cls, path: Path) -> Calibration:
        """Read calibration.json."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(float(data["slope"]), float(data["intercept"]))

    def save(self, path: Path) -> None:
        """Write calibration.json."""
        path.write_text(json.dumps({"slope": self.slope, "intercept": self.intercept}))


class CreditRiskScorer:
    """Scores a customer's probability of a 12-month delinquency with per-feature reasons."""

    def __init__(
        self, booster: lgb.Booster, features: list[str], calibration: Calibration, version: int
    ) -> None:
        self.booster, self.features = booster, features
        self.calibration, self.version = calibration, version
        self._lock = threading.Lock()  # one prediction at a time on the shared booster
        self.base_log_odds = self._contributions(np.zeros((1, len(features))))[-1]

    @classmethod
    def from_version(cls, model: ModelVersion) -> CreditRiskScorer:
        """Load one registered version's artefacts."""
        booster = lgb.Booster(model_file=str(model.path / MODEL_FILE))
        calibration = Calibration.load(model.path / CALIBRATION_FILE)
        return cls(booster, list(model.meta["features"]), calibration, model.version)

    @classmethod
    def from_registry(cls, registry: Registry) -> CreditRiskScorer | None:
        """The promoted version, or None when no credit-risk model is registered."""
        model = registry.promoted(MODEL_NAME)
        return cls.from_version(model) if model is not None else None

    def score_inputs(self, inputs: CreditInputs) -> Score:
        """Calibrated probability and exact calibrated log-odds contributions per feature."""
        row = np.array([[inputs.values[name] for name in self.features]], dtype=float)
        calibrated = self._contributions(row)
        contributions = {name: calibrated[i] for i, name in enumerate(self.features)}
        probability = sigmoid(calibrated[-1] + sum(contributions.values()))
        return Score(probability, MODEL_NAME, self.version, contributions, inputs.defaults_used)

    def _contributions(self, row: np.ndarray) -> list[float]:
        """Calibrated log-odds parts of one row: one per feature, then bias + intercept."""
        with self._lock:
            raw = np.asarray(self.booster.predict(row, pred_contrib=True, num_threads=1))[0]
        slope, intercept = self.calibration.slope, self.calibration.intercept
        return [float(slope * v) for v in raw[:-1]] + [float(slope * raw[-1] + intercept)]

    def base_of(self, score: Score) -> float:
        """The log-odds every customer starts from (bias + intercept): LightGBM's pred_contrib
        bias is the same for every row, so it is kept from the model, never recomputed from
        the probability (a probability of 0 or 1 has no finite log-odds)."""
        del score  # the base does not depend on the score; kept for the trace's call
        return self.base_log_odds

    def score_customer(self, session: Session, customer_id: str, as_of: dt.date) -> Score:
        """Score one customer of the bank (CustomerNotFound when unknown)."""
        return self.score_inputs(load_credit_inputs(session, customer_id, as_of))
