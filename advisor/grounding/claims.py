"""Find the amounts, percentages and dates a text states (claims to verify against facts)."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS |= {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
DATE_RE = re.compile(
    rf"\b(?P<mon>{MONTH_ALT})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}}))?\b"
    rf"|\b(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})\b"
    rf"|\b(?P<us>\d{{1,2}}/\d{{1,2}}/\d{{4}})\b"
    rf"|\b(?P<mon2>{MONTH_ALT})\.?\s+(?P<year2>\d{{4}})\b",
    re.IGNORECASE,
)
NUMBER_RE = re.compile(
    r"(?P<curpre>\bUSD\s?)?(?P<neg>[-\u2212])?(?P<cur>[$\u20ac\u00a3])?\s?"
    r"(?P<num>\d(?:[\d,]*\d)?(?:\.\d+)?)"
    r"(?P<suffix>\s?%|\s?percent\b|\s?[kK]\b|\s?thousand\b|\s?million\b|\s?[mM]\b)?"
    r"(?P<curword>\s?(?:dollars|usd)\b)?",
    re.IGNORECASE,
)
MULTIPLIERS = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000}


@dataclass(frozen=True)
class Claim:
    """One amount, percentage or date stated in a text, with its position."""

    kind: str  # "number", "date", "month"
    text: str
    start: int
    end: int
    value: Decimal | None = None
    decimals: int = 0
    multiplier: int = 1
    date: dt.date | None = None
    month: tuple[int, int] | None = None
    day: tuple[int, int] | None = None
    unit: str = ""  # "USD" when written as money, "percent" as a percentage, else ""


def _date_claim(m: re.Match[str]) -> Claim | None:
    """A date claim from a DATE_RE match (None if it is not a real date)."""
    g = m.groupdict()
    try:
        if g["iso"]:
            return Claim(
                "date", m.group(), m.start(), m.end(), date=dt.date.fromisoformat(g["iso"])
            )
        if g["us"]:
            month, day, year = (int(x) for x in g["us"].split("/"))
            return Claim("date", m.group(), m.start(), m.end(), date=dt.date(year, month, day))
        if g["mon2"]:
            month_year = (int(g["year2"]), MONTHS[g["mon2"].lower()])
            return Claim("month", m.group(), m.start(), m.end(), month=month_year)
        month, day = MONTHS[g["mon"].lower()], int(g["day"])
        if g["year"]:
            return Claim(
                "date", m.group(), m.start(), m.end(), date=dt.date(int(g["year"]), month, day)
            )
        dt.date(2000, month, day)  # validates the day
        return Claim("date", m.group(), m.start(), m.end(), day=(month, day))
    except ValueError:
        return None


def _number_claim(m: re.Match[str]) -> Claim | None:
    """A number claim from a NUMBER_RE match."""
    raw = m.group("num").replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    suffix = (m.group("suffix") or "").strip().lower()
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    if m.group("neg"):
        value = -value
    return Claim(
        "number",
        m.group(),
        m.start(),
        m.end(),
        value=value,
        decimals=decimals,
        multiplier=MULTIPLIERS.get(suffix, 1),
        unit=_unit(m, suffix),
    )


def _unit(m: re.Match[str], suffix: str) -> str:
    """How the number is written: as money, as a percentage, or plain."""
    if m.group("cur") or m.group("curpre") or m.group("curword"):
        return "USD"
    return "percent" if suffix in ("%", "percent") else ""


def find_claims(text: str) -> list[Claim]:
    """Every date and number claim in the text, dates first claimed, in text order."""
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []
    for m in DATE_RE.finditer(text):
        if claim := _date_claim(m):
            claims.append(claim)
            taken.append((m.start(), m.end()))
    for m in NUMBER_RE.finditer(text):
        if any(s <= m.start("num") < e for s, e in taken):
            continue
        if claim := _number_claim(m):
            claims.append(claim)
    return sorted(claims, key=lambda c: c.start)
