"""Helpers of the orchestration tests that import no app (the crash test's child uses them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select

from advisor.orchestration.events import BankEvent
from advisor.orchestration.tables import BankEventRow, LedgerPosting
from portfolio_context.db import session_scope
from portfolio_context.models import Account

T = TypeVar("T")
PAYDAY = "2026-11-28T09:00:00Z"


def payroll(event_id: str, customer: str = "C0001", amount: str = "2500.00") -> BankEvent:
    """A payroll deposit event."""
    return BankEvent.model_validate({
        "id": event_id, "type": "payroll_deposit", "customer_id": customer, "amount": amount,
        "currency": "USD", "occurred_at": PAYDAY, "description": "ACME CORP PAYROLL",
    })  # fmt: skip


def wait_for(probe: Callable[[], T | None], timeout_s: float = 15.0) -> T:
    """Poll until `probe` returns something truthy (a workflow ran), or fail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"nothing after {timeout_s}s")


def outcome(url: str, event_id: str) -> str | None:
    """How the event's workflow ended (None while it runs or waits)."""
    with session_scope(url) as db:
        row = db.get(BankEventRow, event_id)
        return row.outcome if row else None


def balance(url: str, account_id: str) -> Any:
    """An account's balance."""
    with session_scope(url) as db:
        account = db.get(Account, account_id)
        assert account is not None
        return account.balance


def postings(url: str, prefix: str) -> int:
    """How many ledger postings have keys starting with `prefix`."""
    with session_scope(url) as db:
        query = select(func.count()).where(LedgerPosting.key.like(f"{prefix}%"))
        return int(db.scalar(query) or 0)
