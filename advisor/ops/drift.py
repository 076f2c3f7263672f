"""Drift statistics: reference histograms kept at training time, population stability index
(PSI) against them, and calibration (expected calibration error, Brier).

Training stores `reference(...)` in the model's meta.json under "monitoring"; monitoring bins
today's data on the same edges. Missing values (NaN) get a bin of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BINS = 10  # quantile bins per feature (fewer when a feature has fewer distinct values)
ECE_BINS = 10  # equal-width probability bins
EPSILON = 1e-4  # floor for an empty bin's share (PSI's log would be infinite)


def edges_of(values: np.ndarray, bins: int = BINS) -> list[float]:
    """Inner bin edges: the distinct quantiles of the finite values."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    quantiles = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])
    return [float(q) for q in np.unique(quantiles)]


def shares(values: np.ndarray, edges: list[float]) -> list[float]:
    """The share of values in each bin of `edges` (len(edges) + 1 bins), then NaN's share."""
    values = np.asarray(values, dtype=np.float64)
    missing = ~np.isfinite(values)
    index = np.searchsorted(np.asarray(edges), values[~missing], side="right")
    counts = np.bincount(index, minlength=len(edges) + 1).astype(np.float64)
    counts = np.append(counts, missing.sum())
    return [float(c) for c in counts / max(len(values), 1)]


def histogram(values: np.ndarray, bins: int = BINS) -> dict[str, list[float]]:
    """A reference histogram of one column: its edges and shares."""
    edges = edges_of(np.asarray(values, dtype=np.float64), bins)
    return {"edges": edges, "shares": shares(values, edges)}


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index: sum of (actual - expected) * ln(actual / expected)."""
    e = np.clip(np.asarray(expected, dtype=np.float64), EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray) -> float:
    """ECE: the customer-weighted gap between mean predicted and observed rate per bin."""
    probs, labels = np.asarray(probs, np.float64), np.asarray(labels, np.float64)
    index = np.minimum((probs * ECE_BINS).astype(int), ECE_BINS - 1)
    gap = 0.0
    for k in np.unique(index):
        mine = index == k
        gap += mine.sum() * abs(probs[mine].mean() - labels[mine].mean())
    return float(gap / max(len(probs), 1))


def calibration(probs: np.ndarray, labels: np.ndarray | None) -> dict[str, Any]:
    """Mean prediction, and with outcomes the observed rate, ECE and Brier score."""
    probs = np.asarray(probs, np.float64)
    found: dict[str, Any] = {"customers": len(probs), "mean_predicted": _r(probs.mean())}
    if labels is not None and len(labels):
        labels = np.asarray(labels, np.float64)
        found |= {
            "observed_rate": _r(labels.mean()),
            "ece": _r(expected_calibration_error(probs, labels)),
            "brier": _r(np.mean((probs - labels) ** 2)),
        }
    return found


def reference(
    features: np.ndarray, names: list[str], probs: np.ndarray, labels: np.ndarray | None
) -> dict[str, Any]:
    """What training leaves for monitoring: per-feature histograms of the training rows, the
    held-out scores' histogram and calibration."""
    features = np.asarray(features, dtype=np.float64)
    return {
        "features": {name: histogram(features[:, k]) for k, name in enumerate(names)},
        "score": histogram(np.asarray(probs, np.float64)),
        "calibration": calibration(probs, labels),
    }


def score_reference(probs: np.ndarray, labels: np.ndarray | None) -> dict[str, Any]:
    """One score's reference: its held-out histogram and calibration (one per life event)."""
    probs = np.asarray(probs, np.float64)
    return {"score": histogram(probs), "calibration": calibration(probs, labels)}


def _r(value: Any) -> float:
    """A statistic rounded for meta.json and reports."""
    return round(float(value), 6)
