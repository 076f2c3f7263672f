"""The chat provider (advisor/chat/decision_facts.py) answering from recommendations.

Savings advice ("What should I do with my money?") gets the first suggestions; a message
naming a life event ("Am I ready to buy a home?") gets the customer's figures for that event
and the suggestion for it. Every figure is a Fact.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from advisor.chat.decision_facts import DecisionDraft, Provider
from advisor.context_service import ContextService
from advisor.decisions.reasons import fill, reason_figures
from advisor.decisions.service import Assessed, Recommendation, RecommendationService
from advisor.settings import Settings
from portfolio_context.facts import Fact
from portfolio_context.view import Customer360

CHAT_FILE = Path(__file__).with_name("chat_facts.yaml")
TOPIC = "recommendations"


@lru_cache(maxsize=1)
def templates() -> dict[str, Any]:
    """The chat templates, read once."""
    loaded: dict[str, Any] = yaml.safe_load(CHAT_FILE.read_text("utf-8"))
    return loaded


def reco_facts(rank: int, found: Recommendation) -> list[Fact]:
    """The facts of one served recommendation: reco.N.action, product, score, reason."""
    why, score = f"next-best-action rank {rank}, trace {found.trace_id}", f"{found.score:.3f}"
    reason = " ".join(r.text for r in found.reasons if not r.code.startswith("MODEL_"))
    return [
        Fact(f"reco.{rank}.action", f"suggestion {rank}", found.action, "text", why),
        Fact(f"reco.{rank}.product", f"product of suggestion {rank}", found.product, "text", why),
        Fact(f"reco.{rank}.score", f"score of suggestion {rank}", score, "text", why),
        Fact(f"reco.{rank}.reason", f"why suggestion {rank}", reason, "text", why),
    ]


def served_facts(recs: list[Recommendation], assessed: Assessed) -> list[Fact]:
    """Facts of the served recommendations and of the view figures their reasons cite."""
    facts = [f for rank, found in enumerate(recs, 1) for f in reco_facts(rank, found)]
    view = assessed.view
    cited_ids = {fid for item in assessed.ranking.served for fid in reason_figures(item, view)}
    return facts + [f for f in view.facts if f.id in cited_ids]


def say(template: str, facts: list[Fact], extra: dict[str, str] | None = None) -> str | None:
    """A template filled with the facts' displayed values (None when one is missing)."""
    return fill(template, {f.id: f.display for f in facts} | (extra or {}))


def recommendations_draft(recs: list[Recommendation], facts: list[Fact]) -> str:
    """The savings-advice draft: the first suggestions, in rank order."""
    book = templates()["recommendations"]
    if not recs:
        return str(book["none"])
    sentences = [say(book["first"], facts)]
    for rank in range(2, min(len(recs), book["count"]) + 1):
        sentences.append(say(book["next"].replace("reco.N.", f"reco.{rank}."), facts))
    return " ".join(s for s in sentences if s)


def event_of(message: str) -> dict[str, Any] | None:
    """The life event a message is about, as configured, if any."""
    for name, event in templates()["events"].items():
        if any(re.search(p, message, re.I) for p in event["patterns"]):
            return {"name": name, **event}
    return None


def life_event_draft(event: dict[str, Any], recs: list[Recommendation], facts: list[Fact]) -> str:
    """The figures for the event, then its suggestion (at its own rank) or the first served."""
    book = templates()["life_events"]
    shown = [f for fid in event["facts"] for f in facts if f.id == fid]
    figures = ", ".join(f"your {f.label} is {f.display}" for f in shown)
    sentences = [say(book["figures"], facts, {"figures": figures}) if shown else None]
    ranks = [n for n, r in enumerate(recs, 1) if r.action_id == event["action"]]
    if ranks:
        sentences.append(say(book["highlighted"].replace("reco.N.", f"reco.{ranks[0]}."), facts))
    else:
        key = "not_offered" if recs else "not_offered_none"
        sentences.append(say(book[key], facts, {"event.action": event["label"]}))
    return " ".join(s for s in sentences if s)


def event_facts(event: dict[str, Any], facts: list[Fact], view: Customer360) -> list[Fact]:
    """The answer's facts plus the view's figures for the event (each once)."""
    have = {f.id for f in facts}
    return facts + [f for f in view.facts if f.id in event["facts"] and f.id not in have]


def event_answer(
    event: dict[str, Any], recs: list[Recommendation], assessed: Assessed
) -> tuple[list[Fact], str]:
    """The facts and draft of a life-event question: every suggestion keeps its served rank."""
    facts = event_facts(event, served_facts(recs, assessed), assessed.view)
    return facts, life_event_draft(event, recs, facts)


def advice(settings: Settings, context: ContextService) -> Provider:
    """The provider of savings advice and life-event planning (a factory of
    advisor/chat/decision_facts.py): a message naming a configured life event gets that
    event's figures and suggestion, any other the first suggestions."""
    service = RecommendationService.from_settings(settings, context)
    label = {a.id: a.action for a in service.policy.actions}

    def provide(
        customer_id: str, view: Customer360, message: str, earlier: tuple[str, ...] = ()
    ) -> DecisionDraft:
        event = event_of(message)
        recs, assessed = service.recommend_assessed(customer_id, channel="chat")
        traces = tuple(r.trace_id for r in recs)
        if event is None:
            facts = served_facts(recs, assessed)
            return DecisionDraft(TOPIC, facts, recommendations_draft(recs, facts), traces)
        facts, text = event_answer(event | {"label": label[event["action"]]}, recs, assessed)
        return DecisionDraft(TOPIC, facts, text, traces)

    return provide
