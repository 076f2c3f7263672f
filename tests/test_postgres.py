"""The same bank, view and chat store on the local PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from advisor.api.app import create_app
from portfolio_context.db import engine_for, session_scope
from portfolio_context.seed import seed_bank
from portfolio_context.view import build_view
from tests.conftest import AS_OF, CUSTOMERS, bearer, make_settings
from tests.fakes import FakeBackend
from tests.pg import fresh_database
from tests.sse import chat_events, done

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh database on the local server, dropped afterwards."""
    with fresh_database("advisor_test") as url:
        seed_bank(url, CUSTOMERS, 42, AS_OF)
        yield url


def test_postgres_view_equals_sqlite_view(pg_url: str, bank_url: str) -> None:
    for cid in ("C0001", "C0004", "C0008"):
        with session_scope(pg_url) as pg, session_scope(bank_url) as lite:
            assert [f.to_json() for f in build_view(pg, cid).facts] == [
                f.to_json() for f in build_view(lite, cid).facts
            ]


def test_chat_sessions_persist_on_postgres(pg_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, pg_url)
    with TestClient(create_app(settings, backend=FakeBackend())) as client:
        auth = bearer(settings, "C0002")
        first = done(chat_events(client, auth, "How much do I spend on dining a month?"))
        second = done(chat_events(client, auth, "and last month?", first["session_id"]))
        assert second["facts"] == ["spending.dining.2026-10"]
        other = client.post(
            "/v1/chat",
            headers=bearer(settings, "C0003"),
            json={"message": "and savings?", "session_id": first["session_id"]},
        )
        assert other.status_code == 404
    with engine_for(pg_url).connect() as conn:
        turns = conn.execute(
            text("SELECT count(*) FROM chat_turns WHERE session_id = :s"),
            {"s": first["session_id"]},
        ).scalar_one()
    assert turns == 2
