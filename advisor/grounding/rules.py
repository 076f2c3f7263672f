"""Load the topic rules (rules as data) from `topics.yaml`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

Patterns = list[re.Pattern[str]]


def compile_all(patterns: list[str]) -> Patterns:
    """Compile case-insensitive regexes."""
    return [re.compile(p, re.IGNORECASE) for p in patterns]


def first_match(text: str, table: dict[str, Patterns]) -> list[str]:
    """Keys of `table` whose patterns match `text`, in order of where they match."""
    hits = []
    for key, patterns in table.items():
        found = [m.start() for p in patterns if (m := p.search(text))]
        if found:
            hits.append((min(found), key))
    return [key for _, key in sorted(hits)]


@dataclass(frozen=True)
class DraftLine:
    """One draft sentence and the conditions on facts under which it is said."""

    say: str
    when: dict[str, str] = field(default_factory=dict)  # fact id -> condition (see drafts.py)


def draft_line(raw: str | dict[str, Any]) -> DraftLine:
    """A draft line from YAML: a plain sentence, or {say, when}."""
    if isinstance(raw, str):
        return DraftLine(raw)
    return DraftLine(raw["say"], {str(k): str(v) for k, v in (raw.get("when") or {}).items()})


@dataclass(frozen=True)
class TopicRule:
    """One topic: when it matches, which facts it needs and how the draft states them."""

    id: str
    kind: str
    patterns: Patterns
    fact_ids: list[str] = field(default_factory=list)
    draft: list[DraftLine] = field(default_factory=list)
    missing: str | None = None
    next: list[DraftLine] = field(default_factory=list)
    phrase: bool = True  # whether the model rewords the draft (false: the draft is the answer)
    outside: str | None = None  # the answer for a month outside the customer's records
    in_month: str | None = None  # said first for a month the topic has no figure of its own for

    def matches(self, text: str) -> bool:
        """Whether any pattern is found in the text."""
        return any(p.search(text) for p in self.patterns)


@dataclass(frozen=True)
class Rulebook:
    """All topic rules plus the vocabularies for categories, accounts and time windows."""

    topics: list[TopicRule]
    categories: dict[str, Patterns]
    accounts: dict[str, Patterns]
    windows: dict[str, Patterns]

    def topic(self, topic_id: str) -> TopicRule | None:
        """The rule with this id."""
        return next((t for t in self.topics if t.id == topic_id), None)


def _topic(raw: dict[str, Any]) -> TopicRule:
    """Build one TopicRule from its YAML mapping."""
    return TopicRule(
        id=raw["id"],
        kind=raw.get("kind", "facts"),
        patterns=compile_all(raw["patterns"]),
        fact_ids=list(raw.get("facts", [])),
        draft=[draft_line(line) for line in raw.get("draft", [])],
        missing=raw.get("missing"),
        next=[draft_line(line) for line in raw.get("next", [])],
        phrase=bool(raw.get("phrase", True)),
        outside=raw.get("outside"),
        in_month=raw.get("in_month"),
    )


@lru_cache(maxsize=1)
def load_rulebook() -> Rulebook:
    """Parse `topics.yaml` once."""
    text = (resources.files("advisor.grounding") / "topics.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    table = {k: compile_all(v) for k, v in data["categories"].items()}
    return Rulebook(
        topics=[_topic(t) for t in data["topics"]],
        categories=table,
        accounts={k: compile_all(v) for k, v in data["accounts"].items()},
        windows={k: compile_all(v) for k, v in data["months_words"].items()},
    )
