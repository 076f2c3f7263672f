"""The router's calibration (temperature, thresholds) and its metrics on a labelled split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advisor.routing.model import softmax
from advisor.routing.taxonomy import OUT_OF_SCOPE

TEMPERATURES = np.round(np.geomspace(0.3, 3.0, 41), 4)
OOS_THRESHOLDS: list[float] = [round(float(t), 3) for t in np.arange(0.02, 0.95, 0.01)]
MIN_CONFIDENCES = np.round(np.arange(0.0, 0.65, 0.025), 3)
MAX_FALSE_OOS = 0.02  # in-scope messages called out of scope, on the tune split (target 3%)
RECALL_FLOOR = 0.92  # out-of-scope recall sought on the tune split (target 90%); then accuracy
ECE_BINS = 15


@dataclass(frozen=True)
class Labelled:
    """Logits of a split with its labels and sources, against the model's classes."""

    logits: np.ndarray
    labels: np.ndarray
    sources: np.ndarray
    classes: np.ndarray

    def probabilities(self, temperature: float) -> np.ndarray:
        """Softmax at a temperature."""
        return softmax(self.logits / temperature)


def fit_temperature(split: Labelled) -> float:
    """The temperature minimising the negative log-likelihood on the split."""
    index = {c: i for i, c in enumerate(split.classes)}
    truth = np.array([index[label] for label in split.labels])

    def nll(t: float) -> float:
        probs = split.probabilities(t)[np.arange(len(truth)), truth]
        return float(-np.log(np.clip(probs, 1e-12, None)).mean())

    return float(min(TEMPERATURES, key=nll))


def decide(
    probs: np.ndarray, classes: np.ndarray, oos_threshold: float, min_confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Intents and confidences: out of scope when P(out_of_scope) reaches its threshold or the
    best in-scope probability is below the minimum."""
    oos = int(np.flatnonzero(classes == OUT_OF_SCOPE)[0])
    in_scope = probs.copy()
    in_scope[:, oos] = -1.0
    best = in_scope.argmax(axis=1)
    top = in_scope[np.arange(len(best)), best]
    out = (probs[:, oos] >= oos_threshold) | (top < min_confidence)
    intents = np.where(out, OUT_OF_SCOPE, classes[best])
    confidence = np.where(out, np.maximum(probs[:, oos], 1.0 - top), top)
    return intents, confidence


def tune_thresholds(split: Labelled, temperature: float) -> tuple[float, float]:
    """(oos_threshold, min_confidence) calling at most MAX_FALSE_OOS of the split's in-scope
    messages out of scope, reaching RECALL_FLOOR out-of-scope recall (or the closest to it),
    and then the best accuracy."""
    probs, best, best_key = split.probabilities(temperature), (0.5, 0.0), (-1.0, -1.0)
    is_oos = split.labels == OUT_OF_SCOPE
    for t in OOS_THRESHOLDS:
        for m in MIN_CONFIDENCES:
            pred, _ = decide(probs, split.classes, float(t), float(m))
            false_oos = float((pred[~is_oos] == OUT_OF_SCOPE).mean())
            if false_oos > MAX_FALSE_OOS:
                continue
            recall = float((pred[is_oos] == OUT_OF_SCOPE).mean())
            key = (min(recall, RECALL_FLOOR), float((pred == split.labels).mean()))
            if key > best_key:
                best, best_key = (float(t), float(m)), key
    return best


def metrics(split: Labelled, temperature: float, oos_t: float, min_conf: float) -> dict[str, float]:
    """Accuracy per source, out-of-scope recall, in-scope called out of scope, and ECE."""
    probs = split.probabilities(temperature)
    pred, _ = decide(probs, split.classes, oos_t, min_conf)
    right = pred == split.labels
    out: dict[str, float] = {}
    for source in ("banking77", "clinc", "project"):
        rows = split.sources == source
        if rows.any():
            out[f"{source}_accuracy"] = round(float(right[rows].mean()), 4)
            out[f"{source}_count"] = int(rows.sum())
    oos, in_scope = split.labels == OUT_OF_SCOPE, split.sources == "clinc"
    if oos.any():
        out["oos_recall"] = round(float((pred[oos] == OUT_OF_SCOPE).mean()), 4)
        out["oos_count"] = int(oos.sum())
    if in_scope.any():
        out["clinc_in_scope_called_oos"] = round(float((pred[in_scope] == OUT_OF_SCOPE).mean()), 4)
    b77 = split.sources == "banking77"
    if b77.any():
        out["banking77_called_oos"] = round(float((pred[b77] == OUT_OF_SCOPE).mean()), 4)
    out["ece"] = round(ece(probs, split.labels, split.classes), 4)
    return out


def ece(probs: np.ndarray, labels: np.ndarray, classes: np.ndarray) -> float:
    """Expected calibration error of the top class (equal-width confidence bins)."""
    top = probs.max(axis=1)
    right = classes[probs.argmax(axis=1)] == labels
    bins = np.minimum((top * ECE_BINS).astype(int), ECE_BINS - 1)
    total = 0.0
    for b in range(ECE_BINS):
        rows = bins == b
        if rows.any():
            total += rows.mean() * abs(float(right[rows].mean()) - float(top[rows].mean()))
    return float(total)
