"""The next-best-action replay reads nothing after its decision date but the truth window."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from advisor.context_service import ContextService
from advisor.decisions.policy import shipped_policy
from advisor.decisions.service import RecommendationService
from advisor.decisions.signals import customer_signals
from advisor.predict.offer_response import customer_row
from bench.nba_asof import CustomerOn, ledger_on, view_on
from bench.nba_replay import WINDOW_DAYS, collect, truth
from portfolio_context.db import session_scope
from portfolio_context.models import Account, Customer, LifeEvent, RecurringBill, Transaction
from portfolio_context.seed import seed_bank
from portfolio_context.synth_life import MORTGAGE_PAYEE, RENT_PAYEE
from portfolio_context.view import build_view
from tests.conftest import AS_OF, make_settings

DAY = dt.date(2026, 5, 31)  # a decision date inside the seeded history
LATER = DAY + dt.timedelta(days=10)


@pytest.fixture
def bank(tmp_path: Path) -> str:
    """A small bank of our own (the tests write its future)."""
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    seed_bank(url, 6, 42, AS_OF)
    return url


def snapshot(url: str) -> dict[str, Any]:
    """Every customer's facts and policy signals on DAY, and their offer-model row."""
    out: dict[str, Any] = {}
    with session_scope(url) as db:
        for cid in db.scalars(select(Customer.id).order_by(Customer.id)):
            view = view_on(db, cid, DAY)
            customer, ledger = ledger_on(db, cid, DAY)
            row = customer_row(cast(Customer, CustomerOn(customer, ledger.accounts)), DAY)[0]
            out[cid] = {
                "facts": [(f.id, f.value) for f in view.facts],
                "signals": customer_signals(view, shipped_policy()),
                "offer_row": row,
                "transactions": [(t.posted, t.amount, t.merchant) for t in ledger.transactions],
                "bills": sorted((b.payee, b.amount, b.is_debt) for b in ledger.bills),
            }
    return out


def account(db: Session, cid: str, kind: str) -> Account | None:
    """The customer's account of a kind."""
    return db.scalar(select(Account).where(Account.customer_id == cid, Account.type == kind))


def write_the_future(url: str) -> None:
    """After DAY every customer gets paid, spends on the card and buys a home: the rows a
    reader of today's state would see (balances move with the transactions)."""
    with session_scope(url) as db:
        for cid in list(db.scalars(select(Customer.id))):
            checking, card = account(db, cid, "checking"), account(db, cid, "credit_card")
            assert checking is not None
            db.add(Transaction(account_id=checking.id, posted=LATER, amount=Decimal("7000"),
                               merchant="BONUS", category="Income", memo=""))  # fmt: skip
            checking.balance += Decimal("7000")
            if card is not None:
                db.add(Transaction(account_id=card.id, posted=LATER, amount=Decimal("-300"),
                                   merchant="TV STORE", category="Shopping", memo=""))  # fmt: skip
                card.balance += Decimal("300")
            buy_home(db, cid)


def buy_home(db: Session, cid: str) -> None:
    """A mortgage opened after DAY, its payment replacing the rent bill (as the bank plants)."""
    if account(db, cid, "mortgage") is not None:
        return
    db.add(Account(id=f"{cid}-NEWMOR", customer_id=cid, type="mortgage", name="Mortgage",
                   balance=Decimal("300000"), credit_limit=None, apr=Decimal("6.5"),
                   opened=LATER))  # fmt: skip
    rent = db.scalar(
        select(RecurringBill).where(
            RecurringBill.customer_id == cid, RecurringBill.payee == RENT_PAYEE
        )
    )
    if rent is not None:
        rent.payee, rent.amount, rent.is_debt = MORTGAGE_PAYEE, Decimal("2400"), True


def test_rows_after_the_decision_date_change_nothing_on_it(bank: str) -> None:
    before = snapshot(bank)
    renters = [c for c in before if before[c]["signals"]["holds.mortgage"] is False]
    assert renters and all(before[c]["offer_row"]["housing"] == "no" for c in renters)
    write_the_future(bank)
    assert snapshot(bank) == before
    with session_scope(bank) as db:  # a reader of today's state would see the future
        for cid in renters:
            assert customer_signals(build_view(db, cid), shipped_policy())["holds.mortgage"]
            customer = db.get(Customer, cid)
            assert customer is not None and customer_row(customer, DAY)[0]["housing"] == "yes"


def test_balances_on_the_decision_date_undo_what_came_after(bank: str) -> None:
    with session_scope(bank) as db:
        cid = db.scalar(select(Customer.id).order_by(Customer.id))
        assert cid is not None
        checking = account(db, cid, "checking")
        assert checking is not None
        later = db.scalars(
            select(Transaction.amount).where(
                Transaction.account_id == checking.id, Transaction.posted > DAY
            )
        ).all()
        _, ledger = ledger_on(db, cid, DAY)
        rolled = next(a for a in ledger.accounts if a.type == "checking")
        assert rolled.balance == checking.balance - sum(later, Decimal(0))
        assert all(t.posted <= DAY for t in ledger.transactions)
        assert rolled is not checking and checking.balance != rolled.balance


def test_the_truth_window_is_the_91_days_after_the_decision_date(bank: str) -> None:
    with session_scope(bank) as db:
        db.execute(delete(LifeEvent))
        for offset, kind in ((0, "marriage"), (1, "job_change"), (WINDOW_DAYS, "new_baby"),
                             (WINDOW_DAYS + 1, "retirement")):  # fmt: skip
            day = DAY + dt.timedelta(days=offset)
            db.add(LifeEvent(customer_id="C0001", event_type=kind, event_date=day, precursors=""))
    assert truth(bank, DAY) == {"C0001": {"job_change", "new_baby"}}


def test_collect_scores_every_customer_on_every_date_in_two_halves(
    bank: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, bank)
    service = RecommendationService.from_settings(settings, ContextService.from_settings(settings))
    with session_scope(bank) as db:
        ids = list(db.scalars(select(Customer.id).order_by(Customer.id)))
    pairs = collect(service, ids, 2)
    assert [(p.customer, p.start) for p in pairs][:2] == [
        (ids[0], dt.date(2026, 8, 31)),
        (ids[1], dt.date(2026, 8, 31)),
    ]
    assert len(pairs) == 2 * len(ids)
    assert {p.customer for p in pairs if p.half == "design"} == set(ids[0::2])
    first = next(p for p in pairs if p.start == dt.date(2026, 5, 31))
    with session_scope(bank) as db:
        view = view_on(db, first.customer, first.start)
    expected = customer_signals(view, service.policy)
    assert {k: first.signals[k] for k in expected} == expected
    assert first.found["life_event.home_buying"].is_default  # no model in this registry
