"""Fixtures for the orchestration tests: a bank of their own per test (they move money)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from advisor.api.app import create_app
from advisor.auth import SERVICE_SUBJECT, issue_token
from advisor.orchestration import runtime
from advisor.orchestration.events import BankEvent
from advisor.orchestration.tables import BankEventRow, LedgerPosting
from advisor.settings import RailsSettings, Settings
from portfolio_context.db import engine_for, session_scope
from portfolio_context.models import Account
from portfolio_context.seed import seed_bank
from tests import fakes
from tests.conftest import AS_OF, make_settings

T = TypeVar("T")
PAYDAY = "2026-11-28T09:00:00Z"


@pytest.fixture(scope="module")
def template_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four seeded customers, copied for each test (the tests post to the ledger)."""
    path = tmp_path_factory.mktemp("orch_bank") / "bank.db"
    seed_bank(f"sqlite:///{path}", 4, 42, AS_OF)
    engine_for(f"sqlite:///{path}").dispose()  # the last connection checkpoints the WAL
    assert not path.with_name("bank.db-wal").exists()
    return path


def settings_on_copy(tmp_path: Path, template: Path, **extra: Any) -> Settings:
    """Settings on a fresh copy of the template bank, rails off (not what these tests test)."""
    path = tmp_path / "bank.db"
    shutil.copy(template, path)
    return make_settings(tmp_path, f"sqlite:///{path}", rails=RailsSettings(enabled=False), **extra)


@pytest.fixture
def orch_settings(tmp_path: Path, template_bank: Path) -> Settings:
    """Settings on this test's own bank."""
    return settings_on_copy(tmp_path, template_bank)


@pytest.fixture
def orch(orch_settings: Settings) -> Iterator[runtime.Orchestration]:
    """The orchestration with DBOS launched on this test's var dir."""
    with runtime.running(orch_settings) as services:
        yield services


@pytest.fixture
def api(orch_settings: Settings) -> Iterator[TestClient]:
    """The whole app (fake model, rails off) on this test's bank."""
    with TestClient(create_app(orch_settings, backend=fakes.FakeBackend())) as client:
        yield client


def service_auth(settings: Settings) -> dict[str, str]:
    """A service token's header."""
    return {"Authorization": f"Bearer {issue_token(settings, SERVICE_SUBJECT, 'service')}"}


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
