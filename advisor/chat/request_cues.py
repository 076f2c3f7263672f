"""Whether a message that names a decision intent asks for the decision (request_cues.yaml).

"Please don't increase my credit limit" names a limit increase but asks for none: a negation,
refusal, cancellation, complaint or how/why question gets the intent's informational reply,
and no decision, offer or notification is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class CueKind:
    """One kind of cue (negation, question, ...): its patterns and the reply it gets."""

    name: str
    answer: str  # a key of replies.yaml
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class NotARequest:
    """A message naming the intent without asking for its decision: the reply it gets."""

    kind: str
    topic: str
    answer: str  # a key of replies.yaml


@lru_cache(maxsize=1)
def _loaded() -> dict[str, dict[str, object]]:
    """request_cues.yaml as loaded."""
    text = resources.files("advisor.chat").joinpath("request_cues.yaml").read_text("utf-8")
    loaded: dict[str, dict[str, object]] = yaml.safe_load(text)
    return loaded


@lru_cache(maxsize=1)
def cues() -> dict[str, tuple[str, tuple[CueKind, ...]]]:
    """The cues by intent: its informational topic and its cue kinds, in order."""
    return {intent: _intent_cues(spec) for intent, spec in _loaded().items()}


@lru_cache(maxsize=1)
def asking() -> dict[str, tuple[re.Pattern[str], ...]]:
    """By intent, the phrases of which a routed-only message must hold one to ask (`asks`)."""
    found: dict[str, tuple[re.Pattern[str], ...]] = {}
    for intent, spec in _loaded().items():
        phrases = spec.get("asks") or []
        assert isinstance(phrases, list), "request_cues.yaml: `asks` is a list of patterns"
        if phrases:
            found[intent] = tuple(re.compile(str(p), re.I) for p in phrases)
    return found


def _intent_cues(spec: dict[str, object]) -> tuple[str, tuple[CueKind, ...]]:
    """One intent's topic and cue kinds, compiled."""
    kinds = spec["kinds"]
    assert isinstance(kinds, dict), "request_cues.yaml: `kinds` maps a kind to its cues"
    compiled = tuple(
        CueKind(name, str(k["answer"]), tuple(re.compile(p, re.I) for p in k["patterns"]))
        for name, k in kinds.items()
    )
    return str(spec["topic"]), compiled


def not_a_request(intent: str, text: str) -> NotARequest | None:
    """The first cue kind of the intent the message matches (None: it is a request)."""
    topic, kinds = cues().get(intent, ("", ()))
    for kind in kinds:
        if any(p.search(text) for p in kind.patterns):
            return NotARequest(kind.name, topic, kind.answer)
    return None


def asks(intent: str, text: str) -> bool:
    """Whether a message only the router names the intent of says it asks (True: no `asks`)."""
    phrases = asking().get(intent)
    return phrases is None or any(p.search(text) for p in phrases)
