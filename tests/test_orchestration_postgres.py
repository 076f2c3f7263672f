"""The orchestration on the local PostgreSQL: DBOS's state in the bank's database, duplicate
events and concurrent confirmations decided by the database alike."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.orchestration import runtime
from advisor.orchestration.events import EventReceipt
from portfolio_context.seed import seed_bank
from tests.conftest import AS_OF, make_settings
from tests.orchestration_helpers import balance, outcome, payroll, postings, wait_for
from tests.pg import fresh_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_orch(tmp_path: Path) -> Iterator[runtime.Orchestration]:
    """A fresh bank database with DBOS's tables in it, dropped afterwards."""
    with fresh_database("advisor_orch") as url:
        seed_bank(url, 4, 42, AS_OF)
        settings = make_settings(tmp_path, url)
        assert runtime.workflow_database_url(settings) == url
        with runtime.running(settings) as services:
            yield services


def test_duplicates_and_concurrent_confirmations_on_postgres(
    pg_orch: runtime.Orchestration,
) -> None:
    url = pg_orch.settings.resolved_database_url
    receipts: list[EventReceipt] = []
    accept = lambda: receipts.append(pg_orch.events.accept(payroll("pg-1")))  # noqa: E731
    threads = [threading.Thread(target=accept) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.replay for r in receipts) == [False] + [True] * 5
    wait_for(lambda: pg_orch.notifications.for_customer("C0001"))
    [action] = pg_orch.actions.for_customer("C0001")
    before = balance(url, "C0001-CHE")
    decide = lambda i: pg_orch.actions.decide("C0001", action.id, "confirm", f"k{i}")  # noqa: E731
    deciders = [threading.Thread(target=decide, args=(i,)) for i in range(6)]
    for thread in deciders:
        thread.start()
    for thread in deciders:
        thread.join()
    assert postings(url, "event:pg-1") == 1 and postings(url, f"action:{action.id}") == 2
    assert balance(url, "C0001-CHE") == before - action.amount
    assert wait_for(lambda: outcome(url, "pg-1")) == "executed"
