"""The orchestration on the local PostgreSQL: DBOS's state in the bank's database, duplicate
events and concurrent confirmations decided by the database alike."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from advisor.orchestration import runtime
from advisor.orchestration.events import EventReceipt
from portfolio_context.db import engine_for
from portfolio_context.seed import seed_bank
from tests.conftest import AS_OF, make_settings
from tests.orchestration_helpers import balance, outcome, payroll, postings, wait_for

pytestmark = pytest.mark.postgres
ADMIN_URL = os.environ.get(
    "ADVISOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def pg_orch(tmp_path: Path) -> Iterator[runtime.Orchestration]:
    """A fresh bank database with DBOS's tables in it, dropped afterwards."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"advisor_orch_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {exc}")
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    seed_bank(url, 4, 42, AS_OF)
    settings = make_settings(tmp_path, url)
    assert runtime.workflow_database_url(settings) == url
    with runtime.running(settings) as services:
        yield services
    engine_for(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
