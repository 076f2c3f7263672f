"""Sentence similarity on the shipped MiniLM: how close a model sentence is to the draft's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class UnitEmbedder(Protocol):
    """Anything that turns texts into unit-length vectors (retrieval.embeddings.Embedder)."""

    def unit_vectors(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text."""
        ...


class SentenceSimilarity:
    """Cosine of one sentence with each of a few others; the draft's vectors are remembered."""

    def __init__(self, embedder: UnitEmbedder, remember: int = 256) -> None:
        self.embedder, self.remember = embedder, remember
        self._known: dict[str, np.ndarray] = {}

    def __call__(self, sentence: str, others: Sequence[str]) -> list[float]:
        """Cosines of `sentence` with each of `others`."""
        missing = [t for t in others if t not in self._known]
        vectors = self.embedder.unit_vectors([sentence, *missing])
        if len(self._known) + len(missing) > self.remember:
            self._known.clear()
        self._known.update(zip(missing, vectors[1:], strict=True))
        return [float(vectors[0] @ self._known[t]) for t in others]

    @classmethod
    def shipped(cls) -> SentenceSimilarity:
        """On the process's shared MiniLM."""
        from retrieval.embeddings import shared_embedder

        return cls(shared_embedder())
