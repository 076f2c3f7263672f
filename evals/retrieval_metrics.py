"""Recall@k and MRR of the hybrid retriever on the labelled question sets, at section level."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from retrieval.search import HybridSearcher

QUESTIONS_DIR = Path(__file__).resolve().parent / "retrieval"


@dataclass(frozen=True)
class Labelled:
    """A customer question and the sections that answer it."""

    question: str
    relevant: frozenset[str]
    source: str


def load_questions(directory: Path = QUESTIONS_DIR) -> list[Labelled]:
    """Every labelled question in the directory's YAML files."""
    items = []
    for path in sorted(directory.glob("questions_*.yaml")):
        for row in yaml.safe_load(path.read_text(encoding="utf-8")):
            source = row.get("source") or "products"
            items.append(Labelled(row["q"], frozenset(row["relevant"]), source))
    return items


def first_relevant_rank(searcher: HybridSearcher, item: Labelled, k: int) -> int | None:
    """1-based rank of the first retrieved chunk inside a relevant section."""
    for rank, hit in enumerate(searcher.search(item.question, k), 1):
        if hit.chunk.section in item.relevant:
            return rank
    return None


def evaluate(searcher: HybridSearcher, items: list[Labelled], k: int = 5) -> dict[str, Any]:
    """Recall@k and MRR@k overall and per source, plus the misses."""
    by_source: dict[str, list[int | None]] = defaultdict(list)
    misses = []
    for item in items:
        rank = first_relevant_rank(searcher, item, k)
        by_source[item.source].append(rank)
        if rank is None:
            misses.append({"question": item.question, "relevant": sorted(item.relevant)})
    ranks = [r for rs in by_source.values() for r in rs]
    report = {
        "k": k,
        "questions": len(ranks),
        **_scores(ranks),
        "misses": misses,
        "by_source": {
            s: {"questions": len(rs), **_scores(rs)} for s, rs in sorted(by_source.items())
        },
    }
    return report


def _scores(ranks: list[int | None]) -> dict[str, float]:
    """Recall and MRR of a list of first-relevant ranks."""
    if not ranks:
        return {"recall": 0.0, "mrr": 0.0}
    return {
        "recall": round(sum(r is not None for r in ranks) / len(ranks), 4),
        "mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 4),
    }
