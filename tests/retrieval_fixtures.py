"""Shared pieces for retrieval tests: the corpus location and an embedder that counts."""

from __future__ import annotations

from advisor.settings import Settings
from retrieval.embeddings import Embedder, shared_embedder

REGULATIONS = Settings().shared_data_dir / "regulations"


class CountingEmbedder(Embedder):
    """The real embedding model, counting how many texts it embedded."""

    def __init__(self) -> None:
        self.inner = shared_embedder()
        self.embedded = 0

    def embed(self, texts: list[str], batch_size: int = 64) -> list[list[float]]:
        """Embed and count."""
        self.embedded += len(texts)
        return self.inner.embed(texts, batch_size)
