"""Actions' rows inside a caller's transaction: the customer's lock, a new pending row, the
pending ones of a kind, and the conditional status change every decision goes through."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from advisor.errors import NotFound
from advisor.orchestration.tables import ActionRow, utcnow
from portfolio_context.models import Customer

if TYPE_CHECKING:
    from advisor.orchestration.actions import Proposal


def lock_customer(db: Session, customer_id: str) -> None:
    """Serialise writers for one customer until the transaction ends: the customer's row FOR
    NO KEY UPDATE on PostgreSQL (inserts referencing it still go ahead); SQLite's database-wide
    write lock (a write that changes nothing). NotFound for an unknown customer (no row to lock
    would serialise nothing)."""
    query = select(Customer.id).where(Customer.id == customer_id)
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    else:
        db.execute(text("UPDATE actions SET id = id WHERE 0"))
    if db.scalar(query) is None:
        raise NotFound(f"no customer {customer_id!r}")


def new_row(proposal: Proposal) -> ActionRow:
    """A pending action for the proposal, expiring after its ttl."""
    return ActionRow(
        id=f"act_{uuid.uuid4().hex[:20]}", customer_id=proposal.customer_id,
        kind=proposal.kind, amount=proposal.amount, from_account=proposal.from_account,
        to_account=proposal.to_account, status="pending", reason=None,
        expires_at=utcnow() + dt.timedelta(seconds=proposal.ttl_s),
        source_key=proposal.source_key, event_id=proposal.event_id,
        workflow_id=proposal.workflow_id, created_at=utcnow(),
    )  # fmt: skip


def pending_of(db: Session, proposal: Proposal, within: str) -> list[ActionRow]:
    """The customer's other live pending actions of the proposal's kind under `within`."""
    query = select(ActionRow).where(
        ActionRow.customer_id == proposal.customer_id, ActionRow.kind == proposal.kind,
        ActionRow.status == "pending", ActionRow.source_key != proposal.source_key,
        ActionRow.source_key.startswith(within, autoescape=True),
        ActionRow.expires_at > utcnow(),
    )  # fmt: skip
    return list(db.scalars(query))


def proposed_before(other: ActionRow, own: ActionRow) -> bool:
    """Whether `other` was proposed before `own` (ties broken by id)."""
    return (other.created_at, other.id) < (own.created_at, own.id)


def decision_of(row: ActionRow) -> str:
    """The decision that gave a decided action its status."""
    if row.status == "expired" and row.reason != "confirmed after it expired":
        return "expire"
    return "decline" if row.status == "declined" else "confirm"


def set_status(db: Session, action_id: str, status: str, reason: str | None) -> bool:
    """Pending -> status in one conditional statement: True when this call made the change."""
    values: dict[str, Any] = {"status": status, "decided_at": utcnow()}
    if reason is not None:
        values["reason"] = reason
    done = db.execute(
        update(ActionRow)
        .where(ActionRow.id == action_id, ActionRow.status == "pending")
        .values(**values)
    )
    return bool(getattr(done, "rowcount", 0))
