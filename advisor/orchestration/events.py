"""Core-banking events in: validated, stored once under their id, posted to the ledger."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from advisor.errors import InvalidInput
from advisor.orchestration import ledger
from advisor.orchestration.tables import BankEventRow, create_tables
from portfolio_context.db import session_scope
from portfolio_context.models import Customer

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)
POLICY: dict[str, Any] = yaml.safe_load((Path(__file__).with_name("events.yaml")).read_text())
EventType = Literal[
    "payroll_deposit", "deposit", "card_transaction", "bill_due", "balance_low",
    "salary_change", "card_declined",
]  # fmt: skip
SIGNS: dict[str, tuple[Callable[[Decimal], bool], str]] = {
    "positive": (lambda a: a > 0, "greater than zero"),
    "negative": (lambda a: a < 0, "less than zero (money out)"),
    "nonzero": (lambda a: a != 0, "non-zero"),
    "non_negative": (lambda a: a >= 0, "zero or more"),
    "any": (lambda a: True, "any amount"),
}


class BankEvent(BaseModel):
    """A core-banking event (the POST /v1/events body); `id` is the idempotency key."""

    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
    type: EventType
    customer_id: str = Field(min_length=1, max_length=16)
    amount: Decimal = Field(description='Decimal money, e.g. "2500.00"; + money in, - out')
    currency: str = Field(description="ISO 4217 code; the bank books USD")
    occurred_at: dt.datetime = Field(description="ISO 8601 with a UTC offset")
    description: str | None = Field(default=None, max_length=160)

    @field_validator("amount")
    @classmethod
    def _money(cls, amount: Decimal) -> Decimal:
        """Finite, at most two decimal places, within the bank's range."""
        if not amount.is_finite():
            raise ValueError("amount must be a finite decimal number")
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError("amount has more than two decimal places")
        if abs(amount) > Decimal(POLICY["max_abs_amount"]):
            raise ValueError(f"amount is beyond {POLICY['max_abs_amount']}")
        return amount

    @field_validator("currency")
    @classmethod
    def _currency(cls, currency: str) -> str:
        """One of the currencies the bank books."""
        if currency not in POLICY["currencies"]:
            raise ValueError(f"currency must be one of {', '.join(POLICY['currencies'])}")
        return currency

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, when: dt.datetime) -> dt.datetime:
        """A moment in time within the bank's years: the offset is required; kept in UTC."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("occurred_at needs a UTC offset, e.g. 2026-12-07T09:00:00Z")
        first, last = POLICY["occurred_years"]
        try:
            utc = when.astimezone(dt.UTC)
        except OverflowError:
            utc = None
        if utc is None or not first <= utc.year <= last:
            raise ValueError(f"occurred_at must fall in the years {first} to {last} (UTC)")
        return utc

    @model_validator(mode="after")
    def _sign(self) -> BankEvent:
        """The amount's sign must make sense for the event type (events.yaml)."""
        rule = POLICY["types"][self.type]["sign"]
        holds, words = SIGNS[rule]
        if not holds(self.amount):
            raise ValueError(f"amount of a {self.type} event must be {words}")
        return self


@dataclass(frozen=True)
class EventReceipt:
    """What accepting an event answered; a replay answers the first receipt again."""

    id: str
    status: str  # "accepted" (a workflow runs) or "recorded" (stored and posted, no workflow)
    workflow_id: str | None
    replay: bool

    def to_json(self) -> dict[str, Any]:
        """The HTTP body: id, status, workflow_id."""
        return {"id": self.id, "status": self.status, "workflow_id": self.workflow_id}


class WorkflowStarter(Protocol):
    """Starts a named workflow for an event, exactly once per workflow id."""

    def start(self, workflow: str, workflow_id: str, event_id: str) -> None:
        """Start (or find already started) the workflow with this id for this event."""


class AuditSink(Protocol):
    """Where state changes are recorded (advisor/orchestration/audit.py AuditLog)."""

    def append(
        self, kind: str, subject: str, payload: dict[str, Any], key: str | None = None
    ) -> int:
        """Append one entry (once per `key`: a rerun appends nothing); its sequence number."""


def workflow_id_of(event_id: str) -> str:
    """The event's workflow id: its own namespace, apart from `credit_offer:`/`decision:`."""
    return f"event:{event_id}"


class EventService:
    """Accepts events idempotently: the unique id decides which delivery wins."""

    def __init__(
        self, database_url: str, starter: WorkflowStarter | None, audit: AuditSink | None
    ) -> None:
        self.url = database_url
        self.starter = starter
        self.audit = audit
        create_tables(database_url)

    @classmethod
    def from_settings(cls, settings: Settings) -> EventService:
        """The service on the configured bank, starting workflows on DBOS, auditing."""
        from advisor.orchestration.audit import AuditLog
        from advisor.orchestration.workflows import DbosStarter

        return cls(settings.resolved_database_url, DbosStarter(), AuditLog.from_settings(settings))

    def accept(self, event: BankEvent) -> EventReceipt:
        """Store and post the event once, then start its workflow; a replay starts nothing."""
        row = self._stored(event.id)
        if row is None:
            self._check_customer(event.customer_id)
            row = self._insert(event)
            replay = row is None
            row = row or self._stored(event.id)
        else:
            replay = True
        assert row is not None
        if not row.dispatched:
            self.dispatch(row)
        return EventReceipt(row.id, row.status, row.workflow_id, replay)

    def _stored(self, event_id: str) -> BankEventRow | None:
        """The event row, if this id was received before."""
        with session_scope(self.url) as db:
            return db.get(BankEventRow, event_id)

    def _check_customer(self, customer_id: str) -> None:
        """An unknown customer is bad input (422): the body names no customer of this bank."""
        with session_scope(self.url) as db:
            if db.get(Customer, customer_id) is None:
                raise InvalidInput(f"customer_id: no customer {customer_id!r} in this bank")

    def _insert(self, event: BankEvent) -> BankEventRow | None:
        """Insert the event and its ledger posting atomically; None when another delivery won."""
        workflow = POLICY["types"][event.type].get("workflow")
        row = BankEventRow(
            id=event.id, type=event.type, customer_id=event.customer_id, amount=event.amount,
            currency=event.currency, occurred_at=_utc(event.occurred_at),
            description=event.description, status="accepted" if workflow else "recorded",
            workflow_id=workflow_id_of(event.id) if workflow else None, dispatched=False,
        )  # fmt: skip
        try:
            with session_scope(self.url) as db:
                db.add(row)
                db.flush()
                _post_event(db, event)
        except IntegrityError:
            return None
        return row

    def dispatch(self, row: BankEventRow) -> None:
        """The after-commit tail, at least once: audit entry, workflow start, then mark done."""
        if self.audit is not None:
            self.audit.append("event_received", f"event/{row.id}", _audit_payload(row),
                              key=f"event:{row.id}")  # fmt: skip
        workflow = POLICY["types"][row.type].get("workflow")
        if workflow and row.workflow_id and self.starter is not None:
            self.starter.start(workflow, row.workflow_id, row.id)
        with session_scope(self.url) as db:
            done = update(BankEventRow).where(BankEventRow.id == row.id).values(dispatched=True)
            db.execute(done)

    def undispatched(self) -> list[BankEventRow]:
        """Events committed whose tail did not finish (a crash in between): recover them."""
        with session_scope(self.url) as db:
            return list(db.query(BankEventRow).filter(BankEventRow.dispatched.is_(False)))


def _utc(when: dt.datetime) -> dt.datetime:
    """An aware datetime as naive UTC."""
    return when.astimezone(dt.UTC).replace(tzinfo=None)


def _post_event(db: Session, event: BankEvent) -> None:
    """Post a money event on the customer's account of the type's kind (events.yaml)."""
    rule = POLICY["types"][event.type]
    if not rule.get("post_to"):
        return
    account = ledger.account_of(db, event.customer_id, rule["post_to"])
    if account is None and rule.get("fallback_account"):
        account = ledger.account_of(db, event.customer_id, rule["fallback_account"])
    if account is None:
        raise InvalidInput(f"customer {event.customer_id} has no {rule['post_to']} account")
    merchant = event.description or event.type.replace("_", " ").upper()
    ledger.post(db, ledger.Posting(
        f"event:{event.id}", account.id, event.amount, merchant, rule["category"],
        _utc(event.occurred_at).date(), f"event {event.id}",
    ))  # fmt: skip
    ledger.mark_changed(db)


def _audit_payload(row: BankEventRow) -> dict[str, Any]:
    """What the audit log keeps of an event: ids, type, amount; never the description."""
    return {
        "event_id": row.id, "type": row.type, "customer_id": row.customer_id,
        "amount": str(row.amount), "currency": row.currency, "status": row.status,
        "workflow_id": row.workflow_id,
    }  # fmt: skip
