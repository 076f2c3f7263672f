"""The bank on PostgreSQL for the load test: a seeded template database copied per engine, and
what each level cost the database (pg_stat_database: statement time, transactions, rows)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get(
    "ADVISOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
COUNTERS = (
    "active_time", "xact_commit", "xact_rollback", "tup_returned", "tup_fetched",
    "tup_inserted", "tup_updated", "tup_deleted", "blks_read", "blks_hit",
)  # fmt: skip
SETTLE_S = 2.0  # statistics reach pg_stat_database within about a second


def _admin(statement: str) -> None:
    """Run one statement outside a transaction on the admin database."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


def url_of(name: str) -> str:
    """The URL of database `name` on the admin URL's server."""
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def database(template: str | None = None) -> Iterator[str]:
    """A new database (a copy of `template` when given), dropped on exit; its URL."""
    name = f"bench_load_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    _admin(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield url_of(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def counters(url: str) -> dict[str, float]:
    """The database's cumulative statistics (after letting them settle)."""
    time.sleep(SETTLE_S)
    name = make_url(url).database
    admin = create_engine(ADMIN_URL)
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            row = conn.execute(
                text(f"SELECT {', '.join(COUNTERS)} FROM pg_stat_database WHERE datname = :n"),
                {"n": name},
            ).one()
    finally:
        admin.dispose()
    return {k: float(v or 0) for k, v in zip(COUNTERS, row, strict=True)}


def per_turn(before: dict[str, float], after: dict[str, float], turns: int) -> dict[str, float]:
    """What one turn cost the database, on average."""
    return {k: (after[k] - before[k]) / max(turns, 1) for k in COUNTERS}


def stored_bytes(url: str, tables: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Rows and the mean size of a row (pg_column_size of the tuple) of the tables a
    conversation grows."""
    engine = create_engine(url)
    query = 'SELECT count(*), coalesce(avg(pg_column_size(t.*)), 0) FROM "{}" t'
    try:
        with engine.connect() as conn:
            found = {table: conn.execute(text(query.format(table))).one() for table in tables}
    finally:
        engine.dispose()
    return {t: {"rows": float(n), "row_bytes": float(size)} for t, (n, size) in found.items()}
