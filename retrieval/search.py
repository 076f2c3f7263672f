"""Hybrid retrieval: dense (chromadb) and lexical (BM25, bm25s) rankings fused by RRF."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import bm25s
import Stemmer

from retrieval.chunks import Chunk
from retrieval.glossary import expand_query
from retrieval.index import CorpusIndex, from_metadata

RRF_K = 60
CANDIDATES = 40
MAX_QUERY_CHARS = 1000
MAX_K = 50


class SearchError(ValueError):
    """A query the searcher cannot run (empty, too long, k out of range)."""


class IndexMissing(SearchError):
    """There is nothing to search yet."""


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with its fused score and dense similarity."""

    chunk: Chunk
    score: float
    similarity: float

    def to_json(self) -> dict[str, Any]:
        """The JSON form `advisor search` and `/v1/search` print."""
        c = self.chunk
        return {
            "citation": c.citation,
            "title": c.title,
            "source": c.source,
            "text": c.text,
            "section": c.section,
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 4),
        }


def check_query(query: object, k: int) -> str:
    """The stripped query; SearchError when it or k is unusable."""
    if not isinstance(query, str) or not query.strip():
        raise SearchError("query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(f"query is {len(query)} characters; the limit is {MAX_QUERY_CHARS}")
    if not 1 <= k <= MAX_K:
        raise SearchError(f"k must be between 1 and {MAX_K}, got {k}")
    return query.strip()


class HybridSearcher:
    """Searches one CorpusIndex; rebuild the lexical side after each ingestion."""

    def __init__(self, index: CorpusIndex) -> None:
        self.index = index
        self.stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        """(Re)build the BM25 ranker from what the index holds."""
        chunks = self.index.all_chunks()
        ranker = bm25s.BM25()
        if chunks:
            tokens = bm25s.tokenize(
                [c.embedding_text() for c in chunks], stemmer=self.stemmer, show_progress=False
            )
            ranker.index(tokens, show_progress=False)
        with self._lock:
            self.chunks, self.ranker = chunks, ranker

    def search(
        self, query: str, k: int = 5, source: str | None = None, product_type: str | None = None
    ) -> list[Hit]:
        """Top-k chunks for the query, optionally within one source or product type."""
        query = check_query(query, k)
        if not self.chunks:
            raise IndexMissing("the index is empty: run `advisor ingest`")
        where = _where(source, product_type)
        query = expand_query(query)
        vector = self.index.embedder.embed([query])[0]
        dense = self._dense(vector, where)
        lexical = self._lexical(query, source, product_type)
        return fuse(dense, lexical, k)

    def _dense(
        self, vector: list[float], where: dict[str, Any] | None
    ) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity."""
        got = self.index.collection.query(
            query_embeddings=[vector],
            n_results=CANDIDATES,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (from_metadata(doc, meta), 1.0 - float(dist))
            for doc, meta, dist in zip(
                got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True
            )
        ]

    def _lexical(self, query: str, source: str | None, product_type: str | None) -> list[Chunk]:
        """Best BM25 matches that pass the filters."""
        with self._lock:
            chunks, ranker = self.chunks, self.ranker
        tokens = bm25s.tokenize([query], stemmer=self.stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        ids, _ = ranker.retrieve(tokens, k=min(len(chunks), CANDIDATES * 3), show_progress=False)
        hits = [chunks[int(i)] for i in ids[0]]
        return [c for c in hits if _passes(c, source, product_type)][:CANDIDATES]


def _where(source: str | None, product_type: str | None) -> dict[str, Any] | None:
    """Chroma metadata filter."""
    clauses = [{"source": source}] if source else []
    clauses += [{"m_product_type": product_type}] if product_type else []
    if len(clauses) > 1:
        return {"$and": clauses}
    return clauses[0] if clauses else None


def _passes(chunk: Chunk, source: str | None, product_type: str | None) -> bool:
    """Whether a chunk passes the filters."""
    return (source is None or chunk.source == source) and (
        product_type is None or chunk.metadata.get("product_type") == product_type
    )


def fuse(
    dense: list[tuple[Chunk, float]], lexical: list[Chunk], k: int, per_section: int = 1
) -> list[Hit]:
    """Reciprocal-rank fusion of the two rankings, at most `per_section` chunks per section.

    Answers cite sections: five passages of one section would crowd out the other sections
    a question may need, so the best passage of each section stands for it.
    """
    scores: dict[str, float] = {}
    by_id: dict[str, Chunk] = {}
    similarity = {chunk.id: sim for chunk, sim in dense}
    for ranking in ([c for c, _ in dense], lexical):
        for rank, chunk in enumerate(ranking):
            scores[chunk.id] = scores.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
            by_id.setdefault(chunk.id, chunk)
    hits: list[Hit] = []
    taken: dict[str, int] = {}
    for chunk_id in sorted(scores, key=lambda i: scores[i], reverse=True):
        section = by_id[chunk_id].section
        if taken.get(section, 0) < per_section:
            taken[section] = taken.get(section, 0) + 1
            hits.append(Hit(by_id[chunk_id], scores[chunk_id], similarity.get(chunk_id, 0.0)))
        if len(hits) == k:
            break
    return hits
