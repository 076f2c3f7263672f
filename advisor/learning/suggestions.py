"""The suggestion log: every served suggestion with its context, candidates, choice and
propensity, the outcomes recorded against it, and the outcomes refused for unknown ids."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import DateTime, Float, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from advisor.errors import InvalidInput, NotFound
from advisor.learning.chooser import Choice
from advisor.learning.config import OUTCOMES
from portfolio_context.db import engine_for
from portfolio_context.models import Base

CHANNELS = ("api", "chat", "nudge")


def utcnow() -> dt.datetime:
    """Timezone-aware now."""
    return dt.datetime.now(dt.UTC)


class SuggestionRow(Base):
    """One served suggestion: what was chosen, from what, with which probability."""

    __tablename__ = "suggestions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    served_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    chosen: Mapped[str] = mapped_column(String(48))
    propensity: Mapped[float] = mapped_column(Float)
    policy: Mapped[str] = mapped_column(String(16))  # ranking, bandit or rule (a nudge)
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    candidates: Mapped[str] = mapped_column(Text)  # JSON list: the permitted actions, in order
    shown: Mapped[str] = mapped_column(Text)  # JSON list: what the customer saw, in order
    context: Mapped[str] = mapped_column(Text)  # JSON object: advisor/learning/features.py
    trace_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    action_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)


class OutcomeRow(Base):
    """An outcome recorded against a suggestion (once per suggestion and outcome)."""

    __tablename__ = "suggestion_outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suggestion_id: Mapped[str] = mapped_column(String(40), index=True)
    outcome: Mapped[str] = mapped_column(String(24))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(32))
    __table_args__ = (UniqueConstraint("suggestion_id", "outcome"),)


class RejectedOutcomeRow(Base):
    """An outcome refused: an unknown suggestion id or outcome (counted, never joined)."""

    __tablename__ = "rejected_outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suggestion_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class UnknownSuggestion(NotFound):
    """An outcome for a suggestion id the log does not hold."""


@dataclass(frozen=True)
class Served:
    """A suggestion to log."""

    customer_id: str
    channel: str
    choice: Choice
    context: Mapping[str, float]
    shown: Sequence[str]
    trace_id: str | None = None
    action_id: str | None = None


TABLES = [SuggestionRow.__table__, OutcomeRow.__table__, RejectedOutcomeRow.__table__]


class SuggestionLog:
    """Appends suggestions and their outcomes to the bank's database."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        engine = engine_for(database_url)
        Base.metadata.create_all(engine, tables=TABLES)  # type: ignore[arg-type]
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def log(self, served: Served, at: dt.datetime | None = None) -> str:
        """Store one served suggestion; its id ("sug_<hex>")."""
        if served.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}")
        choice, row_id = served.choice, f"sug_{uuid.uuid4().hex}"
        row = SuggestionRow(
            id=row_id, customer_id=served.customer_id, channel=served.channel,
            served_at=at or utcnow(), chosen=choice.chosen, propensity=choice.propensity,
            policy=choice.policy, model_version=choice.model_version,
            candidates=json.dumps(list(choice.candidates)), shown=json.dumps(list(served.shown)),
            context=json.dumps(dict(served.context), sort_keys=True),
            trace_id=served.trace_id, action_id=served.action_id,
        )  # fmt: skip
        with self._sessions.begin() as session:
            session.add(row)
        return row_id

    def record(
        self, suggestion_id: str, outcome: str, at: dt.datetime | None = None, source: str = "api"
    ) -> bool:
        """Record an outcome; False when it was already recorded. An unknown suggestion id
        (UnknownSuggestion) or outcome (InvalidInput) is refused and counted."""
        if outcome not in OUTCOMES:
            self._reject(suggestion_id, outcome, "unknown_outcome")
            raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}")
        with self._sessions() as session:
            known = session.get(SuggestionRow, suggestion_id) is not None
        if not known:
            self._reject(suggestion_id, outcome, "unknown_suggestion")
            raise UnknownSuggestion(f"unknown suggestion id {suggestion_id[:64]!r}")
        try:
            with self._sessions.begin() as session:
                session.add(OutcomeRow(suggestion_id=suggestion_id, outcome=outcome,
                                       at=at or utcnow(), source=source[:32]))  # fmt: skip
        except IntegrityError:
            return False
        return True

    def _reject(self, suggestion_id: str, outcome: str, reason: str) -> None:
        """Count a refused outcome."""
        with self._sessions.begin() as session:
            session.add(RejectedOutcomeRow(suggestion_id=suggestion_id[:64], outcome=outcome[:24],
                                           reason=reason, at=utcnow()))  # fmt: skip

    def served_since(self, since: dt.datetime) -> list[SuggestionRow]:
        """Every suggestion served at or after `since`, oldest first."""
        query = select(SuggestionRow).where(SuggestionRow.served_at >= since)
        with self._sessions() as session:
            return list(session.scalars(query.order_by(SuggestionRow.served_at, SuggestionRow.id)))

    def rejected(self) -> dict[str, int]:
        """How many outcomes were refused, by reason."""
        query = select(RejectedOutcomeRow.reason, func.count()).group_by(RejectedOutcomeRow.reason)
        with self._sessions() as session:
            return {str(reason): int(n) for reason, n in session.execute(query)}
