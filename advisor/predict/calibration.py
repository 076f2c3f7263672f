"""Apply a stored calibration (none, Platt or isotonic) to LightGBM margins (log-odds)."""

from __future__ import annotations

from typing import Any

import numpy as np


def sigmoid(margin: np.ndarray) -> np.ndarray:
    """The logistic function, elementwise."""
    return np.asarray(1.0 / (1.0 + np.exp(-margin)), dtype=np.float64)


def calibrate(margin: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Probabilities from margins under a calibration spec read from calibration.json."""
    method = spec.get("method", "none")
    if method == "platt":
        return sigmoid(float(spec["a"]) * margin + float(spec["b"]))
    if method == "isotonic":
        fitted = np.interp(margin, np.asarray(spec["x"]), np.asarray(spec["y"]))
        return np.asarray(fitted, dtype=np.float64)
    if method == "none":
        return sigmoid(margin)
    raise ValueError(f"unknown calibration method {method!r}")
