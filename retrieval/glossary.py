"""Plain-language glosses added to indexed text so everyday words find legal passages."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

GLOSSARY = Path(__file__).resolve().parent / "glossary.yaml"


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
