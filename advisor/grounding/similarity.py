"""Sentence similarity on the shipped MiniLM: how close a model sentence is to the draft's."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np


class UnitEmbedder(Protocol):
    """Anything that turns texts into unit-length vectors (retrieval.embeddings.Embedder)."""

    def unit_vectors(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text."""
        ...


class SentenceSimilarity:
    """Cosine of one sentence with each of a few others; the drafts' vectors are remembered.

    Thread-safe: turns share it (the plan is decided in a worker thread, sentences are judged
    on the event loop's worker threads).
    """

    def __init__(self, embedder: UnitEmbedder, remember: int = 256) -> None:
        self.embedder, self.remember = embedder, remember
        self._known: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __call__(self, sentence: str, others: Sequence[str]) -> list[float]:
        """Cosines of `sentence` with each of `others`."""
        with self._lock:
            known = {t: self._known[t] for t in others if t in self._known}
        missing = [t for t in dict.fromkeys(others) if t not in known]
        vectors = self.embedder.unit_vectors([sentence, *missing])
        fresh = dict(zip(missing, vectors[1:], strict=True))
        with self._lock:
            if len(self._known) + len(fresh) > self.remember:
                self._known.clear()
            self._known.update(fresh)
        vector_of = {**known, **fresh}
        return [float(vectors[0] @ vector_of[t]) for t in others]

    @classmethod
    def shipped(cls) -> SentenceSimilarity:
        """On the process's shared MiniLM."""
        from retrieval.embeddings import shared_embedder

        return cls(shared_embedder())
