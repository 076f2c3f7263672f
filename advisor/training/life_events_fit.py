"""LightGBM per life event, calibration fits and the metrics every candidate is judged on."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from advisor.predict.life_event_calibration import calibrate

GBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.08,
    "max_bin": 63,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "verbose": -1,
    "seed": 7,
    "deterministic": True,
}
GBM_ROUNDS = 300
GBM_PATIENCE = 50
ISOTONIC_MIN_POSITIVES = 30  # fewer calibration positives: Platt scaling instead
TOP_SHARE = 0.05


def fit_gbm(
    x: np.ndarray, y: np.ndarray, stop: np.ndarray, names: list[str]
) -> lgb.Booster:
    """One binary LightGBM; `stop` marks the rows (other customers) used for early stopping."""
    fit = lgb.Dataset(x[~stop], y[~stop], feature_name=names, free_raw_data=True)
    check = lgb.Dataset(x[stop], y[stop], reference=fit)
    return lgb.train(
        GBM_PARAMS,
        fit,
        num_boost_round=GBM_ROUNDS,
        valid_sets=[check],
        callbacks=[lgb.early_stopping(GBM_PATIENCE, verbose=False)],
    )


def gbm_logit(booster: lgb.Booster, x: np.ndarray) -> np.ndarray:
    """Raw log-odds of a LightGBM model."""
    return np.asarray(booster.predict(x, raw_score=True), dtype=np.float64)


def _fit_map(method: str, raw_logit: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Fit one calibration map: identity, Platt (on log-odds) or isotonic (on probability)."""
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(1.0 / (1.0 + np.exp(-raw_logit)), y)
        return {"method": method, "x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    if method == "platt" and 0 < y.sum() < len(y):
        platt = LogisticRegression(C=1e4).fit(raw_logit[:, None], y)
        slope, intercept = float(platt.coef_[0, 0]), float(platt.intercept_[0])
        return {"method": method, "slope": slope, "intercept": intercept}
    return {"method": "identity"}


def fit_calibration(raw_logit: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    """The map (identity, Platt, isotonic when >= 30 positives) with the lowest Brier score on
    2-fold cross-validation over customer groups, refitted on every row."""
    methods = ["identity", "platt"]
    if y.sum() >= ISOTONIC_MIN_POSITIVES:
        methods.append("isotonic")
    fold = groups % 2 == 0
    scores = {}
    for method in methods:
        errors = []
        for held in (fold, ~fold):
            if held.all() or not held.any():
                continue
            params = _fit_map(method, raw_logit[~held], y[~held])
            errors.append(float(np.mean((calibrate(params, raw_logit[held]) - y[held]) ** 2)))
        scores[method] = float(np.mean(errors)) if errors else float("inf")
    best = min(methods, key=lambda m: (scores[m], methods.index(m)))
    return {**_fit_map(best, raw_logit, y), "cv_brier": {m: round(v, 6) for m, v in scores.items()}}


def precision_at_top(p: np.ndarray, y: np.ndarray, months: np.ndarray) -> float:
    """Share of events among the top 5% of customers by score, per reference month, averaged."""
    found = []
    for month in np.unique(months):
        at = months == month
        k = max(1, round(float(TOP_SHARE * at.sum())))
        top = np.argsort(-p[at], kind="stable")[:k]
        found.append(float(y[at][top].mean()))
    return float(np.mean(found)) if found else float("nan")


def metrics(p: np.ndarray, y: np.ndarray, months: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC, Brier and precision at the top 5% (NaN AUCs when one class only)."""
    both = 0 < y.sum() < len(y)
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4) if both else float("nan"),
        "pr_auc": round(float(average_precision_score(y, p)), 4) if both else float("nan"),
        "brier": round(float(brier_score_loss(y, p)), 5) if len(y) else float("nan"),
        "precision_top5": round(precision_at_top(p, y, months), 4),
        "base_rate": round(float(y.mean()), 4) if len(y) else float("nan"),
        "rows": len(y),
        "positives": int(y.sum()),
    }


def calibrated(params: dict[str, Any], raw_logit: np.ndarray) -> np.ndarray:
    """Apply a fitted calibration (the runtime function)."""
    return calibrate(params, raw_logit)


def ensemble_logit(gbm: np.ndarray, gru: np.ndarray) -> np.ndarray:
    """The ensemble's raw log-odds: the mean of the two models' raw log-odds."""
    return np.asarray((gbm + gru) / 2.0)
