"""Calibration maps of the life-event models (fitted in training, applied when serving)."""

from __future__ import annotations

from typing import Any

import numpy as np

EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities (clipped away from 0 and 1)."""
    q = np.clip(p, EPS, 1 - EPS)
    return np.asarray(np.log(q / (1 - q)))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def calibrate(params: dict[str, Any], raw_logit: np.ndarray) -> np.ndarray:
    """Calibrated probabilities from raw log-odds: isotonic (on the raw probability), Platt or
    identity (the model's own probability, when neither map helped on held-out folds)."""
    if params["method"] == "identity":
        return sigmoid(raw_logit)
    if params["method"] == "isotonic":
        x, y = np.asarray(params["x"], float), np.asarray(params["y"], float)
        return np.asarray(np.interp(sigmoid(raw_logit), x, y))
    return sigmoid(params["slope"] * raw_logit + params["intercept"])
