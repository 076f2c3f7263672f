"""The corpus index: chunks with their MiniLM vectors and content hashes in chromadb.

It stores, it does not rank: `retrieval/search.py` loads every passage and vector into memory
and ranks sections by their best passage's cosine, plus their centroid's cosine, plus 0.4 x
their best BM25 score (bm25s), scoring every passage exactly (`retrieval/sections.py`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt

from retrieval.chunks import Chunk
from retrieval.embeddings import Embedder, shared_embedder

COLLECTION = "advisor_corpus"
BATCH = 64
Progress = Callable[[int], None]


@dataclass(frozen=True)
class IngestReport:
    """What one ingestion changed."""

    added: int
    updated: int
    removed: int
    unchanged: int
    seconds: float


def chroma_client(persist_dir: Path, url: str | None) -> Any:
    """A local persistent client, or an HTTP client when a Chroma server URL is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    quiet = ChromaSettings(anonymized_telemetry=False)
    if url:
        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 8000,
            ssl=parsed.scheme == "https",
            settings=quiet,
        )
    persist_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(persist_dir), settings=quiet)


class CorpusIndex:
    """Stores chunks with their embeddings and content hashes; incremental by hash."""

    def __init__(self, client: Any, embedder: Embedder | None = None) -> None:
        self.client = client
        self.embedder = embedder or shared_embedder()
        self.collection = client.get_or_create_collection(
            COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        self._lock = threading.Lock()

    def stored_hashes(self) -> dict[str, str]:
        """Id -> content hash of everything in the index."""
        got = self.collection.get(include=["metadatas"])
        return {
            i: str((m or {}).get("hash", ""))
            for i, m in zip(got["ids"], got["metadatas"], strict=True)
        }

    def ingest(
        self,
        chunks: Sequence[Chunk],
        progress: Progress | None = None,
        on_plan: Progress | None = None,
    ) -> IngestReport:
        """Embed only new or changed chunks, and drop chunks no longer in the corpus."""
        started = time.perf_counter()
        with self._lock:
            stored = self.stored_hashes()
            wanted = {c.id: c for c in chunks}
            if len(wanted) != len(chunks):
                raise ValueError("chunk ids are not unique")
            changed = [c for c in chunks if stored.get(c.id) != c.content_hash]
            if on_plan:
                on_plan(len(changed))
            for start in range(0, len(changed), BATCH):
                self._replace(changed[start : start + BATCH], stored)
                if progress:
                    progress(len(changed[start : start + BATCH]))
            removed = [i for i in stored if i not in wanted]
            for start in range(0, len(removed), 500):
                self.collection.delete(ids=removed[start : start + 500])
        updated = sum(1 for c in changed if c.id in stored)
        return IngestReport(
            len(changed) - updated,
            updated,
            len(removed),
            len(chunks) - len(changed),
            time.perf_counter() - started,
        )

    def _replace(self, batch: list[Chunk], stored: dict[str, str]) -> None:
        """Embed and store one batch; a changed chunk's old entry goes first, since chroma's
        upsert merges metadata and would keep keys the new version no longer has."""
        vectors = self.embedder.embed([c.embedding_text() for c in batch])
        if old := [c.id for c in batch if c.id in stored]:
            self.collection.delete(ids=old)
        self.collection.add(
            ids=[c.id for c in batch],
            embeddings=vectors,
            documents=[c.text for c in batch],
            metadatas=[to_metadata(c) for c in batch],
        )

    def count(self) -> int:
        """How many chunks the index holds."""
        return int(self.collection.count())

    def chunks_and_vectors(self) -> tuple[list[Chunk], npt.NDArray[np.float32]]:
        """Every stored chunk with its embedding (for the in-memory searcher)."""
        got = self.collection.get(include=["documents", "metadatas", "embeddings"])
        chunks = [
            from_metadata(doc, meta)
            for doc, meta in zip(got["documents"], got["metadatas"], strict=True)
        ]
        vectors = got["embeddings"]
        if vectors is None or len(vectors) == 0:
            return chunks, np.zeros((0, 0), dtype=np.float32)
        return chunks, np.asarray(vectors, dtype=np.float32)


def to_metadata(chunk: Chunk) -> dict[str, Any]:
    """Chroma metadata (scalars only) for a chunk."""
    extra = {
        f"m_{k}": v for k, v in chunk.metadata.items() if isinstance(v, str | int | float | bool)
    }
    return {
        "citation": chunk.citation,
        "section": chunk.section,
        "title": chunk.title,
        "source": chunk.source,
        "part": chunk.part,
        "hash": chunk.content_hash,
        **extra,
    }


def from_metadata(document: str, meta: dict[str, Any]) -> Chunk:
    """Rebuild a chunk from what chroma stored."""
    extra = {k[2:]: v for k, v in meta.items() if k.startswith("m_")}
    return Chunk(
        meta["citation"],
        meta["section"],
        meta["title"],
        document,
        meta["source"],
        extra,
        int(meta.get("part", 0)),
    )
