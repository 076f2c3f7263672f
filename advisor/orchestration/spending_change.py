"""A spending-pattern change on the credit card, judged from the ledger by spending_change.yaml.

`load_card(db, customer, day)` reads what the rule needs (one indexed query on the card's
postings); `evaluate(card, day, rule)` is pure, so the rule table is tested without a bank.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from advisor.orchestration import ledger
from portfolio_context.facts import Fact
from portfolio_context.models import Transaction

RULE_FILE = Path(__file__).with_suffix(".yaml")
YEAR = dt.timedelta(days=365)
ZERO = Decimal("0")


def load_rule(path: Path = RULE_FILE) -> dict[str, Any]:
    """The rule as data."""
    loaded: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    return loaded


@dataclass(frozen=True)
class CardHistory:
    """One credit card as the rule sees it: limit, what is owed today, when it opened, and
    its postings (day, ledger amount: negative = spend) that are not payments."""

    account_id: str
    limit: Decimal
    owed_now: Decimal
    opened: dt.date
    postings: tuple[tuple[dt.date, Decimal], ...]
    payments: tuple[tuple[dt.date, Decimal], ...] = ()


@dataclass(frozen=True)
class SpendingChange:
    """What the rule found for one customer on one day: the rules that fired and their facts."""

    customer_id: str
    day: dt.date
    fired: tuple[str, ...]
    facts: tuple[Fact, ...]

    @property
    def fires(self) -> bool:
        """Whether any rule fired."""
        return bool(self.fired)


def load_card(
    db: Session, customer_id: str, day: dt.date, rule: dict[str, Any]
) -> CardHistory | None:
    """The customer's credit card and its postings from the earliest day the rule reads."""
    card = ledger.account_of(db, customer_id, "credit_card")
    if card is None or not card.credit_limit:
        return None
    since = day - YEAR - dt.timedelta(days=int(rule["window_days"]))
    rows = db.execute(
        select(Transaction.posted, Transaction.amount, Transaction.category)
        .where(Transaction.account_id == card.id, Transaction.posted >= since)
    ).all()  # fmt: skip
    paying = set(rule["payment_categories"])
    spend = tuple((r.posted, r.amount) for r in rows if r.category not in paying)
    paid = tuple((r.posted, r.amount) for r in rows if r.category in paying)
    return CardHistory(card.id, card.credit_limit, card.balance, card.opened, spend, paid)


def spend_between(card: CardHistory, first: dt.date, last: dt.date) -> Decimal:
    """Card spend (purchases net of refunds) posted from `first` to `last`, inclusive."""
    return -sum((a for d, a in card.postings if first <= d <= last), ZERO)


def baseline(card: CardHistory, day: dt.date, window: int, surge: dict[str, Any]) -> Decimal | None:
    """The customer's usual spend per window: the larger of the trailing average and the same
    window a year earlier (None when the card is younger than the trailing baseline)."""
    days = int(surge["baseline_days"])
    end = day - dt.timedelta(days=window)
    start = end - dt.timedelta(days=days - 1)
    if card.opened > start:
        return None
    trailing = spend_between(card, start, end) * window / days
    if not surge.get("seasonal") or card.opened > day - YEAR - dt.timedelta(days=window - 1):
        return trailing
    seasonal = spend_between(card, day - YEAR - dt.timedelta(days=window - 1), day - YEAR)
    return max(trailing, seasonal)


def owed_each_day(card: CardHistory, first: dt.date, last: dt.date) -> list[Decimal]:
    """End-of-day balances owed from `first` to `last`, rebuilt backwards from today's: a
    posting of amount a moved what is owed by -a, so before it the card owed a more."""
    moves = [*card.postings, *card.payments]
    owed = []
    for offset in range((last - first).days + 1):
        on = first + dt.timedelta(days=offset)
        owed.append(card.owed_now + sum((a for d, a in moves if d > on), ZERO))
    return owed


def _surge(card: CardHistory, day: dt.date, window: int, rule: dict[str, Any]) -> list[Fact]:
    """The spend-surge facts when it fires, else none."""
    surge = rule["rules"]["spend_surge"]
    usual = baseline(card, day, window, surge)
    recent = spend_between(card, day - dt.timedelta(days=window - 1), day)
    if usual is None or usual < Decimal(surge["min_baseline"]):
        return []
    risen = recent - usual >= Decimal(surge["min_increase"])
    if not risen or recent < usual * Decimal(surge["min_ratio"]):
        return []
    first = day - dt.timedelta(days=window - 1)
    return [
        Fact.number("spending.card_recent", f"card spending, last {window} days", recent, "USD",
                    f"card {card.account_id} purchases net of refunds, {first} to {day}"),
        Fact.number("spending.card_usual", f"usual card spending per {window} days", usual,
                    "USD", f"the larger of the {surge['baseline_days']} days before, averaged, "
                    "and the same days a year earlier"),
    ]  # fmt: skip


def _utilisation(card: CardHistory, day: dt.date, window: int, rule: dict[str, Any]) -> list[Fact]:
    """The sustained-utilisation fact when it fires, else none."""
    share = Decimal(rule["rules"]["sustained_utilisation"]["min_share"])
    owed = owed_each_day(card, day - dt.timedelta(days=window - 1), day)
    lowest = min(owed) / card.limit
    if lowest < share:
        return []
    label = f"lowest share of the limit used, last {window} days"
    how = f"card {card.account_id} end-of-day balances / limit {card.limit}"
    return [Fact.number("spending.card_lowest_use", label, lowest * 100, "percent", how)]


CHECKS = {"spend_surge": _surge, "sustained_utilisation": _utilisation}


def evaluate(
    customer_id: str, card: CardHistory | None, day: dt.date, rule: dict[str, Any]
) -> SpendingChange:
    """Which rules fire for this card on `day`, with the facts that show it."""
    if card is None:
        return SpendingChange(customer_id, day, (), ())
    window = int(rule["window_days"])
    fired: list[str] = []
    facts: list[Fact] = []
    for name in rule["rules"]:
        found = CHECKS[name](card, day, window, rule)
        if found:
            fired.append(name)
            facts.extend(found)
    if fired:
        facts.append(Fact.number("spending.window_days", "days looked at", window, "count",
                                 "spending_change.yaml window_days"))  # fmt: skip
    return SpendingChange(customer_id, day, tuple(fired), tuple(facts))
