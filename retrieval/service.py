"""Retrieval as a service: the configured index, ingestion of the whole corpus, search."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.chunks import Chunk
from retrieval.index import CorpusIndex, IngestReport, Progress, chroma_client
from retrieval.products import PRODUCTS_DIR, product_chunks
from retrieval.regulations import regulation_chunks
from retrieval.search import Hit, HybridSearcher, IndexMissing, check_query
from retrieval.servicing import servicing_chunks

if TYPE_CHECKING:
    from advisor.settings import Settings


def corpus_chunks(regulations_dir: Path, products_dir: Path = PRODUCTS_DIR) -> list[Chunk]:
    """Every chunk of the corpus; raises CorpusError before anything is written."""
    return (
        regulation_chunks(regulations_dir)
        + product_chunks(products_dir)
        + servicing_chunks(products_dir)
    )


class RetrievalService:
    """Owns the index; the embedding model and BM25 ranker load on first use."""

    def __init__(
        self,
        var_dir: Path,
        chroma_url: str | None,
        regulations_dir: Path,
        products_dir: Path = PRODUCTS_DIR,
    ) -> None:
        self.persist_dir = Path(var_dir) / "chroma"
        self.chroma_url, self.regulations_dir, self.products_dir = (
            chroma_url,
            regulations_dir,
            products_dir,
        )
        self._index: CorpusIndex | None = None
        self._searcher: HybridSearcher | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> RetrievalService:
        """The index under the var dir (or the Chroma server), over the shared regulations."""
        return cls(settings.var_dir, settings.chroma_url, settings.shared_data_dir / "regulations")

    def index(self) -> CorpusIndex:
        """The index (created empty if it does not exist)."""
        with self._lock:
            if self._index is None:
                self._index = CorpusIndex(chroma_client(self.persist_dir, self.chroma_url))
            return self._index

    def ingest(
        self, progress: Progress | None = None, on_plan: Progress | None = None
    ) -> IngestReport:
        """Parse the whole corpus first, then update the index incrementally."""
        chunks = corpus_chunks(self.regulations_dir, self.products_dir)
        report = self.index().ingest(chunks, progress, on_plan)
        with self._lock:
            self._searcher = None
        return report

    def searcher(self) -> HybridSearcher:
        """The hybrid searcher over the current index."""
        index = self.index()
        with self._lock:
            if self._searcher is None:
                if index.count() == 0:
                    raise IndexMissing("the index is empty: run `advisor ingest`")
                self._searcher = HybridSearcher(index)
            return self._searcher

    def search(
        self, query: str, k: int = 5, source: str | None = None, product_type: str | None = None
    ) -> list[Hit]:
        """Top-k passages for a query (validated before any model loads)."""
        return self.searcher().search(check_query(query, k), k, source, product_type)
