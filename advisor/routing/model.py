"""The router's trained head: a linear model over the MiniLM sentence embedding and TF-IDF word
and character n-grams, with a softmax temperature and an out-of-scope threshold. Stored as plain
arrays (router.npz, no pickle) beside a JSON card."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from advisor.errors import AdvisorError
from advisor.routing.split import SplitRule

MODEL_FILE, CARD_FILE = "router.npz", "router.json"
# The TF-IDF settings training fits and run time rebuilds: (name, analyzer, n-gram range).
TEXT_FEATURES = (("word", "word", (1, 2)), ("char", "char_wb", (2, 5)))
EMBEDDING_WEIGHT = 2.0  # the embedding block's scale beside the unit-length TF-IDF blocks


class RouterModelError(AdvisorError):
    """The router model is missing or unreadable."""


def vectorizer(analyzer: str, ngrams: tuple[int, int], **fit: Any) -> Any:
    """A TF-IDF vectorizer with the router's settings (`fit` adds training-only options)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True, lowercase=True,
        dtype=np.float32, **fit,
    )  # fmt: skip


@dataclass(frozen=True)
class RouterModel:
    """Classes, the linear head over [embedding, word n-grams, char n-grams], the softmax
    temperature, the out-of-scope thresholds and the rule for a split servicing decision."""

    classes: list[str]
    coef: np.ndarray  # classes x features
    intercept: np.ndarray  # classes
    vectorizers: dict[str, Any]  # fitted TF-IDF vectorizers by name
    temperature: float
    oos_threshold: float  # out of scope when P(out_of_scope) >= this
    min_confidence: float  # ... or when the best in-scope probability is below this
    card: dict[str, Any]
    split: SplitRule = field(default_factory=SplitRule)  # the runner-up answered too when split

    def features(self, texts: list[str], embeddings: np.ndarray) -> sparse.csr_matrix:
        """The feature rows of texts whose unit MiniLM embeddings are given."""
        blocks = [sparse.csr_matrix(embeddings * EMBEDDING_WEIGHT, dtype=np.float32)]
        blocks += [self.vectorizers[name].transform(texts) for name, *_ in TEXT_FEATURES]
        return sparse.hstack(blocks, format="csr", dtype=np.float32)

    def probabilities(self, texts: list[str], embeddings: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities, one row per text."""
        logits = self.features(texts, embeddings) @ self.coef.T + self.intercept
        return softmax(np.asarray(logits) / self.temperature)

    def save(self, directory: Path) -> Path:
        """Write router.npz and router.json atomically (temp files, then rename)."""
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "classes": np.array(self.classes), "coef": self.coef.astype(np.float32),
            "intercept": self.intercept.astype(np.float32),
        }  # fmt: skip
        for name, *_ in TEXT_FEATURES:
            vec = self.vectorizers[name]
            arrays[f"{name}_vocab"] = np.asarray(vec.get_feature_names_out(), dtype=str)
            arrays[f"{name}_idf"] = vec.idf_.astype(np.float32)
        card = {**self.card, "temperature": self.temperature, "oos_threshold": self.oos_threshold,
                "min_confidence": self.min_confidence, **self.split.to_card()}  # fmt: skip
        tmp_model = directory / f".{MODEL_FILE}.{os.getpid()}.tmp.npz"
        tmp_card = directory / f".{CARD_FILE}.{os.getpid()}.tmp"
        savez: Any = np.savez_compressed  # numpy's stub reads **arrays as its own keywords
        savez(tmp_model, **arrays)
        tmp_card.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp_model, directory / MODEL_FILE)
        os.replace(tmp_card, directory / CARD_FILE)
        return directory / MODEL_FILE

    @classmethod
    def read(cls, directory: Path) -> RouterModel:
        """Read a model written by save() (RouterModelError when missing or unreadable)."""
        path = directory / MODEL_FILE
        if not path.is_file():
            raise RouterModelError(
                f"the intent router is not trained ({path} is missing): run `advisor train router`"
            )
        try:
            card = json.loads((directory / CARD_FILE).read_text(encoding="utf-8"))
            with np.load(path, allow_pickle=False) as raw:
                arrays = {k: raw[k] for k in raw.files}
            return cls(
                [str(c) for c in arrays["classes"]], arrays["coef"], arrays["intercept"],
                {name: _rebuilt(name, arrays) for name, *_ in TEXT_FEATURES},
                float(card["temperature"]), float(card["oos_threshold"]),
                float(card["min_confidence"]), card, SplitRule.from_card(card),
            )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RouterModelError(
                f"cannot read the router model in {directory} ({exc}): run `advisor train router`"
            ) from None


def _rebuilt(name: str, arrays: dict[str, np.ndarray]) -> Any:
    """A fitted vectorizer rebuilt from its vocabulary and idf weights."""
    analyzer, ngrams = next((a, n) for n0, a, n in TEXT_FEATURES if n0 == name)
    vocab = {str(term): i for i, term in enumerate(arrays[f"{name}_vocab"])}
    vec = vectorizer(analyzer, ngrams, vocabulary=vocab)
    vec.idf_ = arrays[f"{name}_idf"].astype(np.float64)
    return vec


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    out: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return out
