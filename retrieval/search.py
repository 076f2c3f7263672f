"""Hybrid retrieval: dense passage and section vectors plus BM25 (bm25s), ranked by section."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer

from retrieval.chunks import Chunk
from retrieval.glossary import expand_query
from retrieval.index import CorpusIndex
from retrieval.products import SERVICING_SOURCE
from retrieval.sections import SectionTable, Vector, rank_sections

MAX_QUERY_CHARS = 1000
MAX_K = 50
# Searched only when a search names a source or product type: the servicing articles and the
# services terms answer routed servicing intents and would crowd rule and product answers out.
OPT_IN_SOURCES = frozenset({SERVICING_SOURCE})
LexicalGroup = tuple[bm25s.BM25, npt.NDArray[np.intp]]  # a ranker and the passages it covers


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
    """Searches one CorpusIndex; rebuild the in-memory side after each ingestion.

    The index stores passages and their vectors; the searcher holds them in memory with a
    BM25 ranker and scores every passage exactly (a few thousand dot products), so nothing
    relevant is lost to an approximate nearest-neighbour cut.
    """

    def __init__(self, index: CorpusIndex) -> None:
        self.index = index
        self.stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        """(Re)load passages and vectors from the index and rebuild the BM25 ranker."""
        chunks, vectors = self.index.chunks_and_vectors()
        groups = self._lexical_groups(chunks)
        table = SectionTable.build(chunks, vectors)
        with self._lock:
            self.chunks, self.groups, self.table = chunks, groups, table

    def _lexical_groups(self, chunks: list[Chunk]) -> list[LexicalGroup]:
        """One BM25 ranker for the default corpus and one for the opt-in sources.

        Separate rankers keep the opt-in passages out of the default corpus's term statistics
        and score scaling, so adding them leaves default searches exactly as they were.
        """
        opt_in = np.array([c.source in OPT_IN_SOURCES for c in chunks], dtype=bool)
        groups = []
        for rows in (np.flatnonzero(~opt_in), np.flatnonzero(opt_in)):
            if len(rows):
                ranker = bm25s.BM25()
                texts = [chunks[i].embedding_text() for i in rows]
                tokens = bm25s.tokenize(texts, stemmer=self.stemmer, show_progress=False)
                ranker.index(tokens, show_progress=False)
                groups.append((ranker, rows))
        return groups

    def search(
        self, query: str, k: int = 5, source: str | None = None, product_type: str | None = None
    ) -> list[Hit]:
        """Top-k sections (best passage of each) for the query, optionally filtered."""
        query = check_query(query, k)
        with self._lock:
            chunks, table = self.chunks, self.table
        if not chunks:
            raise IndexMissing("the index is empty: run `advisor ingest`")
        query = expand_query(query)
        vector = np.asarray(self.index.embedder.embed([query])[0], dtype=np.float32)
        allowed = np.array([_passes(c, source, product_type) for c in chunks], dtype=bool)
        lexical = self._lexical(query, len(chunks))
        ranked = rank_sections(table, vector, lexical, allowed, k)
        return [Hit(chunks[i], score, sim) for i, score, sim in ranked]

    def _lexical(self, query: str, size: int) -> Vector:
        """Every passage's BM25 score for the query, scaled so each group's best is 1."""
        with self._lock:
            groups = self.groups
        scores = np.zeros(size, dtype=np.float32)
        tokens = bm25s.tokenize([query], stemmer=self.stemmer, show_progress=False)
        if not tokens.vocab:
            return scores
        for ranker, rows in groups:
            ids, found = ranker.retrieve(tokens, k=len(rows), show_progress=False)
            part = np.zeros(len(rows), dtype=np.float32)
            part[np.asarray(ids[0], dtype=np.intp)] = found[0]
            top = float(part.max())
            scores[rows] = part / top if top > 0 else part
        return scores


def _passes(chunk: Chunk, source: str | None, product_type: str | None) -> bool:
    """Whether a chunk passes the filters; opt-in sources only when a filter is given."""
    if source is None and product_type is None:
        return chunk.source not in OPT_IN_SOURCES
    return (source is None or chunk.source == source) and (
        product_type is None or chunk.metadata.get("product_type") == product_type
    )
