"""Periods are claims: the period words a sentence writes must fit the periods of its facts.

`period_problems(sentence, stated, as_of)` finds the period expressions of `periods.yaml` in a
sentence ("in 2026", "last month", "a month", "over the last 12 months", "on December 15")
and returns one reason for each that contradicts the period of the facts the sentence states.

How a phrase is matched to facts: each phrase is judged against the stated facts whose value
appears in the same clause (split at ; : , and "and"/"but"); when no stated fact appears in
its clause, against every stated fact that has a period. A phrase is fine when it fits any of
them. Facts without a period (ratios, scores, rates, due dates) never make a problem. A date
that is itself a stated date fact's value ("due on December 15") is that fact, not a period.
When the sentence states no fact with a period, its period words are judged against the
turn's facts (`turn=`): a problem only when the phrase fits none of them, and no problem when
the turn has none ("last month you asked" says nothing about a figure).

A run of past months ("over the last 12 months") fits a trailing-months average only when the
sentence says it is an average ("a month", "on average"); otherwise it reads as the total.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal

from advisor.grounding.claims import find_claims
from advisor.grounding.period_phrases import Phrase, find_phrases, load_vocabulary
from advisor.grounding.verify import same_number, written_as
from portfolio_context.facts import Fact, Period

CLAUSE_BREAK = re.compile(r"[;:]\s|,\s|\s(?:and|but|while|whereas|so)\s|\s[-\u2013\u2014]\s")
ONE_DAY = dt.timedelta(days=1)


def period_problems(
    sentence: str, stated: list[Fact], as_of: dt.date, *, turn: Sequence[Fact] = ()
) -> list[str]:
    """A reason for each period phrase of `sentence` that contradicts the facts it states."""
    phrases = [p for p in find_phrases(sentence, as_of) if not _is_stated_date(p, stated)]
    dated = [f for f in stated if f.period is not None]
    if not phrases or not (dated or any(f.period for f in turn)):
        return []
    averaged = _averaged(sentence, phrases)
    if not dated:  # no value stated: "total or average" does not arise
        pool = [f for f in turn if f.period is not None]
        return [_reason(p, pool[0]) for p in phrases if not _fits_any(p, pool, True)]
    clauses = _clauses(sentence)
    where = {f.id: {_clause(clauses, i) for i in _positions(sentence, f)} for f in dated}
    problems = []
    for phrase in phrases:
        here = _clause(clauses, phrase.start)
        pool = [f for f in dated if here in where[f.id]] or dated
        if not _fits_any(phrase, pool, averaged):
            problems.append(_reason(phrase, _nearest(pool, phrase, sentence)))
    return problems


def fits(phrase: Phrase, period: Period, averaged: bool = False) -> bool:
    """Whether what the phrase says about time agrees with the fact's period."""
    if phrase.rate:
        days = (period.end - period.start).days
        monthly_window = period.kind == "next_days" and 28 <= days <= 31
        return phrase.rate == "month" and (period.kind == "trailing_months" or monthly_window)
    if period.kind == "trailing_months":
        return phrase.kind == "trailing_months" and phrase.count == period.months and averaged
    if period.kind == "month":
        if phrase.kind == "month_name":
            return phrase.month == period.start.month
        return phrase.kind == "calendar" and phrase.spans[0] == (period.start, period.end)
    if period.kind == "next_days":
        return _fits_window(phrase, period)
    if period.kind == "as_of":
        point = phrase.kind in ("calendar", "date", "month_name", "year_to_date")
        return point and any(s <= period.start <= e for s, e in phrase.spans)
    return phrase.kind == "year_to_date" or (  # year_to_date
        phrase.kind == "calendar"
        and phrase.spans[0] == (period.start, period.end.replace(month=12, day=31))
    )


def _fits_window(phrase: Phrase, period: Period) -> bool:
    """A phrase fits the days ahead when it names that many days or a span overlapping them."""
    if phrase.kind == "next_days":
        return phrase.count == (period.end - period.start).days
    if phrase.kind in ("trailing_months", "past_days"):
        return False
    first = period.start + ONE_DAY  # the window holds the days after the as-of date
    return any(s <= period.end and e >= first for s, e in phrase.spans)


def _fits_any(phrase: Phrase, facts: list[Fact], averaged: bool) -> bool:
    """Whether the phrase fits the period of at least one of the facts."""
    return any(fits(phrase, f.period, averaged) for f in facts if f.period is not None)


def _is_stated_date(phrase: Phrase, stated: list[Fact]) -> bool:
    """Whether a date phrase is the value of a stated date fact."""
    if phrase.kind != "date":
        return False
    days = {dt.date.fromisoformat(str(f.value)) for f in stated if f.unit == "date"}
    if phrase.year_given:
        return phrase.spans[0][0] in days
    return any((d.month, d.day) == (phrase.month, phrase.day) for d in days)


def _averaged(sentence: str, phrases: list[Phrase]) -> bool:
    """Whether the sentence says its amount is an average (a per-month rate or 'average')."""
    words = load_vocabulary().average_words
    return any(p.rate == "month" for p in phrases) or bool(words.search(sentence))


def _clauses(sentence: str) -> list[int]:
    """Start offsets of the sentence's clauses (breaks inside a number or date don't count)."""
    claims = [(c.start, c.end) for c in find_claims(sentence)]
    breaks = [m.end() for m in CLAUSE_BREAK.finditer(sentence)]
    return [0] + [b for b in breaks if not any(s < b - 1 < e for s, e in claims)]


def _clause(starts: list[int], offset: int) -> int:
    """Index of the clause holding `offset`."""
    return max(i for i, start in enumerate(starts) if start <= offset)


def _positions(sentence: str, fact: Fact) -> list[int]:
    """Where the sentence writes the fact's value."""
    if not isinstance(fact.value, Decimal):
        return []
    value, unit = fact.value, written_as(fact.unit)
    return [
        c.start
        for c in find_claims(sentence)
        if c.kind == "number" and c.unit == unit and same_number(c, value)
    ]


def _nearest(facts: list[Fact], phrase: Phrase, sentence: str) -> Fact:
    """The fact whose value is written closest to the phrase (the first when none is)."""
    spots = [
        (abs(i - phrase.start), n) for n, f in enumerate(facts) for i in _positions(sentence, f)
    ]
    return facts[min(spots)[1]] if spots else facts[0]


def _reason(phrase: Phrase, fact: Fact) -> str:
    """Why the phrase contradicts the fact's period."""
    assert fact.period is not None
    noun = "amount" if fact.unit == "USD" else "figure"
    says = phrase.says
    if phrase.kind == "trailing_months" and fact.period.kind == "trailing_months":
        says = f"{says}, read as a total (no 'a month' or 'on average')"
    return f"period '{phrase.text}' is {says}; the {noun} is {describe(fact.period)}"


def describe(period: Period) -> str:
    """The period as the end of a reason: "for November 2026", "for the next 30 days"."""
    if period.kind == "month":
        return f"for {period.words.removeprefix('in ')}"
    if period.kind == "next_days":
        return f"for the {period.words.removeprefix('in the ')}"
    if period.kind == "year_to_date":
        return "for the year so far"
    return period.words
