"""Whether the facts topic patterns give way to the route or to a rule question."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import yaml

from advisor.chat.plan import OUT_OF_SCOPE_CONFIDENCE, covered
from advisor.routing.taxonomy import shipped_taxonomy
from retrieval.servicing import servicing_answer

if TYPE_CHECKING:
    from advisor.routing.router import Routed

Patterns = tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class Precedence:
    """How sure the router must be, by family; the forms of an own-money and a rule question."""

    outranks: dict[str, float]
    asks: Patterns
    rule_question: Patterns
    not_rule: Patterns

    def sure_elsewhere(self, routed: Routed | None) -> bool:
        """Whether the router is sure of a servicing request its article answers, or of a rule
        or product question."""
        floor = None if routed is None else self.outranks.get(routed.family)
        if routed is None or floor is None:
            return False
        if routed.family == "servicing":
            return answered_by_articles(routed) >= floor
        return covered(routed, False) >= floor

    def reads_as_rule(self, text: str, routed: Routed | None) -> bool:
        """Whether the message reads as a rule or product question (or names a product), and
        does not ask about affording something or the customer's own money (`not_rule`)."""
        if any(p.search(text) for p in self.not_rule):
            return False
        named = routed is not None and any(e.type == "product" for e in routed.entities)
        return named or any(p.search(text) for p in self.rule_question)


def answered_by_articles(routed: Routed) -> float:
    """How sure the router is of servicing intents that have an article: the route's confidence
    and its runner-up's, each only with an article (other_servicing has none), so a route no
    article answers never takes a message from the customer's own figures."""
    sure = [routed.intent, *(a.intent for a in routed.alternatives)]
    shares = [routed.confidence, *(a.confidence for a in routed.alternatives)]
    return sum(p for i, p in zip(sure, shares, strict=True) if servicing_answer(i) is not None)


def _compiled(patterns: list[str]) -> Patterns:
    """Case-insensitive regexes."""
    return tuple(re.compile(str(p), re.I) for p in patterns)


@lru_cache(maxsize=1)
def precedence() -> Precedence:
    """precedence.yaml, loaded once."""
    text = resources.files("advisor.chat").joinpath("precedence.yaml").read_text("utf-8")
    loaded = yaml.safe_load(text)
    outranks = {str(k): float(v) for k, v in loaded["outranks"].items()}
    forms = (_compiled(loaded[k]) for k in ("asks", "rule_question", "not_rule"))
    return Precedence(outranks, *forms)


def asks_own_money(text: str) -> bool:
    """Whether the message asks for the customer's own figures ("what's my balance?")."""
    return any(p.search(text) for p in precedence().asks)


def topics_yield(routed: Routed | None, text: str) -> bool:
    """Whether the topic patterns give way: the message asks for none of the customer's own
    figures, and the router is sure of a servicing or rule request or the message reads as a
    rule or product question (a router sure of an own-money topic still answers it)."""
    rules = precedence()
    if asks_own_money(text):
        return False
    return rules.sure_elsewhere(routed) or rules.reads_as_rule(text, routed)


def followed_route(routed: Routed | None, text: str) -> Routed | None:
    """The route the plan follows: a weak out-of-scope call (below the plan's out-of-scope
    floor) gives way to the likeliest in-scope intent when that is a servicing request the
    router is sure enough of for its article, unless the message reads as a rule question."""
    candidate = None if routed is None else routed.in_scope
    if routed is None or candidate is None or routed.confidence >= OUT_OF_SCOPE_CONFIDENCE:
        return routed
    meta = shipped_taxonomy()[candidate.intent]
    floor = precedence().outranks.get(meta.family)
    if meta.family != "servicing" or floor is None or candidate.confidence < floor:
        return routed
    if servicing_answer(candidate.intent) is None:  # no article would answer it
        return routed
    if precedence().reads_as_rule(text, routed):
        return routed
    return dataclasses.replace(
        routed, intent=candidate.intent, family=meta.family, handler=meta.handler,
        confidence=candidate.confidence, in_scope=None,
    )  # fmt: skip
