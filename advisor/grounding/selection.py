"""Pick the facts a question needs from the 360 view and build the grounded draft answer."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from advisor.grounding.drafts import Draft, build_draft
from advisor.grounding.rules import Rulebook, first_match, load_rulebook
from portfolio_context.analytics import complete_months
from portfolio_context.facts import Fact
from portfolio_context.view import Customer360

FOLLOW_UP = re.compile(r"^\s*(and|what about|how about|what of|same for|ok(ay)?,? and)\b", re.I)
FRAGMENT_WORDS = 5
MONTH_NAMES = {dt.date(2000, m, 1).strftime("%B").lower(): m for m in range(1, 13)}
# "in March" (the latest March), but not "in March 0000": a number of 3+ digits after the month
# is a year, and one outside 1900-2099 is no month the customer's records can be asked about
MONTH_RE = re.compile(
    r"\b(?:in|for|during)\s+(" + "|".join(MONTH_NAMES) + r")\b(?!,?\s+(?:of\s+)?\d{3})", re.I
)
# "January 2019", "March, 2025": a month of that year (perhaps outside the customer's records);
# only a plausible year (1900-2099), so no date is ever built from "March 0000" or "March 9999"
MONTH_YEAR_RE = re.compile(
    r"\b(" + "|".join(MONTH_NAMES) + r"),?\s+(?:of\s+)?((?:19|20)\d{2})\b", re.I
)


@dataclass
class Slots:
    """What the conversation is about, carried across turns for follow-ups."""

    topic: str | None = None
    category: str | None = None
    month: str | None = None
    accounts: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON form for the session store."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Slots:
        """Rebuild from the session store."""
        return cls(**data) if data else cls()


@dataclass
class Selection:
    """The facts an answer rests on and the deterministic draft stating them."""

    topic: str
    facts: list[Fact]
    draft: str
    slots: Slots


def read_slots(text: str, view: Customer360, book: Rulebook) -> Slots:
    """Topic, category, month and accounts named in one message."""
    topic = next((t.id for t in book.topics if t.matches(text)), None)
    categories = first_match(text, book.categories)
    months = complete_months(view.ledger.as_of)
    month = months[-1] if first_match(text, {"m": book.windows["last_month"]}) else None
    if dated := MONTH_YEAR_RE.search(text):
        month = f"{dated.group(2)}-{MONTH_NAMES[dated.group(1).lower()]:02d}"
    elif named := MONTH_RE.search(text):
        number = MONTH_NAMES[named.group(1).lower()]
        month = next((m for m in reversed(months) if int(m[5:]) == number), month)
    return Slots(
        topic, categories[0] if categories else None, month, first_match(text, book.accounts)
    )


def merge_follow_up(text: str, current: Slots, previous: Slots) -> Slots:
    """Fill what a follow-up ("and last month?") leaves out from the previous turn.

    Only a message that reads as a follow-up (a cue such as "and" or "what about", or a
    fragment of a few words) inherits: a full question that merely names an account ("how is
    APY calculated on my savings account?") is a new question. "and on average?" drops the
    previous turn's month.
    """
    names_something = current.category or current.month or current.accounts
    fragment = len(text.split()) <= FRAGMENT_WORDS and names_something
    if current.topic or previous.topic is None or not (fragment or FOLLOW_UP.search(text)):
        return current
    averaged = any(p.search(text) for p in load_rulebook().windows["average"])
    return Slots(
        topic=previous.topic,
        category=current.category or previous.category,
        month=current.month or (None if averaged else previous.month),
        accounts=current.accounts or previous.accounts,
    )


def select_facts(
    message: str,
    view: Customer360,
    previous: Slots | None = None,
    topic: str | None = None,
    rules: bool = True,
) -> Selection | None:
    """The selection for this message, or None when it asks about none of the customer's facts.

    `topic` is the intent router's topic: it answers a message the topic patterns place
    nowhere and that is no follow-up of the previous turn ("and last month?" keeps the
    previous topic). With `rules` false (the router sent the message elsewhere) the topic
    patterns are not read; a follow-up still inherits.
    """
    book = load_rulebook()
    current = read_slots(message, view, book)
    current = current if rules else replace(current, topic=None)
    slots = merge_follow_up(message, current, previous or Slots())
    if topic is not None and book.topic(topic) is not None and slots.topic is None:
        slots = replace(current, topic=topic)
    rule = book.topic(slots.topic) if slots.topic else None
    if rule is None:
        return None
    draft: Draft = build_draft(rule, slots, view)
    return Selection(rule.id, draft.facts, draft.text, slots)
