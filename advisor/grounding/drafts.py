"""Deterministic, grounded draft answers: every number in them is a fact's display value."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from portfolio_context.analytics import slug
from portfolio_context.facts import Fact
from portfolio_context.view import Customer360

if TYPE_CHECKING:
    from advisor.grounding.rules import TopicRule
    from advisor.grounding.selection import Slots

PLACEHOLDER = re.compile(r"\{([a-z0-9_.\-]+)\}")
NO_DATA = "I don't have that information in your accounts."
ACCOUNT_SENTENCES = {
    "checking": "Your checking balance is {balance.checking}.",
    "savings": "Your savings balance is {balance.savings}.",
    "credit_card": "You owe {balance.credit_card} on your credit card.",
    "mortgage": "Your mortgage balance is {balance.mortgage}.",
    "brokerage": "Your brokerage account is worth {balance.brokerage}.",
}
MAX_BILLS_LISTED = 4


@dataclass
class Draft:
    """Draft text and the facts it states, in the order it states them."""

    text: str = ""
    facts: list[Fact] = field(default_factory=list)

    def add(self, sentence: str, view: Customer360) -> bool:
        """Append a sentence if every fact it names exists; returns whether it was added."""
        found = [view.fact(fid) for fid in PLACEHOLDER.findall(sentence)]
        if any(f is None for f in found):
            return False
        facts = [f for f in found if f is not None]
        lookup = {f.id: f.display for f in facts}
        self.text = f"{self.text} {PLACEHOLDER.sub(lambda m: lookup[m.group(1)], sentence)}".strip()
        self.facts += [f for f in facts if f not in self.facts]
        return True

    def or_else(self, text: str | None) -> Draft:
        """This draft, or a plain sentence when nothing could be stated."""
        if not self.text:
            self.text = text or NO_DATA
        return self


def facts_draft(rule: TopicRule, slots: Slots, view: Customer360) -> Draft:
    """A topic whose draft sentences are fixed in the rules."""
    draft = Draft()
    for sentence in rule.draft:
        draft.add(sentence, view)
    return draft.or_else(rule.missing)


def balance_draft(rule: TopicRule, slots: Slots, view: Customer360) -> Draft:
    """Balances of the accounts asked about (checking and savings by default)."""
    draft, kinds = Draft(), slots.accounts or ["checking", "savings"]
    for kind in kinds:
        if not draft.add(ACCOUNT_SENTENCES[kind], view) and slots.accounts:
            draft.text = f"{draft.text} You don't have a {kind.replace('_', ' ')} account with us."
    return draft.or_else(None)


def spending_draft(rule: TopicRule, slots: Slots, view: Customer360) -> Draft:
    """Spending in one category (or in total), on average or in one month."""
    key = slug(slots.category) if slots.category else "total"
    what = f"on {slots.category.lower()}" if slots.category else "in total"
    if slots.month:
        year, month = slots.month.split("-")
        label = f"{_month_name(int(month))} {year}"
        sentence = f"You spent {{spending.{key}.{slots.month}}} {what} in {label}."
    else:
        sentence = (
            f"You spend {{spending.{key}.monthly_avg}} a month {what} on average "
            "over the last 12 complete months."
        )
    draft = Draft()
    if not draft.add(sentence, view):
        draft.text = f"I don't see any spending {what} in your last twelve months of transactions."
    return draft


def bills_draft(rule: TopicRule, slots: Slots, view: Customer360) -> Draft:
    """Bills due in the next 30 days: count, total and the soonest few."""
    draft = Draft()
    draft.add(
        "You have {bills.upcoming_30d.count} bills due in the next 30 days, "
        "totalling {bills.upcoming_30d.total}.",
        view,
    )
    dues = [f for f in view.facts if f.id.startswith("bills.") and f.id.endswith(".due")]
    for due in sorted(dues, key=lambda f: str(f.value))[:MAX_BILLS_LISTED]:
        base = due.id.removesuffix(".due")
        payee = due.label.removesuffix(" due date")
        draft.add(f"{payee}: {{{base}.amount}} on {{{due.id}}}.", view)
    return draft


def portfolio_draft(rule: TopicRule, slots: Slots, view: Customer360) -> Draft:
    """Portfolio value and allocation by asset class."""
    draft = Draft()
    if not draft.add("Your portfolio is worth {portfolio.total_value}.", view):
        return draft.or_else(
            "I don't see an investment portfolio among your accounts. If you "
            "would like to start investing, I can connect you with one of our "
            "bankers."
        )
    for fact in [f for f in view.facts if f.id.startswith("portfolio.allocation.")]:
        draft.add(f"{fact.label.capitalize()}: {{{fact.id}}}.", view)
    return draft


def _month_name(month: int) -> str:
    """English month name."""
    import calendar

    return calendar.month_name[month]


DRAFTERS: dict[str, Callable[[TopicRule, Slots, Customer360], Draft]] = {
    "facts": facts_draft,
    "balance": balance_draft,
    "spending": spending_draft,
    "bills": bills_draft,
    "portfolio": portfolio_draft,
}
