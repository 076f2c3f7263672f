"""How a structured product term reads in text: its unit comes from its name's suffix."""

from __future__ import annotations

from retrieval.products import Product

Facts = list[tuple[str, str]]  # (product_id.term, display) in the order the text states them

# suffix -> (singular, plural); checked in order, so "_business_days" wins over "_days"
DURATIONS = (
    ("_business_days", "business day", "business days"),
    ("_days", "day", "days"),
    ("_hours", "hour", "hours"),
    ("_minutes", "minute", "minutes"),
    ("_months", "month", "months"),
    ("_years", "year", "years"),
)


class TermFormatError(ValueError):
    """A placeholder names a term that does not exist or cannot be displayed."""


def money(value: float) -> str:
    """US dollars: fees to the cent ("$5.00", "$2.50"); whole amounts from $100 as "$2,500"."""
    if value >= 100 and value == int(value):
        return f"${value:,.0f}"
    return f"${value:,.2f}"


def number(value: float) -> str:
    """A plain number: "3", "1.5", "10,000"."""
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


def _unit(term: str) -> tuple[str, str] | None:
    """The duration unit (singular, plural) of a term, or None when it is not a duration."""
    return next(((one, many) for suffix, one, many in DURATIONS if term.endswith(suffix)), None)


def _kind(term: str) -> str:
    """The suffix family of a term: usd, percent, count or the duration suffix."""
    for suffix in ("_usd", "_percent", "_count", *(d[0] for d in DURATIONS)):
        if term.endswith(suffix):
            return suffix
    raise TermFormatError(f"term {term!r} has no unit suffix (_usd, _percent, _days, ...)")


def format_value(term: str, value: float) -> str:
    """One term's value as the customer reads it: "$5.00", "3%", "7 business days"."""
    kind = _kind(term)
    if kind == "_usd":
        return money(value)
    if kind == "_percent":
        return f"{number(value)}%"
    unit = _unit(term)
    if unit is None:
        return number(value)
    return f"{number(value)} {unit[0] if value == 1 else unit[1]}"


def _value(product: Product, term: str) -> float:
    """A term's value, or TermFormatError naming what is missing."""
    if term not in product.terms:
        raise TermFormatError(f"{product.id} has no term {term!r}")
    return product.terms[term]


def display_term(product: Product, term: str, facts: Facts) -> str:
    """The display of one term; records the fact."""
    shown = format_value(term, _value(product, term))
    facts.append((f"{product.id}.{term}", shown))
    return shown


def display_range(product: Product, first: str, last: str, facts: Facts) -> str:
    """A range such as "7 to 10 business days" from two terms of one unit; records both."""
    low, high = _value(product, first), _value(product, last)
    if _kind(first) != _kind(last):
        raise TermFormatError(f"range {first}..{last} mixes units")
    if low > high:
        raise TermFormatError(f"range {first}..{last} runs backwards ({low} > {high})")
    low_shown, high_shown = display_term(product, first, facts), display_term(product, last, facts)
    unit = _unit(first)
    if unit is None:
        return f"{low_shown} to {high_shown}"
    return f"{number(low)} to {high_shown}"
