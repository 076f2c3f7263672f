"""Tables of the orchestration layer: events received, proposed actions, notifications, postings.

None of them has a foreign key to the bank's tables: reseeding the bank must not fail on them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portfolio_context.db import engine_for
from portfolio_context.models import Base, Money

TABLE_NAMES = (
    "bank_events", "ledger_postings", "actions", "action_request_keys", "notifications",
    "card_freezes",
)  # fmt: skip


def utcnow() -> dt.datetime:
    """The current UTC time, naive (how every table here stores time)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BankEventRow(Base):
    """A core-banking event as received; the id is the sender's idempotency key."""

    __tablename__ = "bank_events"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(16), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC, naive
    description: Mapped[str | None] = mapped_column(String(160), nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16))  # the first receipt's status, never changed
    workflow_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # The after-commit tail (audit entry, workflow start) finished; a replay redoes it if not.
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the workflow's end


class LedgerPosting(Base):
    """One ledger posting's idempotency key: a key posts at most one transaction."""

    __tablename__ = "ledger_postings"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    transaction_id: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[str] = mapped_column(String(24))
    amount: Mapped[Decimal] = mapped_column(Money)
    posted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ActionRow(Base):
    """A proposed money movement or servicing action, pending until the customer decides."""

    __tablename__ = "actions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    from_account: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_account: Mapped[str | None] = mapped_column(String(24), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # One action per source (e.g. "sweep:<event id>"): a re-run step proposes nothing new.
    source_key: Mapped[str] = mapped_column(String(160), unique=True)
    event_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    workflow_id: Mapped[str | None] = mapped_column(String(128), nullable=True)


class ActionRequest(Base):
    """An Idempotency-Key a customer sent on a confirm or decline, and the action it was for."""

    # Keys are the customer's own: unique per (customer, key). The former table
    # `action_requests` (the key alone unique) is no longer read; an existing database may drop it.
    __tablename__ = "action_request_keys"
    customer_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    action_id: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CardFreezeRow(Base):
    """A card the customer froze (a confirmed `card_freeze` action); the bank's systems read it."""

    __tablename__ = "card_freezes"
    account_id: Mapped[str] = mapped_column(String(24), primary_key=True)  # the card's account
    customer_id: Mapped[str] = mapped_column(String(16), index=True)
    action_id: Mapped[str] = mapped_column(String(40))
    frozen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class NotificationRow(Base):
    """A message for one customer; the integer id orders the stream (SSE Last-Event-ID)."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    event_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    facts: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of Fact.to_json()
    action_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # One notification per source (e.g. "nudge:<event id>"): a re-run step notifies once.
    source_key: Mapped[str] = mapped_column(String(160), unique=True)


def create_tables(database_url: str) -> None:
    """Create this layer's tables (and only them) where they do not exist yet."""
    tables = [Base.metadata.tables[name] for name in TABLE_NAMES]
    Base.metadata.create_all(engine_for(database_url), tables=tables)
