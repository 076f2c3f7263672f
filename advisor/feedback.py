"""Thumbs up or down (and an optional comment) on a chat answer, kept with the turn."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import DateTime, ForeignKey, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from advisor.errors import NotFound
from advisor.settings import Settings
from advisor.store import ChatSession, ChatTurn, utcnow
from portfolio_context.db import create_schema, session_scope
from portfolio_context.models import Base

Rating = Literal["up", "down"]
MAX_COMMENT_CHARS = 1000


class TurnFeedback(Base):
    """One customer's rating of one answer; a second rating of the same turn replaces it."""

    __tablename__ = "turn_feedback"
    turn_id: Mapped[int] = mapped_column(ForeignKey("chat_turns.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    rating: Mapped[str] = mapped_column(String(8))  # 'up' or 'down'
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )


@dataclass(frozen=True)
class Feedback:
    """A stored rating, as the API answers it and the learning loop reads it."""

    turn_id: int
    customer_id: str
    rating: str
    comment: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, row: TurnFeedback) -> Feedback:
        """The plain record of a row (SQLite hands the UTC time back without its zone)."""
        return cls(row.turn_id, row.customer_id, row.rating, row.comment, _utc(row.created_at))


class FeedbackStore:
    """Records ratings of the customer's own turns and reads them back by time."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        create_schema(database_url)

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackStore:
        """The store on the bank's database."""
        return cls(settings.resolved_database_url)

    def record(
        self, customer_id: str, turn_id: int, rating: Rating, comment: str | None = None
    ) -> Feedback:
        """Store (or replace) the rating; NotFound for an unknown or another customer's turn."""
        try:
            return self._upsert(customer_id, turn_id, rating, comment)
        except IntegrityError:  # a concurrent first rating won the insert: replace it
            return self._upsert(customer_id, turn_id, rating, comment)

    def _upsert(
        self, customer_id: str, turn_id: int, rating: Rating, comment: str | None
    ) -> Feedback:
        """One transaction: check the turn is the customer's, then insert or update."""
        with session_scope(self.url) as db:
            _own_turn(db, customer_id, turn_id)
            row = db.get(TurnFeedback, (turn_id, customer_id))
            if row is None:
                row = TurnFeedback(turn_id=turn_id, customer_id=customer_id)
                db.add(row)
            row.rating, row.comment, row.created_at = rating, comment, utcnow()
            db.flush()
            return Feedback.of(row)

    def since(self, when: dt.datetime) -> list[Feedback]:
        """Every rating given (or last changed) at or after `when` (naive: UTC), oldest first."""
        with session_scope(self.url) as db:
            rows = db.scalars(
                select(TurnFeedback)
                .where(TurnFeedback.created_at >= _utc(when))
                .order_by(TurnFeedback.created_at, TurnFeedback.turn_id)
            )
            return [Feedback.of(row) for row in rows]


def _own_turn(db: Session, customer_id: str, turn_id: int) -> None:
    """Raise NotFound unless the turn is in one of the customer's sessions (alike for both)."""
    owner = db.scalar(
        select(ChatSession.customer_id)
        .join(ChatTurn, ChatTurn.session_id == ChatSession.id)
        .where(ChatTurn.id == turn_id)
    )
    if owner != customer_id:
        raise NotFound(f"unknown turn_id {turn_id}")


def _utc(when: dt.datetime) -> dt.datetime:
    """The time in UTC; a naive time is taken as UTC."""
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
