"""Find the period expressions of `periods.yaml` in a sentence and resolve them to dates."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from portfolio_context.facts import month_bounds

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS |= {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m} | {"sept": 9}
MONTH_GROUP = "(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + ")"
NUMBER_WORDS = re.split(
    r"\s+",
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty",
)
COUNT_GROUP = r"\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
Span = tuple[dt.date, dt.date]


@dataclass(frozen=True)
class Phrase:
    """One period expression found in a sentence, resolved against the as-of date.

    `kind` is "rate" (with `rate`), "calendar" (a day, week, month or year span), "date",
    "month_name" (a month of any year: `spans` holds the nearest three), "year_to_date",
    "trailing_months", "next_days" or "past_days" (with `count`).
    """

    text: str
    start: int
    says: str
    kind: str
    spans: tuple[Span, ...] = ()
    rate: str | None = None
    count: int = 0
    month: int = 0
    day: int = 0
    year_given: bool = False


@dataclass(frozen=True)
class Entry:
    """One vocabulary entry: its patterns, what it means and how a reason names it."""

    id: str
    patterns: list[re.Pattern[str]]
    means: dict[str, Any]
    says: str


@dataclass(frozen=True)
class Vocabulary:
    """The period vocabulary, compiled."""

    entries: list[Entry]
    average_words: re.Pattern[str]


def _compile(pattern: str) -> re.Pattern[str]:
    """A case-insensitive regex with {month} and {count} expanded."""
    expanded = pattern.replace("{month}", MONTH_GROUP).replace("{count}", COUNT_GROUP)
    return re.compile(expanded, re.IGNORECASE)


@lru_cache(maxsize=1)
def load_vocabulary() -> Vocabulary:
    """Parse `periods.yaml` once."""
    text = resources.files("advisor.grounding").joinpath("periods.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    entries = [
        Entry(e["id"], [_compile(p) for p in e["patterns"]], dict(e["means"]), e["says"])
        for e in data["phrases"]
    ]
    words = re.compile("|".join(f"(?:{p})" for p in data["average_words"]), re.IGNORECASE)
    return Vocabulary(entries, words)


def find_phrases(sentence: str, as_of: dt.date) -> list[Phrase]:
    """The period phrases of a sentence in text order; earlier entries win overlaps."""
    taken: list[tuple[int, int]] = []
    found: list[Phrase] = []
    for entry in load_vocabulary().entries:
        for pattern in entry.patterns:
            for m in pattern.finditer(sentence):
                if any(s < m.end() and m.start() < e for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                if phrase := resolve(entry, m, as_of):
                    found.append(phrase)
    return sorted(found, key=lambda p: p.start)


def _count(raw: str | None) -> int:
    """A count written in digits or words."""
    text = (raw or "").lower()
    return NUMBER_WORDS.index(text) if text in NUMBER_WORDS else int(text or 0)


def resolve(entry: Entry, m: re.Match[str], as_of: dt.date) -> Phrase | None:
    """The phrase a match stands for (None for an impossible date such as February 30)."""
    means, groups = entry.means, m.groupdict()
    head = (m.group().strip(), m.start(), entry.says)
    if "rate" in means:
        return Phrase(*head, kind="rate", rate=str(means["rate"]))
    span = str(means["span"])
    if span in ("trailing_months", "next_days", "past_days"):
        raw = means.get("count")
        count = _count(groups.get("count")) if raw == "count" else int(raw or 0)
        return Phrase(*head, kind=span, spans=(_relative(span, count, as_of),), count=count)
    try:
        return _named(span, groups, head, as_of) or Phrase(
            *head,
            kind="year_to_date" if span == "year_to_date" else "calendar",
            spans=(_calendar(span, _offset(means, groups), as_of),),
        )
    except ValueError:
        return None


def _offset(means: dict[str, Any], groups: dict[str, str | None]) -> int:
    """How many units the span moves from the as-of date ("-count": back by the count)."""
    offset = means.get("offset", 0)
    return -_count(groups.get("count")) if offset == "-count" else int(offset)


def _named(
    span: str, groups: dict[str, str | None], head: tuple[str, int, str], as_of: dt.date
) -> Phrase | None:
    """Phrases that name a date, a month or a year."""
    month = MONTHS.get((groups.get("month") or "").lower().rstrip("."), 0)
    year = int(groups.get("year") or 0) or None
    if span == "named_year" and year:
        return Phrase(*head, kind="calendar", spans=((dt.date(year, 1, 1), dt.date(year, 12, 31)),))
    if span == "named_month" and year:
        return Phrase(*head, kind="calendar", spans=(month_bounds(f"{year}-{month:02d}"),))
    if span == "month_name":
        years = (as_of.year - 1, as_of.year, as_of.year + 1)
        spans = tuple(month_bounds(f"{y}-{month:02d}") for y in years)
        return Phrase(*head, kind="month_name", spans=spans, month=month)
    if span == "date":
        day = int(groups.get("day") or 0)
        options = [dt.date(year, month, day)] if year else _near_dates(month, day, as_of)
        when = min(options, key=lambda d: abs((d - as_of).days))
        return Phrase(
            *head, kind="date", spans=((when, when),), month=month, day=day, year_given=bool(year)
        )
    return None


def _near_dates(month: int, day: int, as_of: dt.date) -> list[dt.date]:
    """The date in the as-of year and the years either side (raises for impossible dates)."""
    dates = []
    for year in (as_of.year - 1, as_of.year, as_of.year + 1):
        try:
            dates.append(dt.date(year, month, day))
        except ValueError:
            continue  # February 29 outside a leap year
    if not dates:
        raise ValueError(f"no such date: {month}/{day}")
    return dates


def _calendar(unit: str, offset: int, as_of: dt.date) -> Span:
    """A day, week, month or year moved by `offset` units from the as-of date, or the YTD."""
    if unit == "year_to_date":
        return as_of.replace(month=1, day=1), as_of
    if unit == "day":
        day = as_of + dt.timedelta(days=offset)
        return day, day
    if unit == "week":
        monday = as_of - dt.timedelta(days=as_of.weekday()) + dt.timedelta(weeks=offset)
        return monday, monday + dt.timedelta(days=6)
    if unit == "month":
        index = as_of.year * 12 + as_of.month - 1 + offset
        return month_bounds(f"{index // 12}-{index % 12 + 1:02d}")
    year = as_of.year + offset
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _relative(kind: str, count: int, as_of: dt.date) -> Span:
    """The last `count` complete months, or the `count` days after or before the as-of date."""
    if kind == "next_days":
        return as_of, as_of + dt.timedelta(days=count)
    if kind == "past_days":
        return as_of - dt.timedelta(days=count), as_of
    first = _calendar("month", -max(count, 1), as_of)[0]
    return first, as_of.replace(day=1) - dt.timedelta(days=1)
