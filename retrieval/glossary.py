"""Plain-language glosses added to indexed text so everyday words find legal passages."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import Stemmer
import yaml

GLOSSARY = Path(__file__).resolve().parent / "glossary.yaml"
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "me",
        "i",
        "of",
        "to",
        "for",
        "in",
        "on",
        "and",
        "or",
        "is",
        "are",
        "be",
        "was",
        "it",
        "that",
        "this",
        "with",
        "by",
        "from",
        "at",
        "as",
        "do",
        "does",
        "can",
    ]
)
_STEMMER = Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def load_glossary() -> list[tuple[re.Pattern[str], str]]:
    """(term pattern, gloss) pairs, longest terms first."""
    terms: dict[str, str] = yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))["terms"]
    ordered = sorted(terms.items(), key=lambda item: -len(item[0]))
    return [
        (re.compile(rf"\b{re.escape(term)}s?\b", re.IGNORECASE), gloss) for term, gloss in ordered
    ]


def glosses(text: str) -> str:
    """The glosses of every glossary term the text uses, joined (empty when none)."""
    found = [gloss for pattern, gloss in load_glossary() if pattern.search(text)]
    return "; ".join(dict.fromkeys(found))


def _stems(text: str) -> frozenset[str]:
    """Stemmed content words of a text."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return frozenset(_STEMMER.stemWord(w) for w in words if w not in STOPWORDS)


@lru_cache(maxsize=1)
def _phrases() -> list[tuple[frozenset[str], str]]:
    """(stemmed gloss phrase, legal term) pairs specific enough to recognise in a question."""
    terms: dict[str, str] = yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))["terms"]
    pairs = []
    for term, gloss in terms.items():
        for phrase in gloss.split(","):
            stems = _stems(phrase)
            if len(stems) >= 2 or (len(stems) == 1 and len(next(iter(stems))) >= 5):
                pairs.append((stems, term))
    return pairs


def expand_query(query: str) -> str:
    """The query plus the legal terms whose plain-language glosses it uses."""
    words = _stems(query)
    terms = dict.fromkeys(term for stems, term in _phrases() if stems <= words)
    return f"{query} ({'; '.join(terms)})" if terms else query
