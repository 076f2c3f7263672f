"""Write a deterministic synthetic bank into the database (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from sqlalchemy import delete, insert, inspect, select

from portfolio_context.db import create_schema, engine_for, session_scope
from portfolio_context.models import (
    Account,
    BankMeta,
    Base,
    CreditProfile,
    Customer,
    Holding,
    LifeEvent,
    RecurringBill,
    Transaction,
)
from portfolio_context.synth import CustomerSynth

BANK_TABLES = [Transaction, Holding, RecurringBill, CreditProfile, LifeEvent, Account, Customer]
Progress = Callable[[int], None]


def seed_bank(
    url: str, customers: int, seed: int, as_of: dt.date, progress: Progress | None = None
) -> int:
    """Replace the bank's data with `customers` generated customers; returns the row count."""
    if customers < 1:
        raise ValueError("customers must be at least 1")
    _upgrade_schema(url)
    rows_written = 0
    with session_scope(url) as session:
        for table in BANK_TABLES:
            session.execute(delete(table))
        session.execute(delete(BankMeta))
        for index in range(1, customers + 1):
            rows_written += _write_customer(session, CustomerSynth(seed, index, as_of))
            if progress:
                progress(1)
        session.add_all(
            [
                BankMeta(key="as_of", value=as_of.isoformat()),
                BankMeta(key="seed", value=str(seed)),
                BankMeta(key="customers", value=str(customers)),
                BankMeta(key="generation", value=uuid.uuid4().hex),
            ]
        )
    return rows_written


def _write_customer(session: object, synth: CustomerSynth) -> int:
    """Insert every row of one generated customer, parents first."""
    rows = synth.build()
    batches = [
        (Customer, [rows.customer]),
        (Account, rows.accounts),
        (RecurringBill, rows.bills),
        (Holding, rows.holdings),
        (Transaction, rows.transactions),
        (CreditProfile, [rows.credit]),
        (LifeEvent, rows.events),
    ]
    count = 0
    for table, batch in batches:
        if batch:
            session.execute(insert(table), batch)  # type: ignore[attr-defined]
            count += len(batch)
    return count


def _schema_is_current(url: str) -> bool:
    """Whether every bank table exists with every column the models declare."""
    inspector = inspect(engine_for(url))
    for table in [*BANK_TABLES, BankMeta]:
        name = table.__tablename__
        if not inspector.has_table(name):
            return False
        present = {column["name"] for column in inspector.get_columns(name)}
        if not set(table.__table__.columns.keys()) <= present:
            return False
    return True


def _upgrade_schema(url: str) -> None:
    """Create the bank's tables; drop and recreate them when they predate a model column."""
    if not _schema_is_current(url):
        engine = engine_for(url)
        tables = [t.__table__ for t in [*BANK_TABLES, BankMeta]]
        Base.metadata.drop_all(engine, tables=tables)  # type: ignore[arg-type]
    create_schema(url)


def seeded_as_of(url: str) -> dt.date | None:
    """The as-of date of the seeded bank, or None when nothing (or an outdated schema) is seeded."""
    create_schema(url)
    if not _schema_is_current(url):
        return None
    with session_scope(url) as session:
        value = session.scalar(select(BankMeta.value).where(BankMeta.key == "as_of"))
    return dt.date.fromisoformat(value) if value else None
