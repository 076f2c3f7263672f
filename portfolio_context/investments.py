"""Portfolio allocation and duration-weighted interest-rate sensitivity."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from portfolio_context.analytics import ZERO, Ledger
from portfolio_context.facts import Fact, Period

RATE_SHOCK = Decimal("0.01")


def portfolio_facts(ledger: Ledger) -> list[Fact]:
    """Total value, allocation by asset class, duration and a +1 point rate shock."""
    total = sum((h.market_value for h in ledger.holdings), ZERO)
    if total <= 0:
        return []
    today = Period.on(ledger.as_of)
    by_class: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for holding in ledger.holdings:
        by_class[holding.asset_class] += holding.market_value
    facts = [
        Fact.number(
            "portfolio.total_value",
            "portfolio value",
            total,
            "USD",
            f"market value of {len(ledger.holdings)} holdings",
            today,
        )
    ]
    facts += [
        Fact.number(
            f"portfolio.allocation.{cls}",
            f"{cls.replace('_', ' ')} allocation",
            value / total * 100,
            "percent",
            f"{cls} market value / portfolio value",
            today,
        )
        for cls, value in sorted(by_class.items())
    ]
    weighted = sum((h.market_value * h.duration_years for h in ledger.holdings), ZERO)
    facts.append(
        Fact.number(
            "portfolio.duration",
            "portfolio duration",
            weighted / total,
            "years",
            "market-value-weighted duration of all holdings",
        )
    )
    facts.append(
        Fact.number(
            "portfolio.rate_shock_1pt",
            "value change if rates rise 1 point",
            -weighted * RATE_SHOCK,
            "USD",
            "-(sum of market value x duration) x 1%",
        )
    )
    facts.append(
        Fact.number(
            "portfolio.rate_shock_1pt_fall",
            "fall in value if rates rise 1 point",
            weighted * RATE_SHOCK,
            "USD",
            "(sum of market value x duration) x 1%",
        )
    )
    return facts
