"""The spending-pattern rule (spending_change.yaml): which card histories fire, and which do not."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from advisor.orchestration.spending_change import CardHistory, evaluate, load_rule, owed_each_day

DAY = dt.date(2026, 11, 28)  # the window is Oct 30 .. Nov 28; the trailing baseline Aug 1 .. Oct 29
RULE = load_rule()
OLD = dt.date(2020, 1, 1)


def on(days_back: int) -> dt.date:
    return DAY - dt.timedelta(days=days_back)


def card(
    recent: str = "0", usual: str = "0", last_year: str = "0", opened: dt.date = OLD,
    owed: str = "0", refund: str = "0", payments: tuple[tuple[dt.date, Decimal], ...] = (),
    extra: tuple[tuple[dt.date, Decimal], ...] = (),
) -> CardHistory:  # fmt: skip
    """A $5,000 card: `recent` spent in the window, `usual` over the 90 days before it,
    `last_year` in the same window a year earlier (each as one purchase), a refund in the window."""
    postings = [
        (on(3), -Decimal(recent)), (on(60), -Decimal(usual)),
        (on(365 + 3), -Decimal(last_year)), (on(2), Decimal(refund)), *extra,
    ]  # fmt: skip
    return CardHistory("C-CRE", Decimal(5000), Decimal(owed), opened, tuple(postings), payments)


# (case, card, rules that fire)
SURGE = [
    ("steady", card(recent="900", usual="2700"), ()),
    ("doubled", card(recent="1800", usual="2700"), ("spend_surge",)),
    ("exactly 1.5x and +$500", card(recent="1500", usual="3000"), ("spend_surge",)),
    ("a cent short of 1.5x", card(recent="1499.99", usual="3000"), ()),
    ("doubled but only +$300", card(recent="600", usual="900"), ()),
    ("baseline too thin", card(recent="1500", usual="450"), ()),
    ("card younger than the baseline", card(recent="1800", usual="2700", opened=on(100)), ()),
    ("same as last year's season", card(recent="1800", usual="2700", last_year="1800"), ()),
    ("above last year's season too", card(recent="3000", usual="2700", last_year="1800"),
     ("spend_surge",)),
    ("no year of history: trailing only", card(recent="1800", usual="2700", opened=on(200),
                                               last_year="5000"), ("spend_surge",)),
    ("a refund nets the surge away", card(recent="1800", usual="2700", refund="800"), ()),
    ("a payment is no spend", card(recent="900", usual="2700", payments=((on(5), Decimal(3000)),)),
     ()),
]  # fmt: skip

UTILISATION = [
    ("owes 80% all month", card(owed="4000"), ("sustained_utilisation",)),
    ("owes exactly 70%", card(owed="3500"), ("sustained_utilisation",)),
    ("owes 68%", card(owed="3400"), ()),
    ("80% only since a purchase 5 days ago", card(owed="4000", extra=((on(5), Decimal(-2000)),)),
     ()),
    ("80% after a payment: above before it too", card(owed="4000",
                                                     payments=((on(10), Decimal(3000)),)),
     ("sustained_utilisation",)),
]  # fmt: skip


@pytest.mark.parametrize(("case", "history", "fired"), SURGE + UTILISATION,
                         ids=[c[0] for c in SURGE + UTILISATION])  # fmt: skip
def test_the_rule_table(case: str, history: CardHistory, fired: tuple[str, ...]) -> None:
    found = evaluate("C0001", history, DAY, RULE)
    assert found.fired == fired, case
    assert found.fires is bool(fired)
    assert bool(found.facts) is bool(fired)


def test_a_surge_states_its_figures_as_facts() -> None:
    found = evaluate("C0001", card(recent="1800", usual="2700"), DAY, RULE)
    facts = {f.id: f for f in found.facts}
    assert facts["spending.card_recent"].value == Decimal("1800.00")
    assert facts["spending.card_usual"].value == Decimal("900.00")
    assert facts["spending.card_usual"].display == "$900.00"
    assert facts["spending.window_days"].display == "30"


def test_sustained_use_states_the_lowest_share() -> None:
    found = evaluate("C0001", card(owed="4000", extra=((on(40), Decimal(-100)),)), DAY, RULE)
    [lowest] = [f for f in found.facts if f.id == "spending.card_lowest_use"]
    assert lowest.display == "80.0%"


def test_balances_are_rebuilt_backwards_from_today() -> None:
    history = card(owed="1000", extra=((on(1), Decimal(-300)),),
                   payments=((on(2), Decimal(500)),))  # fmt: skip
    # end of day 3 back: before the payment (owed 500 more) and the purchase (owed 300 less)
    assert owed_each_day(history, on(3), DAY) == [
        Decimal(1200),
        Decimal(700),
        Decimal(1000),
        Decimal(1000),
    ]


def test_no_card_never_fires() -> None:
    found = evaluate("C0001", None, DAY, RULE)
    assert found.fired == () and found.facts == ()
