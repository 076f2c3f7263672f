"""Section-level ranking: passage similarity, section centroid and BM25, fused by weighted sum.

Answers cite sections, so sections are what is ranked. A section's score adds the cosine of
its best passage, the cosine of its centroid (the mean of its passage vectors, which speaks for
the section as a whole), and its best normalised BM25 score. Scores, unlike ranks, keep how far
ahead a ranker's favourite is, so one confident ranker is not outvoted by two unsure ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from retrieval.chunks import Chunk

Vector = npt.NDArray[np.float32]
CENTROID_WEIGHT = 1.0
LEXICAL_WEIGHT = 0.4
RECITAL_PENALTY = 0.03  # a recital explains an article; when both fit, the binding text leads


@dataclass(frozen=True)
class SectionTable:
    """The passages of an index grouped by section, with their vectors."""

    chunks: list[Chunk]
    matrix: Vector  # one unit-length row per passage
    section_of: npt.NDArray[np.intp]  # passage -> section number
    members: list[list[int]]  # section number -> its passages
    centroids: Vector  # one unit-length row per section
    prior: Vector  # additive score per section

    @classmethod
    def build(cls, chunks: list[Chunk], vectors: Vector) -> SectionTable:
        """Group passages by section and compute the section centroids."""
        numbers: dict[str, int] = {}
        section_of = np.array([numbers.setdefault(c.section, len(numbers)) for c in chunks])
        members: list[list[int]] = [[] for _ in numbers]
        for i, number in enumerate(section_of):
            members[number].append(i)
        dim = vectors.shape[1] if len(vectors) else 0
        centroids = np.zeros((len(members), dim), dtype=np.float32)
        for number, rows in enumerate(members):
            mean = vectors[rows].mean(axis=0)
            centroids[number] = mean / max(float(np.linalg.norm(mean)), 1e-9)
        prior = np.zeros(len(members), dtype=np.float32)
        for number, rows in enumerate(members):
            if chunks[rows[0]].metadata.get("recital"):
                prior[number] = -RECITAL_PENALTY
        return cls(chunks, vectors, section_of, members, centroids, prior)


def rank_sections(
    table: SectionTable, query: Vector, lexical: Vector, allowed: npt.NDArray[np.bool_], k: int
) -> list[tuple[int, float, float]]:
    """The k best sections as (best passage, section score, passage cosine), best first.

    `lexical` holds each passage's BM25 score scaled to [0, 1]; `allowed` masks the passages
    that pass the filters.
    """
    similarity = table.matrix @ query
    passage = np.where(allowed, similarity + LEXICAL_WEIGHT * lexical, -np.inf)
    best = np.full(len(table.members), -np.inf, dtype=np.float32)
    np.maximum.at(best, table.section_of, np.where(allowed, similarity, -np.inf))
    words = np.zeros(len(table.members), dtype=np.float32)
    np.maximum.at(words, table.section_of, np.where(allowed, lexical, 0.0))
    score = best + CENTROID_WEIGHT * (table.centroids @ query) + LEXICAL_WEIGHT * words
    score += table.prior
    ranked = [int(s) for s in np.argsort(-score)[:k] if np.isfinite(score[s])]
    hits = []
    for section in ranked:
        rows = table.members[section]
        top = rows[int(np.argmax(passage[rows]))]
        hits.append((top, float(score[section]), float(similarity[top])))
    return hits
