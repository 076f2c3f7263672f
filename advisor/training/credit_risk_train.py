"""Train the credit-risk model: monotone LightGBM, Platt-calibrated, held-out customer metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from advisor.ops.drift import reference
from advisor.predict.credit_features import FEATURES, MONOTONE, PROTECTED
from advisor.predict.credit_risk import (
    CALIBRATION_FILE,
    MODEL_FILE,
    MODEL_NAME,
    Calibration,
    CreditRiskScorer,
)
from advisor.predict.registry import ModelVersion, Registry
from advisor.training.credit_risk_data import CreditTable, Say, load_table
from advisor.training.router_data import TrainingDataError

MIN_PER_CLASS = 5  # positives and negatives each split needs at the least
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "lambda_l2": 1.0,
    "feature_fraction": 0.9,
    "monotone_constraints": [MONOTONE[name] for name in FEATURES],
    "monotone_constraints_method": "advanced",
    "seed": 7,
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 1,
    "verbose": -1,
}
MAX_ROUNDS, EARLY_STOP = 400, 30
RELIABILITY_BINS = 10


@dataclass(frozen=True)
class Fitted:
    """A trained booster and its Platt calibration."""

    booster: lgb.Booster
    calibration: Calibration

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of rows in FEATURES order."""
        margin = np.asarray(self.booster.predict(rows, raw_score=True))
        logit = self.calibration.slope * margin + self.calibration.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-logit)))


def check_split(name: str, labels: np.ndarray) -> None:
    """TrainingDataError when a split lacks enough customers of either outcome."""
    positives = int(labels.sum())
    if positives < MIN_PER_CLASS or len(labels) - positives < MIN_PER_CLASS:
        raise TrainingDataError(
            f"the {name} split has {positives} delinquent and {len(labels) - positives} other "
            f"customers; need {MIN_PER_CLASS} of each (seed a larger training bank)"
        )


def fit(table: CreditTable, params: dict[str, Any] | None = None) -> Fitted:
    """Boost on the train split (early stop on calibration), then Platt-scale on calibration."""
    (x_train, y_train), (x_cal, y_cal) = table.part("train"), table.part("calibration")
    check_split("train", y_train)
    check_split("calibration", y_cal)
    train = lgb.Dataset(x_train, y_train, feature_name=list(FEATURES), free_raw_data=False)
    valid = lgb.Dataset(x_cal, y_cal, reference=train)
    booster = lgb.train(
        params or PARAMS, train, MAX_ROUNDS, valid_sets=[valid],
        callbacks=[lgb.early_stopping(EARLY_STOP, verbose=False)],
    )  # fmt: skip
    margin = np.asarray(booster.predict(x_cal, raw_score=True)).reshape(-1, 1)
    platt = LogisticRegression(C=1e6).fit(margin, y_cal)
    calibration = Calibration(float(platt.coef_[0][0]), float(platt.intercept_[0]))
    if calibration.slope <= 0:
        raise TrainingDataError("the model ranks no better than chance on the calibration split")
    return Fitted(booster, calibration)


def evaluate(fitted: Fitted, table: CreditTable) -> dict[str, Any]:
    """ROC-AUC, PR-AUC and Brier on the held-out test customers, beside simple baselines."""
    rows, labels = table.part("test")
    check_split("test", labels)
    probs = fitted.probabilities(rows)
    score_column = FEATURES.index("bureau_score")
    return {
        "test_customers": len(labels),
        "test_delinquent": int(labels.sum()),
        "base_rate": round(float(labels.mean()), 4),
        "roc_auc": round(float(roc_auc_score(labels, probs)), 4),
        "pr_auc": round(float(average_precision_score(labels, probs)), 4),
        "brier": round(float(brier_score_loss(labels, probs)), 4),
        "brier_base_rate": round(float(labels.mean() * (1 - labels.mean())), 4),
        "roc_auc_bureau_score_only": round(float(roc_auc_score(labels, -rows[:, score_column])), 4),
        "reliability": reliability(probs, labels),
    }


def reliability(probs: np.ndarray, labels: np.ndarray) -> list[dict[str, float]]:
    """Mean predicted against observed rate in deciles of predicted risk."""
    order = np.argsort(probs)
    bins = [b for b in np.array_split(order, RELIABILITY_BINS) if len(b)]
    return [
        {
            "customers": len(b),
            "predicted": round(float(probs[b].mean()), 4),
            "observed": round(float(labels[b].mean()), 4),
        }
        for b in bins
    ]


def train_credit_risk(
    registry: Registry, url: str, say: Say = lambda _m: None, limit: int | None = None
) -> ModelVersion:
    """Train on the bank's labelled customers (the first `limit`), evaluate, register promoted;
    on bad data nothing is registered."""
    started = time.monotonic()
    table = load_table(url, say, limit)
    say(f"training on {len(table.ids)} customers")
    return register_model(registry, table, started)


def register_model(registry: Registry, table: CreditTable, started: float) -> ModelVersion:
    """Fit and evaluate on a table, then register the version promoted."""
    fitted = fit(table)
    metrics = evaluate(fitted, table)
    with registry.stage(MODEL_NAME) as stage:
        fitted.booster.save_model(str(stage.path / MODEL_FILE))
        fitted.calibration.save(stage.path / CALIBRATION_FILE)
        stage.meta.update(
            data_hash=table.digest(), params=PARAMS, metrics=metrics, features=list(FEATURES),
            monotone=MONOTONE, excluded_protected=sorted(PROTECTED),
            rounds=fitted.booster.current_iteration(),
            calibration={"method": "platt", "slope": fitted.calibration.slope,
                         "intercept": fitted.calibration.intercept},
            training={"customers": len(table.ids), "as_of": table.as_of.isoformat(),
                      "seconds": round(time.monotonic() - started, 1)},
        )  # fmt: skip
        stage.meta["card"] = model_card(table, metrics, fitted)
        stage.meta["monitoring"] = monitoring_reference(table, fitted)  # advisor models monitor
    model = registry.promoted(MODEL_NAME)
    assert model is not None
    CreditRiskScorer.from_version(model)  # the artefacts load as serving loads them
    return model


def monitoring_reference(table: CreditTable, fitted: Fitted) -> dict[str, Any]:
    """Training rows' feature histograms; held-out scores and calibration (the monitor's)."""
    test_rows, test_labels = table.part("test")
    probs = fitted.probabilities(test_rows)
    return reference(table.part("train")[0], list(FEATURES), probs, test_labels)


def _metrics_table(metrics: dict[str, Any]) -> str:
    """The held-out metrics as a markdown table."""
    names = {
        "roc_auc": "ROC-AUC",
        "pr_auc": "PR-AUC",
        "brier": "Brier",
        "brier_base_rate": "Brier of the base rate",
        "roc_auc_bureau_score_only": "ROC-AUC of the bureau score alone",
    }
    head = "| " + " | ".join(names.values()) + " |\n|" + "---|" * len(names)
    return head + "\n| " + " | ".join(str(metrics[k]) for k in names) + " |"


def model_card(table: CreditTable, metrics: dict[str, Any], fitted: Fitted) -> str:
    """The markdown model card."""
    monotone = ", ".join(f"{n} ({'+' if d > 0 else '-'})" for n, d in MONOTONE.items() if d)
    rows = "\n".join(
        f"| {b['predicted']:.3f} | {b['observed']:.3f} | {b['customers']} |"
        for b in metrics["reliability"]
    )
    return f"""# credit-risk

Probability that a customer becomes delinquent within 12 months (label
`CreditProfile.delinquent_12m` of the synthetic bank, drawn from a latent stress the model
never sees). Used by the credit-limit decision (advisor/decisions/credit.py) to pick a risk
band and to derive Regulation B principal reasons from exact LightGBM `pred_contrib`.

- Training bank: {len(table.ids)} labelled customers as of {table.as_of}; split by customer
  (sha256 of the id): 60% train, 20% early stopping and Platt calibration, 20% test.
- Features: {", ".join(FEATURES)}.
- Monotone constraints (risk rises +, falls -): {monotone}.
- Never used (ECOA protected bases and proxies): {", ".join(sorted(PROTECTED))}.
- LightGBM {fitted.booster.current_iteration()} rounds; Platt slope
  {fitted.calibration.slope:.3f}, intercept {fitted.calibration.intercept:.3f}.

## Held-out customers ({metrics["test_customers"]}, {metrics["test_delinquent"]} delinquent)

{_metrics_table(metrics)}

Reliability (deciles of predicted risk):

| predicted | observed | customers |
|---|---|---|
{rows}

Limits: synthetic data; the label is a simulation's latent-stress draw, so the figures say how
well the model recovers that simulation, not how it would do on a real portfolio.
"""
