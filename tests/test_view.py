"""The 360 view: every fact is derivable from the ledger, ids are stable and unique."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portfolio_context.analytics import complete_months, spending_table
from portfolio_context.db import session_scope
from portfolio_context.facts import Fact, format_value
from portfolio_context.obligations import upcoming_bills
from portfolio_context.view import Customer360, build_view
from tests.conftest import AS_OF, CUSTOMERS

IDS = [f"C{i:04d}" for i in range(1, CUSTOMERS + 1)]


@pytest.fixture(scope="module")
def views(bank_url: str) -> dict[str, Customer360]:
    """Every seeded customer's view."""
    with session_scope(bank_url) as db:
        return {cid: build_view(db, cid) for cid in IDS}


def value(view: Customer360, fact_id: str) -> Decimal:
    """A numeric fact's value."""
    fact = view.fact(fact_id)
    assert fact is not None, fact_id
    return Decimal(fact.value)


@pytest.mark.parametrize("cid", IDS)
def test_fact_ids_unique_and_described(views: dict[str, Customer360], cid: str) -> None:
    facts = views[cid].facts
    assert len({f.id for f in facts}) == len(facts)
    assert all(f.derivation and f.label and f.display for f in facts)


@pytest.mark.parametrize("cid", IDS)
def test_balances_and_net_worth(views: dict[str, Customer360], cid: str) -> None:
    view = views[cid]
    assert value(view, "balance.checking") == sum(
        a.balance for a in view.ledger.accounts if a.type == "checking"
    )
    assets = sum(
        a.balance for a in view.ledger.accounts if a.type in ("checking", "savings", "brokerage")
    )
    debts = sum(a.balance for a in view.ledger.accounts if a.type in ("credit_card", "mortgage"))
    assert value(view, "net_worth") == assets - debts


@pytest.mark.parametrize("cid", IDS)
def test_spending_average_is_mean_of_complete_months(
    views: dict[str, Customer360], cid: str
) -> None:
    view = views[cid]
    months = complete_months(AS_OF)
    assert months[-1] == "2026-10" and len(months) == 12
    groceries = spending_table(view.ledger)["Groceries"]
    expected = sum(groceries.get(m, Decimal(0)) for m in months) / 12
    assert value(view, "spending.groceries.monthly_avg") == expected.quantize(Decimal("0.01"))
    assert value(view, "spending.groceries.2026-10") == groceries["2026-10"]


@pytest.mark.parametrize("cid", IDS)
def test_bills_free_cash_and_ratios(views: dict[str, Customer360], cid: str) -> None:
    view = views[cid]
    bills = upcoming_bills(view.ledger)
    assert bills and all(0 < (b.due - AS_OF).days <= 30 for b in bills)
    total = sum(b.amount for b in bills)
    assert value(view, "bills.upcoming_30d.total") == total
    assert value(view, "cash.free_after_bills") == value(view, "balance.checking") - total - 500
    assert 0 <= value(view, "credit.utilization") <= 100
    income = value(view, "income.monthly")
    assert income > 0
    dti = value(view, "debt.monthly_payments") / income * 100
    assert abs(value(view, "debt.dti") - dti) <= Decimal("0.05")


def test_portfolio_allocation_sums_to_100_and_duration_weighted(
    views: dict[str, Customer360],
) -> None:
    with_portfolio = [v for v in views.values() if v.fact("portfolio.total_value")]
    assert with_portfolio
    for view in with_portfolio:
        shares = [Decimal(f.value) for f in view.facts if f.id.startswith("portfolio.allocation.")]
        assert abs(sum(shares) - 100) <= Decimal("0.3")
        total = sum(h.market_value for h in view.ledger.holdings)
        weighted = sum(h.market_value * h.duration_years for h in view.ledger.holdings)
        assert value(view, "portfolio.duration") == (weighted / total).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("raw", "unit", "shown"),
    [
        (Decimal("4200"), "USD", "$4,200.00"),
        (Decimal("-12.5"), "USD", "-$12.50"),
        (Decimal("23.4"), "percent", "23.4%"),
        (Decimal("3.6"), "months", "3.6 months"),
        ("2026-12-05", "date", "December 5, 2026"),
    ],
)
def test_display_formats(raw: Decimal | str, unit: str, shown: str) -> None:
    assert format_value(raw, unit) == shown


def test_fact_json_keeps_numbers_numeric() -> None:
    fact = Fact.number("x", "x", 10.005, "USD", "d")
    assert fact.to_json()["value"] == 10.01 and fact.to_json()["display"] == "$10.01"


@pytest.mark.parametrize("cid", IDS)
def test_merchants_are_businesses_paid_never_transfers(
    views: dict[str, Customer360], cid: str
) -> None:
    view = views[cid]
    paid = {t.merchant for t in view.ledger.transactions if t.amount < 0}
    transfers = {t.merchant for t in view.ledger.transactions if t.category == "Transfer"}
    assert view.merchants and view.merchants <= paid
    assert not view.merchants & transfers


@pytest.mark.parametrize("cid", IDS)
def test_shortfall_and_last_due_are_facts(views: dict[str, Customer360], cid: str) -> None:
    view = views[cid]
    free = value(view, "cash.free_after_bills")
    shortfall = view.fact("cash.shortfall_after_bills")
    assert (shortfall is not None) == (free < 0)
    assert shortfall is None or Decimal(shortfall.value) == -free
    last_due = view.fact("bills.upcoming_30d.last_due")
    assert last_due is not None
    assert last_due.value == max(b.due for b in upcoming_bills(view.ledger)).isoformat()
    assert value(view, "cash.buffer") == 500


@pytest.mark.parametrize("cid", IDS)
def test_facts_carry_their_period(views: dict[str, Customer360], cid: str) -> None:
    view = views[cid]
    for fact in view.facts:
        kind = fact.period.kind if fact.period else None
        if fact.id.startswith("spending.") and fact.id.endswith("monthly_avg"):
            assert kind == "trailing_months" and fact.period and fact.period.months == 12
        elif fact.id.startswith("spending."):
            assert (
                kind == "month" and fact.period and fact.id.endswith(f"{fact.period.start:%Y-%m}")
            )
        elif fact.id.startswith(("balance.", "net_worth")):
            assert kind == "as_of" and fact.period and fact.period.start == AS_OF
        elif fact.id.startswith(("bills.upcoming_30d.total", "cash.free")):
            assert (
                kind == "next_days" and fact.period and fact.period.words == "in the next 30 days"
            )
        elif fact.unit == "date":
            assert kind is None


def test_negative_figures_have_positive_companions(views: dict[str, Customer360]) -> None:
    for view in views.values():
        net = value(view, "net_worth")
        deficit = view.fact("net_worth.debts_over_assets")
        assert (deficit is not None) == (net < 0)
        assert deficit is None or Decimal(deficit.value) == -net
        if shock := view.fact("portfolio.rate_shock_1pt"):
            assert value(view, "portfolio.rate_shock_1pt_fall") == -Decimal(shock.value)
