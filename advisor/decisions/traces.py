"""Decision traces: what went into a score, recommendation or credit decision, per customer.

A trace is stored once and never changed. `payload` is free JSON with the keys "inputs",
"model_versions", "scores", "contributions", "rules_fired", "defaults_used", "created_at"
(the store fills any that are missing) plus kind-specific keys. A customer reads only their
own traces: `get` answers None for an unknown id and for another customer's id alike.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from portfolio_context.db import engine_for
from portfolio_context.models import Base

if TYPE_CHECKING:
    from advisor.settings import Settings

KINDS = ("recommendation", "credit_decision", "life_event_score", "offer_score")
STANDARD_KEYS: dict[str, type] = {
    "inputs": dict,
    "model_versions": dict,
    "scores": dict,
    "contributions": dict,
    "rules_fired": list,
    "defaults_used": list,
}


def utcnow() -> dt.datetime:
    """Timezone-aware now."""
    return dt.datetime.now(dt.UTC)


class DecisionTrace(Base):
    """One stored decision trace."""

    __tablename__ = "decision_traces"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    payload: Mapped[str] = mapped_column(Text)


def new_trace_id() -> str:
    """A fresh, unguessable trace id: "tr_" and 32 hex digits."""
    return f"tr_{uuid.uuid4().hex}"


def _json_default(value: object) -> Any:
    """JSON form of the non-JSON values a payload may hold (Decimal, dates, sets)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"trace payload value of type {type(value).__name__} is not JSON")


def encode_payload(payload: dict[str, Any], created_at: dt.datetime) -> str:
    """The payload as JSON text, with the standard keys present."""
    full = dict(payload)
    for key, empty in STANDARD_KEYS.items():
        full.setdefault(key, empty())
    full.setdefault("created_at", created_at.isoformat())
    return json.dumps(full, default=_json_default, sort_keys=True)


class TraceStore:
    """Append-only store of decision traces in the bank's database."""

    def __init__(self, database_url: str) -> None:
        engine = engine_for(database_url)
        DecisionTrace.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> TraceStore:
        """The store on the settings' database."""
        return cls(settings.resolved_database_url)

    def record(self, customer_id: str, kind: str, payload: dict[str, Any]) -> str:
        """Store one trace and return its id ("tr_<hex>")."""
        return self.record_many(customer_id, kind, [payload])[0]

    def record_many(self, customer_id: str, kind: str, payloads: list[dict[str, Any]]) -> list[str]:
        """Store several traces of one customer in one transaction; their ids in order."""
        now = utcnow()
        rows = [
            DecisionTrace(
                id=new_trace_id(),
                customer_id=customer_id,
                kind=kind,
                created_at=now,
                payload=encode_payload(payload, now),
            )
            for payload in payloads
        ]
        with self._sessions.begin() as session:
            session.add_all(rows)
        return [row.id for row in rows]

    def get(self, trace_id: str, customer_id: str) -> dict[str, Any] | None:
        """The customer's own trace: payload plus "id", "kind" and "customer_id"; else None."""
        with self._sessions() as session:
            row = session.get(DecisionTrace, trace_id)
        if row is None or row.customer_id != customer_id:
            return None
        payload: dict[str, Any] = json.loads(row.payload)
        return {**payload, "id": row.id, "kind": row.kind, "customer_id": row.customer_id}
