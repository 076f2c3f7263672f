"""Offer-response fitting: honest splits, tuning on validation, refit, calibration choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from advisor.predict.calibration import calibrate
from advisor.predict.campaigns import categorical_indices, feature_names

SEED = 13
HOLDOUT = 0.2  # the report split: a stratified 20%, and separately the last 20% of rows
REFIT_ROUNDS = 1.1  # the refit on train+valid gets 10% more rounds than early stopping chose
TUNE_GRID: tuple[dict[str, Any], ...] = (
    {"num_leaves": 15, "min_data_in_leaf": 50, "feature_fraction": 0.7},
    {"num_leaves": 31, "min_data_in_leaf": 100, "feature_fraction": 0.7},
    {"num_leaves": 63, "min_data_in_leaf": 100, "feature_fraction": 0.5, "lambda_l2": 10.0},
    {"num_leaves": 7, "min_data_in_leaf": 50, "feature_fraction": 0.9},
)
BASE_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "verbose": -1,
    "num_threads": 1,  # OpenMP spinning on a shared 2-core machine costs far more than it gains
    "seed": SEED,
    "deterministic": True,
}


@dataclass(frozen=True)
class Split:
    """Row indices of one honest split: fit, tune (validation), calibrate, report."""

    train: np.ndarray
    valid: np.ndarray
    calib: np.ndarray
    report: np.ndarray


@dataclass(frozen=True)
class Fitted:
    """The refitted, calibrated booster and how it was chosen."""

    booster: lgb.Booster
    params: dict[str, Any]
    calibration: dict[str, Any]
    valid_brier: dict[str, float]
    valid_roc_auc: float


def stratified_split(y: np.ndarray) -> Split:
    """A stratified 20% report split; the rest split again into train/valid/calib."""
    idx = np.arange(len(y))
    rest, report = train_test_split(idx, test_size=HOLDOUT, stratify=y, random_state=SEED)
    return _carve(rest, y, report)


def temporal_split(y: np.ndarray) -> Split:
    """The last 20% of rows (the file is in time order) as report; the earlier rows to fit."""
    cut = round(len(y) * (1 - HOLDOUT))
    return _carve(np.arange(cut), y, np.arange(cut, len(y)))


def _carve(rest: np.ndarray, y: np.ndarray, report: np.ndarray) -> Split:
    """Train 80%, validation 10% and calibration 10% of the non-report rows, stratified."""
    train, held = train_test_split(rest, test_size=0.2, stratify=y[rest], random_state=SEED)
    valid, calib = train_test_split(held, test_size=0.5, stratify=y[held], random_state=SEED)
    return Split(train, valid, calib, report)


def fit(x: np.ndarray, y: np.ndarray, split: Split) -> Fitted:
    """Tune on validation, choose the calibration there, refit on train+valid, calibrate."""
    auc, tuned, params = tune(x, y, split)
    method, briers = choose_calibration(tuned, x, y, split)
    rows = np.concatenate([split.train, split.valid])
    final = _boost(x, y, rows, None, params)
    calibration = fit_calibration(method, margin(final, x[split.calib]), y[split.calib])
    return Fitted(final, params, calibration, briers, round(auc, 4))


def tune(x: np.ndarray, y: np.ndarray, split: Split) -> tuple[float, lgb.Booster, dict[str, Any]]:
    """The grid's best parameters by validation ROC-AUC, rounds by early stopping."""
    best: tuple[float, lgb.Booster, dict[str, Any]] | None = None
    for candidate in TUNE_GRID:
        booster = _boost(x, y, split.train, split.valid, BASE_PARAMS | candidate)
        auc = float(roc_auc_score(y[split.valid], margin(booster, x[split.valid])))
        if best is None or auc > best[0]:
            rounds = max(1, round(booster.best_iteration * REFIT_ROUNDS))
            best = (auc, booster, BASE_PARAMS | candidate | {"num_boost_round": rounds})
    assert best is not None
    return best


def _boost(
    x: np.ndarray, y: np.ndarray, rows: np.ndarray, valid: np.ndarray | None, params: dict[str, Any]
) -> lgb.Booster:
    """One LightGBM fit with native categorical features; early-stopped when `valid` is given."""
    data = lgb.Dataset(
        x[rows], y[rows], feature_name=feature_names(), categorical_feature=categorical_indices()
    )
    if valid is None:
        return lgb.train(params, data)
    check = lgb.Dataset(x[valid], y[valid], reference=data)
    stop = lgb.early_stopping(50, verbose=False)
    return lgb.train(params, data, 2000, valid_sets=[check], callbacks=[stop])


def fit_calibration(method: str, margins: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """A calibration spec (none, Platt or isotonic on the margin) fitted to outcomes."""
    if method == "platt":
        platt = LogisticRegression(C=1e6).fit(margins.reshape(-1, 1), y)
        return {"method": "platt", "a": float(platt.coef_[0][0]), "b": float(platt.intercept_[0])}
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(margins, y)
        x_knots, y_knots = iso.X_thresholds_, iso.y_thresholds_
        return {"method": "isotonic", "x": x_knots.tolist(), "y": y_knots.tolist()}
    return {"method": "none"}


def choose_calibration(
    booster: lgb.Booster, x: np.ndarray, y: np.ndarray, split: Split
) -> tuple[str, dict[str, float]]:
    """Platt or isotonic fitted on calib, whichever has the lower validation Brier."""
    calib_margin, valid_margin = margin(booster, x[split.calib]), margin(booster, x[split.valid])
    briers = {}
    for method in ("none", "platt", "isotonic"):
        spec = fit_calibration(method, calib_margin, y[split.calib])
        probability = calibrate(valid_margin, spec)
        briers[method] = round(float(brier_score_loss(y[split.valid], probability)), 5)
    chosen = min(("platt", "isotonic"), key=lambda name: briers[name])
    return ("none" if briers["none"] < briers[chosen] else chosen), briers


def margin(booster: lgb.Booster, x: np.ndarray) -> np.ndarray:
    """The booster's raw margins (log-odds)."""
    return np.asarray(booster.predict(x, raw_score=True), dtype=np.float64)


def predict(fitted: Fitted, x: np.ndarray) -> np.ndarray:
    """Calibrated probabilities of a fitted model."""
    return calibrate(margin(fitted.booster, x), fitted.calibration)


def metrics(y: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC, Brier and base rate of probabilities against outcomes."""
    return {
        "roc_auc": round(float(roc_auc_score(y, probability)), 4),
        "pr_auc": round(float(average_precision_score(y, probability)), 4),
        "brier": round(float(brier_score_loss(y, probability)), 4),
        "base_rate": round(float(np.mean(y)), 4),
        "rows": len(y),
    }
