"""Write a deterministic synthetic bank into the database (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial

from sqlalchemy import Connection, Engine, delete, insert, inspect, select
from sqlalchemy import table as sql_table

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
from portfolio_context.synth import CustomerRows, CustomerSynth, Row
from portfolio_context.synth_events import Knobs

BANK_TABLES = [Transaction, Holding, RecurringBill, CreditProfile, LifeEvent, Account, Customer]
# Tables other packages keep about the bank's customers (advisor/decisions): cleared with the
# bank when they exist, since a reseed reuses the ids C0001... and a new customer must not read
# the old one's records. By name, so this package does not import advisor.
CUSTOMER_RECORD_TABLES = (
    "decision_traces",
    "served_recommendations",
    "suggestions",  # advisor/learning
    "suggestion_outcomes",
    # advisor/orchestration: events, postings, actions, notifications and what refers to them
    # (a reused event id must start its own workflow and audit entries, a reused notification
    # id its own webhook delivery); a reseed starts a new bank and a new audit chain.
    "bank_events", "ledger_postings", "action_request_keys", "action_requests", "actions",
    "card_freezes", "notifications", "contracts", "webhook_deliveries", "audit_log", "audit_anchor",
    "turn_feedback",  # advisor/feedback.py: thumbs on the old customers' turns (refers to them)
    "chat_turns",  # advisor/store.py: the old customers' conversations
    "chat_sessions",
)  # fmt: skip
CHUNK_SIZE = 500  # customers generated and inserted per transaction
Progress = Callable[[int], None]
Built = Iterator[CustomerRows]
Generate = Callable[[range], Built]


def seed_bank(
    url: str,
    customers: int,
    seed: int,
    as_of: dt.date,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
    workers: int = 1,
    knobs: Knobs | None = None,
) -> int:
    """Replace the bank's data with `customers` generated customers; returns the row count.

    Customers are generated `workers` at a time and inserted `chunk_size` per transaction; the
    first chunk's transaction clears the old bank and the last one writes the as-of date, so
    an interrupted run leaves a bank that `seeded_as_of` reports as not seeded.
    """
    if customers < 1 or chunk_size < 1 or workers < 1:
        raise ValueError("customers, chunk_size and workers must be at least 1")
    _upgrade_schema(url)
    size = chunk_size
    chunks = [range(i, min(i + size, customers + 1)) for i in range(1, customers + 1, size)]
    meta = {"as_of": as_of.isoformat(), "seed": str(seed), "customers": str(customers)}
    build = partial(build_customer, seed, as_of, knobs=knobs)
    with _generator(workers, build) as generate:
        return _write_chunks(engine_for(url), chunks, generate, progress, meta)


def _write_chunks(
    engine: Engine,
    chunks: list[range],
    generate: Generate,
    progress: Progress | None,
    meta: dict[str, str],
) -> int:
    """Insert chunk after chunk, one transaction each; workers build the next one meanwhile."""
    written, pending = 0, generate(chunks[0])
    for number in range(len(chunks)):
        chunk = list(_counted(pending, progress))
        if number + 1 < len(chunks):
            pending = generate(chunks[number + 1])
        with engine.begin() as conn:
            _tune(conn)
            if number == 0:
                _clear(conn)
            written += _insert_chunk(conn, chunk)
            if number + 1 == len(chunks):  # last, so a partial bank has no as-of date
                meta["generation"] = uuid.uuid4().hex
                conn.execute(insert(BankMeta), [{"key": k, "value": v} for k, v in meta.items()])
    return written


def build_customer(
    seed: int, as_of: dt.date, index: int, knobs: Knobs | None = None
) -> CustomerRows:
    """Every row of one generated customer (a module-level function, so workers can run it)."""
    return CustomerSynth(seed, index, as_of, knobs).build()


@contextmanager
def _generator(workers: int, build: Callable[[int], CustomerRows]) -> Iterator[Generate]:
    """Generate customers in order, in this process or in a pool of worker processes."""
    if workers == 1:
        yield lambda indices: (build(i) for i in indices)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield lambda indices: pool.map(build, indices, chunksize=25)


def _counted(built: Built, progress: Progress | None) -> Built:
    """Pass generated customers through, reporting each one."""
    for rows in built:
        if progress:
            progress(1)
        yield rows


def _tune(conn: Connection) -> None:
    """SQLite: WAL with NORMAL sync is durable at each commit and much faster to bulk-load."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")


def _clear(conn: Connection) -> None:
    """Delete the previous bank (children first) and the records kept about its customers."""
    for table in [*BANK_TABLES, BankMeta]:
        conn.execute(delete(table))
    present = inspect(conn)
    for name in CUSTOMER_RECORD_TABLES:
        if present.has_table(name):
            conn.execute(delete(sql_table(name)))


def _insert_chunk(conn: Connection, chunk: list[CustomerRows]) -> int:
    """Insert every row of a chunk of customers, parents first, one executemany per table."""
    batches = [
        (Customer, [r.customer for r in chunk]),
        (Account, [a for r in chunk for a in r.accounts]),
        (RecurringBill, [b for r in chunk for b in r.bills]),
        (Holding, [h for r in chunk for h in r.holdings]),
        (Transaction, [t for r in chunk for t in r.transactions]),
        (CreditProfile, [r.credit for r in chunk]),
        (LifeEvent, [e for r in chunk for e in r.events]),
    ]
    for table, rows in batches:
        if table is Transaction and conn.dialect.name == "sqlite":
            _insert_transactions_sqlite(conn, rows)
        elif rows:
            conn.execute(insert(table), rows)
    return sum(len(rows) for _, rows in batches)


def _insert_transactions_sqlite(conn: Connection, rows: list[Row]) -> None:
    """The bulk of the rows, straight to sqlite3's executemany: the values SQLAlchemy would bind
    (ISO date text, the amount as a float) without its per-row parameter processing."""
    columns = ("account_id", "posted", "amount", "merchant", "category", "memo")
    sql = f"INSERT INTO transactions ({', '.join(columns)}) VALUES (?, ?, ?, ?, ?, ?)"
    values = [
        (
            t["account_id"],
            t["posted"].isoformat(),
            float(t["amount"]),
            t["merchant"],
            t["category"],
            t["memo"],
        )
        for t in rows
    ]
    if values:
        conn.exec_driver_sql(sql, values)


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
