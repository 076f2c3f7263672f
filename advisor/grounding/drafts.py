"""Deterministic, grounded draft answers: every number in them is a fact's display value.

The drafts follow `prompts/STYLE.md`. Sentences are rules as data (`topics.yaml`): a line is
said when its conditions on facts hold (`when: {cash.free_after_bills: negative}`), and a
sentence is never added when a fact it names is missing or would show a negative amount.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from portfolio_context.analytics import complete_months, slug
from portfolio_context.facts import Fact
from portfolio_context.view import Customer360

if TYPE_CHECKING:
    from advisor.grounding.rules import DraftLine, TopicRule
    from advisor.grounding.selection import Slots

PLACEHOLDER = re.compile(r"\{([a-z0-9_.\-]+)\}")
NO_DATA = (
    "We don't have that information in your accounts. One of our bankers can look into it with you."
)
ACCOUNT_KINDS = ("checking", "savings", "credit_card", "mortgage", "brokerage")
MAX_BILLS_LISTED = 4
SMALL = Decimal("100")  # below this, a surplus is too small to suggest moving (never shown)


def _number(fact: Fact | None) -> Decimal | None:
    """A fact's numeric value, or None for a missing or non-numeric fact."""
    return fact.value if fact is not None and isinstance(fact.value, Decimal) else None


def _test(test: Callable[[Decimal], bool]) -> Callable[[Fact | None], bool]:
    """A condition on a numeric fact (false when the fact is missing)."""
    return lambda fact: (value := _number(fact)) is not None and test(value)


CONDITIONS: dict[str, Callable[[Fact | None], bool]] = {
    "missing": lambda fact: fact is None,
    "present": lambda fact: fact is not None,
    "zero": _test(lambda v: v == 0),
    "positive": _test(lambda v: v > 0),
    "negative": _test(lambda v: v < 0),
    "not_positive": _test(lambda v: v <= 0),
    "one": _test(lambda v: v == 1),
    "many": _test(lambda v: v > 1),
    "small": _test(lambda v: 0 < v < SMALL),
    "sizeable": _test(lambda v: v >= SMALL),
}


def holds(when: dict[str, str], view: Customer360) -> bool:
    """Whether every condition of a draft line holds for this customer."""
    return all(CONDITIONS[test](view.fact(fid)) for fid, test in when.items())


def shows_negative(fact: Fact) -> bool:
    """Whether the fact would be shown as a negative amount ("-$"), which no draft says."""
    return fact.unit == "USD" and (_number(fact) or Decimal(0)) < 0


@dataclass
class Draft:
    """Draft text and the facts it states or rests on, in the order it names them."""

    text: str = ""
    facts: list[Fact] = field(default_factory=list)
    fallback: bool = False

    def add(self, sentence: str, view: Customer360, rests_on: tuple[str, ...] = ()) -> bool:
        """Append a sentence if every fact it names exists and none shows "-$"; returns whether."""
        found = [view.fact(fid) for fid in PLACEHOLDER.findall(sentence)]
        rested = [view.fact(fid) for fid in rests_on]
        if any(f is None for f in found + rested):
            return False
        facts = [f for f in found + rested if f is not None]
        if any(shows_negative(f) for f in facts[: len(found)]):
            return False
        lookup = {f.id: f.display for f in facts}
        self.note(PLACEHOLDER.sub(lambda m: lookup[m.group(1)], sentence))
        for fact in facts:
            if fact not in self.facts:
                self.facts.append(fact)
        return True

    def say(self, line: DraftLine, view: Customer360) -> bool:
        """Add a rule's line when its conditions hold; the facts they test are rested on."""
        if not holds(line.when, view):
            return False
        tested = tuple(fid for fid, test in line.when.items() if test != "missing")
        return self.add(line.say, view, tested)

    def note(self, sentence: str) -> None:
        """Append a sentence that states no figure."""
        self.text = f"{self.text} {sentence}".strip()

    def or_else(self, text: str | None) -> Draft:
        """This draft, or a plain sentence when nothing could be stated."""
        if not self.text:
            self.text, self.fallback = text or NO_DATA, True
        return self


def month_words(month: str) -> str:
    """'2019-03' as 'March 2019', read from the month names, never by building a date (a slot
    restored from a session is not trusted to hold a valid month)."""
    year, _, number = month.partition("-")
    valid = year.isdigit() and number.isdigit() and 1 <= int(number) <= 12
    return f"{calendar.month_name[int(number)]} {year}" if valid else "that month"


def build_draft(rule: TopicRule, slots: Slots, view: Customer360) -> Draft:
    """The topic's draft, its `missing` text when nothing could be said, then the next step;
    for a month outside the customer's records, the topic's `outside` text and no figure."""
    if rule.outside and slots.month and slots.month not in complete_months(view.ledger.as_of):
        return Draft(rule.outside.format(month=month_words(slots.month)), fallback=True)
    draft = DRAFTERS[rule.kind](rule, slots, view).or_else(rule.missing)
    if rule.in_month and slots.month and not draft.fallback:
        draft.text = f"{rule.in_month.format(month=month_words(slots.month))} {draft.text}"
    if not draft.fallback:
        for line in rule.next:
            draft.say(line, view)
    return draft


def facts_draft(rule: TopicRule, slots: Slots, view: Customer360) -> Draft:
    """A topic whose draft lines are all in the rules."""
    draft = Draft()
    for line in rule.draft:
        draft.say(line, view)
    return draft


def line_account(line: DraftLine) -> str | None:
    """The account kind a balance line is about (the first `balance.<kind>` it names)."""
    names = PLACEHOLDER.findall(line.say) + list(line.when)
    return next((k for n in names for k in ACCOUNT_KINDS if n.startswith(f"balance.{k}")), None)


def balance_draft(rule: TopicRule, slots: Slots, view: Customer360) -> Draft:
    """Balances of the accounts asked about (checking and savings by default)."""
    draft, kinds = Draft(), slots.accounts or ["checking", "savings"]
    for kind in kinds:
        said = [draft.say(line, view) for line in rule.draft if line_account(line) == kind]
        if not any(said) and slots.accounts and not view.ledger.has(kind):
            draft.note(f"You don't have a {kind.replace('_', ' ')} account with us.")
    return draft


def spending_draft(rule: TopicRule, slots: Slots, view: Customer360) -> Draft:
    """Spending in one category (or in total), on average or in one month."""
    key = slug(slots.category) if slots.category else "total"
    what = f"on {slots.category.lower()}" if slots.category else "in total"
    fid = f"spending.{key}.{slots.month or 'monthly_avg'}"
    scope = f" {what}" if slots.category else ""
    none = f"We don't see any spending{scope} in your last twelve complete months."
    fact, draft = view.fact(fid), Draft()
    if fact is None or fact.period is None:
        draft.note(none)
    elif fact.value and slots.month:
        draft.add(f"You spent {{{fid}}} {what} {fact.period.words}.", view)
    elif fact.value:
        draft.add(f"You spend {{{fid}}} {what} {fact.period.words}.", view)
    elif slots.month:
        draft.add(f"You didn't spend anything {what} {fact.period.words}.", view, (fid,))
    else:
        draft.add(none, view, (fid,))
    return draft


def bills_draft(rule: TopicRule, slots: Slots, view: Customer360) -> Draft:
    """Bills due in the next 30 days: count and total (rules), then the soonest few."""
    draft = facts_draft(rule, slots, view)
    dues = [f for f in view.facts if f.id.startswith("bills.") and f.id.endswith(".due")]
    for due in sorted(dues, key=lambda f: (str(f.value), f.id))[:MAX_BILLS_LISTED]:
        base = due.id.removesuffix(".due")
        payee = due.label.removesuffix(" due date")
        draft.add(f"{payee}: {{{base}.amount}} on {{{due.id}}}.", view)
    return draft


def portfolio_draft(rule: TopicRule, slots: Slots, view: Customer360) -> Draft:
    """Portfolio value and allocation by asset class."""
    draft = Draft()
    if not draft.add("Your portfolio is worth {portfolio.total_value}.", view):
        return draft
    for fact in [f for f in view.facts if f.id.startswith("portfolio.allocation.")]:
        draft.add(f"{fact.label.capitalize()}: {{{fact.id}}}.", view)
    return draft


DRAFTERS: dict[str, Callable[[TopicRule, Slots, Customer360], Draft]] = {
    "facts": facts_draft,
    "balance": balance_draft,
    "spending": spending_draft,
    "bills": bills_draft,
    "portfolio": portfolio_draft,
}
