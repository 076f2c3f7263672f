"""Periods are claims: period words a sentence writes must fit the periods of its facts."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from advisor.grounding.periods import period_problems
from portfolio_context.facts import Fact, Period

AS_OF = dt.date(2026, 12, 7)  # a Monday; the last complete month is November 2026
TRAILING_12 = [f"{y}-{m:02d}" for y, m in [(2025, 12), *((2026, n) for n in range(1, 12))]]
TRAILING_6 = [f"2026-{m:02d}" for m in range(6, 12)]
WINDOW = Period.next_days(AS_OF, 30)

NOV = Fact.number(
    "spending.dining.2026-11", "dining", 266.17, "USD", "sum", Period.month("2026-11")
)
AVG = Fact.number(
    "spending.dining.monthly_avg", "dining avg", 420, "USD", "mean", Period.trailing(TRAILING_12)
)
INCOME = Fact.number(
    "income.monthly", "income", 3844.66, "USD", "mean", Period.trailing(TRAILING_6)
)
BILLS = Fact.number("bills.upcoming_30d.total", "bills", 2104.10, "USD", "sum", WINDOW)
COUNT = Fact.number("bills.upcoming_30d.count", "bill count", 6, "count", "count", WINDOW)
RENT = Fact.number("bills.rent.amount", "rent bill", 990, "USD", "recurring", WINDOW)
RENT_DUE = Fact.date("bills.rent.due", "rent due date", dt.date(2026, 12, 15), "next due")
CHECKING = Fact.number("balance.checking", "checking", 4200, "USD", "sum", Period.on(AS_OF))
DEPOSIT_DAY = dt.date(2026, 11, 20)
DEPOSIT = Fact.number(
    "income.last_deposit", "last deposit", 1774.46, "USD", "payer", Period.on(DEPOSIT_DAY)
)
DEPOSIT_DATE = Fact.date("income.last_deposit_date", "deposit date", DEPOSIT_DAY, "payer")
YTD = Fact.number("spending.total.ytd", "spent", 30000, "USD", "sum", Period.year_to_date(AS_OF))
DTI = Fact.number("debt.dti", "debt-to-income ratio", 18.6, "percent", "ratio")
RATE = Fact.number("rate.credit_card", "card rate", 24.9, "percent", "APR")

ROWS: list[tuple[str, list[Fact], list[str]]] = [
    # one month's amount
    ("You spent $266.17 on dining in 2026.", [NOV], ["in 2026"]),
    ("You spent $266.17 on dining in November 2026.", [NOV], []),
    ("You spent $266.17 on dining in November.", [NOV], []),
    ("You spent $266.17 on dining last month.", [NOV], []),
    ("You spent $266.17 on dining a month ago.", [NOV], []),
    ("You spent $266.17 on dining this month.", [NOV], ["this month"]),
    ("You spent $266.17 on dining in October.", [NOV], ["in October"]),
    ("You spent $266.17 on dining two months ago.", [NOV], ["two months ago"]),
    ("You spend $266.17 a month on dining.", [NOV], ["a month"]),
    ("You spent $266.17 on dining this year.", [NOV], ["this year"]),
    ("You spent $266.17 on dining a year ago.", [NOV], ["a year ago"]),
    ("You spent $266.17 on dining on November 15.", [NOV], ["November 15"]),
    ("You spent $266.17 on dining in the last 30 days.", [NOV], ["in the last 30 days"]),
    ("You spent nothing more on dining.", [NOV], []),
    # an average per month over the last 12 complete months
    ("You spend $420.00 a month on dining.", [AVG], []),
    (
        "You spend $420.00 on dining a month on average over the last 12 complete months.",
        [AVG],
        [],
    ),
    ("On average you spend $420.00 on dining over the past twelve months.", [AVG], []),
    ("You spend $420.00 on dining monthly.", [AVG], []),
    ("You spend $420.00 per year on dining.", [AVG], ["per year"]),
    ("You spend $420.00 on dining annually.", [AVG], ["annually"]),
    ("You spent $420.00 on dining over the last 12 months.", [AVG], ["over the last 12 months"]),
    ("You spend $420.00 on dining every week.", [AVG], ["every week"]),
    ("You spend $420.00 on dining daily.", [AVG], ["daily"]),
    ("You spend $420.00 a month on dining in 2026.", [AVG], ["in 2026"]),
    (
        "You spend $420.00 on dining over the last 6 months on average.",
        [AVG],
        ["over the last 6 months"],
    ),
    ("You spend $420.00 on dining each month, and $266.17 in November.", [AVG, NOV], []),
    (
        "You spend $420.00 a month on dining; your card's annual percentage rate is 24.9%.",
        [AVG, RATE],
        [],
    ),
    ("Your income is $3,844.66 a month on average over the last 6 complete months.", [INCOME], []),
    # bills due in the next 30 days (December 7, 2026 to January 6, 2027)
    ("You have 6 bills due in the next 30 days, totalling $2,104.10.", [COUNT, BILLS], []),
    ("You have bills of $2,104.10 due in the next 7 days.", [BILLS], ["in the next 7 days"]),
    ("Your bills this month total $2,104.10.", [BILLS], []),
    ("Your bills total $2,104.10 in January.", [BILLS], []),
    ("You have $2,104.10 in bills due by January 6, 2027.", [BILLS], []),
    ("Your bills total $2,104.10 a month.", [BILLS], []),
    ("Your bills total $2,104.10 per year.", [BILLS], ["per year"]),
    ("Your bills of $2,104.10 were due yesterday.", [BILLS], ["yesterday"]),
    ("This month's rent bill is $990.00, due on December 15.", [RENT, RENT_DUE], []),
    ("Your rent of $990.00 is due on December 15.", [RENT, RENT_DUE], []),
    ("Your rent of $990.00 was paid last month.", [RENT], ["last month"]),
    # a balance or a deposit on a date
    ("Your checking balance is $4,200.00 today.", [CHECKING], []),
    ("As of December 7, 2026, your checking balance is $4,200.00.", [CHECKING], []),
    ("Your checking balance was $4,200.00 last month.", [CHECKING], ["last month"]),
    ("Your checking balance is $4,200.00 a month.", [CHECKING], ["a month"]),
    ("Your last deposit was $1,774.46 on November 20.", [DEPOSIT, DEPOSIT_DATE], []),
    ("Your last deposit was $1,774.46 last month.", [DEPOSIT], []),
    ("Your last deposit was $1,774.46 last week.", [DEPOSIT], ["last week"]),
    # the year to date
    ("You've spent $30,000.00 so far this year.", [YTD], []),
    ("You've spent $30,000.00 in 2026.", [YTD], []),
    ("You've spent $30,000.00 last year.", [YTD], ["last year"]),
    # several facts in one sentence: a phrase is judged in its own clause
    (
        "Your checking balance is $4,200.00, and you spent $266.17 on dining in 2026.",
        [CHECKING, NOV],
        ["in 2026"],
    ),
    (
        "You spent $266.17 on dining in 2026, and your balance is $4,200.00.",
        [NOV, CHECKING],
        ["in 2026"],
    ),
    # facts without a period, and sentences stating no fact
    ("Your debt-to-income ratio is 18.6% this year.", [DTI], []),
    ("Last month you asked about dining.", [], []),
]


def flagged(problems: list[str]) -> list[str]:
    """The phrases the reasons name."""
    return [m.group(1) for p in problems if (m := re.match(r"period '(.+?)'", p))]


@pytest.mark.parametrize(("sentence", "stated", "phrases"), ROWS)
def test_period_problems(sentence: str, stated: list[Fact], phrases: list[str]) -> None:
    assert flagged(period_problems(sentence, stated, AS_OF)) == phrases


def test_reason_names_the_phrase_and_the_fact_period() -> None:
    problems = period_problems("You spent $266.17 on dining in 2026.", [NOV], AS_OF)
    assert problems == ["period 'in 2026' is a year; the amount is for November 2026"]


@pytest.mark.parametrize(
    ("turn", "phrases"),
    [
        ([], []),  # nothing to contradict
        ([NOV], []),  # "last month" is November 2026: fits the turn's fact
        ([AVG], ["Last month"]),  # contradicts every fact of the turn
        ([AVG, NOV], []),
        ([INCOME], ["Last month"]),
    ],
)
def test_sentence_without_stated_facts_is_judged_against_the_turn(
    turn: list[Fact], phrases: list[str]
) -> None:
    problems = period_problems("Last month you asked about dining.", [], AS_OF, turn=turn)
    assert flagged(problems) == phrases


@pytest.mark.parametrize(
    ("period", "kind", "start", "end", "words"),
    [
        (Period.month("2026-11"), "month", "2026-11-01", "2026-11-30", "in November 2026"),
        (
            Period.trailing(TRAILING_12),
            "trailing_months",
            "2025-12-01",
            "2026-11-30",
            "a month on average over the last 12 complete months",
        ),
        (WINDOW, "next_days", "2026-12-07", "2027-01-06", "in the next 30 days"),
        (Period.on(AS_OF), "as_of", "2026-12-07", "2026-12-07", "as of December 7, 2026"),
        (
            Period.year_to_date(AS_OF),
            "year_to_date",
            "2026-01-01",
            "2026-12-07",
            "so far this year",
        ),
    ],
)
def test_period_json(period: Period, kind: str, start: str, end: str, words: str) -> None:
    fact = Fact.number("x", "x", 1, "USD", "d", period)
    assert fact.to_json()["period"] == {"kind": kind, "start": start, "end": end, "words": words}


def test_fact_without_period_keeps_its_json_and_says_null() -> None:
    data = DTI.to_json()
    assert data["period"] is None and data["display"] == "18.6%" and data["value"] == 18.6


@pytest.mark.parametrize(
    ("sentence", "turn", "phrases"),
    [
        ("We don't see regular income over the last six complete months.", [INCOME], []),
        ("We don't see any spending on dining in your last twelve complete months.", [AVG], []),
        ("You have no bills due in the next 30 days.", [COUNT, BILLS], []),
        ("You have no bills due in the next 7 days.", [COUNT, BILLS], ["in the next 7 days"]),
        ("Nothing was spent on dining in 2026.", [NOV], ["in 2026"]),
    ],
)
def test_draft_sentences_in_words_against_the_turn(
    sentence: str, turn: list[Fact], phrases: list[str]
) -> None:
    assert flagged(period_problems(sentence, [], AS_OF, turn=turn)) == phrases
