"""The synthetic bank: deterministic, varied, with planted life events."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from advisor.decisions.served import ServedLog
from advisor.decisions.traces import TraceStore
from advisor.feedback import FeedbackStore
from advisor.store import TurnRecord, new_session_id, save_turn
from portfolio_context.db import session_scope
from portfolio_context.models import Account, Customer, Transaction
from portfolio_context.seed import seed_bank
from portfolio_context.synth import CustomerSynth
from portfolio_context.synth_events import spec
from tests.conftest import AS_OF


def digest(url: str) -> str:
    """A hash over every transaction and account row."""
    h = hashlib.sha256()
    with session_scope(url) as db:
        for t in db.scalars(select(Transaction).order_by(Transaction.id)):
            h.update(f"{t.account_id}{t.posted}{t.amount}{t.merchant}{t.category}".encode())
        for a in db.scalars(select(Account).order_by(Account.id)):
            h.update(f"{a.id}{a.balance}{a.credit_limit}{a.apr}".encode())
    return h.hexdigest()


def test_same_seed_same_bank(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("a", "b")]
    for url in urls:
        seed_bank(url, 4, 7, AS_OF)
    assert digest(urls[0]) == digest(urls[1])
    seed_bank(urls[1], 4, 8, AS_OF)
    assert digest(urls[0]) != digest(urls[1])


def test_reseeding_replaces_rather_than_appends(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    seed_bank(url, 3, 1, AS_OF)
    seed_bank(url, 3, 1, AS_OF)
    with session_scope(url) as db:
        assert db.scalar(select(func.count()).select_from(Customer)) == 3


def test_customers_are_varied() -> None:
    built = [CustomerSynth(42, i, AS_OF).build() for i in range(1, 61)]
    profiles = Counter(r.customer["profile"] for r in built)
    assert len(profiles) == 6
    events = Counter(e["event_type"] for r in built for e in r.events)
    assert set(events) == {"home_buying", "marriage", "new_baby", "retirement", "job_change"}
    kinds = Counter(a["type"] for r in built for a in r.accounts)
    assert {"checking", "savings", "credit_card", "mortgage", "brokerage"} <= set(kinds)
    assert any(r.customer["income_type"] == "gig" for r in built)


def test_history_spans_twelve_plus_months_with_payroll(bank_url: str) -> None:
    with session_scope(bank_url) as db:
        first = db.scalar(select(func.min(Transaction.posted)))
        payroll = db.scalar(
            select(func.count()).select_from(Transaction).where(Transaction.category == "Income")
        )
    assert first is not None and (AS_OF - first).days >= 365
    assert payroll and payroll > 8 * 12


def test_seasonal_shopping_peaks_in_december() -> None:
    totals: Counter[int] = Counter()
    for i in range(1, 31):
        for t in CustomerSynth(42, i, AS_OF).build().transactions:
            if t["category"] == "Shopping" and t["amount"] < 0:
                totals[t["posted"].month] += -t["amount"]
    assert totals[12] > Decimal("1.5") * totals[4]


def test_life_event_precursors_are_planted() -> None:
    """Each precursor kind an event lists shows at that kind's merchants in the months before."""
    kinds = spec()["kinds"]
    checked = 0
    for index in range(1, 81):
        rows = CustomerSynth(42, index, AS_OF).build()
        first = min(t["posted"] for t in rows.transactions)
        for event in rows.events:
            before = event["event_date"] - dt.timedelta(days=200)
            if not event["precursors"] or before < first or event["event_date"] > AS_OF:
                continue
            for kind in event["precursors"].split("; "):
                pool = set(kinds[kind]["merchants"]) | set(kinds[kind]["online"])
                if pool:
                    assert any(
                        t["merchant"] in pool and before <= t["posted"] < event["event_date"]
                        for t in rows.transactions
                    ), (rows.customer["id"], event, kind)
                    checked += 1
    assert checked >= 5


def test_reseeding_clears_the_old_customers_traces_and_contacts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    seed_bank(url, 2, 1, AS_OF)
    traces, served = TraceStore(url), ServedLog(url)
    old = traces.record("C0001", "recommendation", {"inputs": {"who": "the old C0001"}})
    served.record("C0001", [("term_deposit", old)])
    seed_bank(url, 2, 2, AS_OF)
    assert traces.get(old, "C0001") is None
    assert served.counts("C0001", 7) == {}


def test_reseeding_a_bank_whose_answers_were_rated(tmp_path: Path) -> None:
    # turn_feedback refers to chat_turns: a reseed must clear it first (foreign keys are on)
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    seed_bank(url, 2, 1, AS_OF)
    feedback = FeedbackStore(url)
    with session_scope(url) as db:
        record = TurnRecord("t1", "how much?", "$10", "deterministic", "stop", [])
        turn_id = save_turn(db, new_session_id(), "C0001", {}, record)
    feedback.record("C0001", turn_id, "up", "the old C0001 liked it")
    seed_bank(url, 2, 2, AS_OF)
    assert feedback.since(dt.datetime(2000, 1, 1)) == []
