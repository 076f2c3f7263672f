"""Chat sessions and turns, persisted per customer in the bank's database."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Engine, ForeignKey, Integer, String, Text, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, Session, mapped_column

from advisor.errors import NotFound
from portfolio_context.db import engine_for
from portfolio_context.models import Base


def utcnow() -> dt.datetime:
    """Timezone-aware now."""
    return dt.datetime.now(dt.UTC)


class ChatSession(Base):
    """A conversation of one customer."""

    __tablename__ = "chat_sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    slots: Mapped[str] = mapped_column(Text, default="{}")


class ChatTurn(Base):
    """One question and the answer the customer saw."""

    __tablename__ = "chat_turns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    turn_index: Mapped[int] = mapped_column(Integer)
    trace_id: Mapped[str] = mapped_column(String(32))
    user_text: Mapped[str] = mapped_column(Text)
    answer_text: Mapped[str] = mapped_column(Text)
    grounding: Mapped[str] = mapped_column(String(16))
    finish_reason: Mapped[str] = mapped_column(String(16))
    fact_ids: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # JSON list of the decision traces the answer rests on (a chat suggestion's trace is the
    # first): thumbs join to the suggestion by it. NULL: a turn stored before the column.
    decision_trace_ids: Mapped[str | None] = mapped_column(Text, nullable=True)


@dataclass(frozen=True)
class TurnRecord:
    """What one finished (or cancelled) turn stores."""

    trace_id: str
    user_text: str
    answer_text: str
    grounding: str
    finish_reason: str
    fact_ids: list[str]
    decision_trace_ids: tuple[str, ...] = ()


def new_session_id() -> str:
    """A fresh, unguessable session id."""
    return str(uuid.uuid4())


def load_session(db: Session, session_id: str, customer_id: str) -> ChatSession:
    """The customer's own session; another customer's or a missing one is NotFound alike."""
    found = db.get(ChatSession, session_id)
    if found is None or found.customer_id != customer_id:
        raise NotFound(f"unknown session_id {session_id!r}")
    return found


def recent_turns(db: Session, session_id: str, limit: int) -> list[ChatTurn]:
    """The last `limit` turns of a session, oldest first."""
    if limit <= 0:
        return []
    rows = db.scalars(
        select(ChatTurn)
        .where(ChatTurn.session_id == session_id)
        .order_by(ChatTurn.turn_index.desc())
        .limit(limit)
    )
    return list(rows)[::-1]


def session_decision_traces(db: Session, session_id: str) -> tuple[str, ...]:
    """The decision trace ids the session's turns rested on, oldest first."""
    rows = db.scalars(
        select(ChatTurn.decision_trace_ids)
        .where(ChatTurn.session_id == session_id, ChatTurn.decision_trace_ids.is_not(None))
        .order_by(ChatTurn.turn_index)
    )
    return tuple(trace for row in rows for trace in json.loads(row or "[]"))


def save_turn(
    db: Session, session_id: str, customer_id: str, slots: dict[str, Any], record: TurnRecord
) -> int:
    """Create the session if new, append the turn and remember the slots; the turn's id."""
    chat = db.get(ChatSession, session_id)
    if chat is None:
        chat = ChatSession(id=session_id, customer_id=customer_id)
        db.add(chat)
        db.flush()
    count = db.scalar(
        select(ChatTurn.turn_index)
        .where(ChatTurn.session_id == session_id)
        .order_by(ChatTurn.turn_index.desc())
        .limit(1)
    )
    chat.slots, chat.updated_at = json.dumps(slots), utcnow()
    turn = ChatTurn(
        session_id=session_id,
        turn_index=(count or 0) + 1,
        trace_id=record.trace_id,
        user_text=record.user_text,
        answer_text=record.answer_text,
        grounding=record.grounding,
        finish_reason=record.finish_reason,
        fact_ids=json.dumps(record.fact_ids),
        decision_trace_ids=json.dumps(list(record.decision_trace_ids)),
    )
    db.add(turn)
    db.flush()
    return turn.id


def upgrade_turns(url: str) -> None:
    """Give a chat_turns table made before `decision_trace_ids` the column (rows keep NULL)."""
    engine = engine_for(url)
    if _has_trace_column(engine):
        return
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE chat_turns ADD COLUMN decision_trace_ids TEXT"))
    except DBAPIError:  # another process added it first
        if not _has_trace_column(engine):
            raise


def _has_trace_column(engine: Engine) -> bool:
    """Whether chat_turns has `decision_trace_ids` (or does not exist yet: nothing to add)."""
    tables = inspect(engine)
    if not tables.has_table("chat_turns"):
        return True
    return "decision_trace_ids" in {c["name"] for c in tables.get_columns("chat_turns")}
