"""Confirmed actions: pending until the customer decides; executed on the ledger exactly once
(the rows' writes in action_rows.py, what a decision does in executors.py)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from advisor.errors import InvalidInput, NotFound
from advisor.orchestration.action_rows import (
    decision_of,
    lock_customer,
    new_row,
    pending_of,
    proposed_before,
    set_status,
)
from advisor.orchestration.events import AuditSink
from advisor.orchestration.executors import apply_decision
from advisor.orchestration.tables import ActionRequest, ActionRow, create_tables, utcnow
from portfolio_context.db import session_scope

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)
DECISIONS = ("confirm", "decline")
# Called after a decision is committed: (workflow id, action id, final status).
Waker = Callable[[str, str, str], None]
SUPERSEDED = "replaced by a newer offer"
DECIDE_ATTEMPTS = 3  # an executor's write that met a concurrent one is decided again


class KeyTaken(Exception):
    """The customer already sent this Idempotency-Key (the request's insert conflicted)."""


@dataclass(frozen=True)
class Proposal:
    """What a workflow (or the chat) proposes; `source_key` makes proposing idempotent."""

    customer_id: str
    kind: str
    amount: Decimal | None  # None for a kind that moves no money (card_freeze)
    from_account: str | None  # None for a change on one account (a credit limit)
    to_account: str | None
    source_key: str
    ttl_s: int
    event_id: str | None = None
    workflow_id: str | None = None


def action_json(row: ActionRow) -> dict[str, Any]:
    """The action as the API shows it."""
    return {
        "id": row.id, "kind": row.kind,
        "amount": f"{row.amount:.2f}" if row.amount is not None else None,
        "from_account": row.from_account, "to_account": row.to_account, "status": row.status,
        "expires_at": _iso(row.expires_at), "created_at": _iso(row.created_at),
        "decided_at": _iso(row.decided_at) if row.decided_at else None,
        "reason": row.reason, "event_id": row.event_id,
    }  # fmt: skip


def _iso(when: dt.datetime) -> str:
    """Naive UTC as ISO 8601 with Z."""
    return when.replace(microsecond=0).isoformat() + "Z"


class ActionService:
    """Proposes, lists, confirms, declines and expires actions."""

    def __init__(self, database_url: str, audit: AuditSink | None = None) -> None:
        self.url = database_url
        self.audit = audit
        self.wakers: list[Waker] = []
        create_tables(database_url)

    @classmethod
    def from_settings(cls, settings: Settings) -> ActionService:
        """The service on the configured bank, auditing to the audit log."""
        from advisor.orchestration.audit import AuditLog

        return cls(settings.resolved_database_url, AuditLog.from_settings(settings))

    def propose(self, proposal: Proposal) -> tuple[ActionRow, bool]:
        """A pending action, once per source key (a re-run step gets the first one, False)."""
        row = new_row(proposal)
        try:
            with session_scope(self.url) as db:
                db.add(row)
        except IntegrityError:
            with session_scope(self.url) as db:
                found = db.scalar(select(ActionRow).where(ActionRow.source_key == row.source_key))
            assert found is not None
            return found, False
        return row, True

    def propose_replacing(
        self, proposal: Proposal, within: str = "", yield_to_pending: bool = False,
        along: Callable[[Session], object] | None = None,
    ) -> ActionRow | None:  # fmt: skip
        """Propose and expire the customer's OLDER pending actions of the kind (source key
        starting with `within`) in one transaction under the customer's lock, so two offers
        made at once leave the newer live; with `yield_to_pending`, propose nothing (None)
        while another such action waits. `along` writes what goes with the proposal (an
        offer's contract) in that transaction, only when the proposal is (or was) made."""
        with session_scope(self.url) as db:
            lock_customer(db, proposal.customer_id)
            row = db.scalar(select(ActionRow).where(ActionRow.source_key == proposal.source_key))
            if row is None:
                if yield_to_pending and pending_of(db, proposal, within):
                    return None
                row = new_row(proposal)
                db.add(row)
                db.flush()
            if along is not None:
                along(db)
            expired = _expire_older(db, proposal, within, row)
        self._announce_expired(expired)
        return row

    def _announce_expired(self, expired: list[str]) -> None:
        """After their commit, the audit entry and wake-up of the actions a newer one replaced."""
        for old_id in expired:
            with session_scope(self.url) as db:
                found = db.get(ActionRow, old_id)
            if found is not None:
                self._after_decision(found, "expire")

    def supersede(self, customer_id: str, kind: str, keep: str, within: str = "") -> int:
        """Expire the customer's other pending actions of this kind whose source key starts
        with `within` (one open offer at a time, so a request retried after a failure leaves
        no stray offer); how many."""
        query = select(ActionRow.id).where(
            ActionRow.customer_id == customer_id, ActionRow.kind == kind,
            ActionRow.status == "pending", ActionRow.source_key != keep,
            ActionRow.source_key.startswith(within, autoescape=True),
        )  # fmt: skip
        with session_scope(self.url) as db:
            older = list(db.scalars(query))
        for action_id in older:
            with session_scope(self.url) as db:
                changed = set_status(db, action_id, "expired", SUPERSEDED)
                row = db.get(ActionRow, action_id)
            if changed and row is not None:
                self._after_decision(row, "expire")
        return len(older)

    def by_source(self, source_key: str) -> ActionRow | None:
        """The action proposed under this source key, if any."""
        with session_scope(self.url) as db:
            return db.scalar(select(ActionRow).where(ActionRow.source_key == source_key))

    def for_customer(self, customer_id: str) -> list[ActionRow]:
        """The customer's actions, newest first, expired ones marked so."""
        self.expire_due(customer_id)
        with session_scope(self.url) as db:
            query = select(ActionRow).where(ActionRow.customer_id == customer_id)
            return list(db.scalars(query.order_by(ActionRow.created_at.desc(), ActionRow.id)))

    def get(self, customer_id: str, action_id: str) -> ActionRow:
        """One of the customer's actions (NotFound for another customer's)."""
        with session_scope(self.url) as db:
            row = db.get(ActionRow, action_id)
        if row is None or row.customer_id != customer_id:
            raise NotFound(f"no action {action_id!r}")
        return row

    def decide(self, customer_id: str, action_id: str, decision: str, key: str) -> ActionRow:
        """Confirm or decline under an idempotency key; a repeat answers the current state."""
        if decision not in DECISIONS or not key or len(key) > 128:
            raise InvalidInput("Idempotency-Key: 1 to 128 characters required")
        self.get(customer_id, action_id)
        changed = False
        for attempt in range(DECIDE_ATTEMPTS):
            request = ActionRequest(key=key, customer_id=customer_id, action_id=action_id,
                                    decision=decision)  # fmt: skip
            try:
                changed = self._decide_once(request)
                break
            except KeyTaken:
                self._check_reuse(request)
                break
            except IntegrityError:  # an executor's write met a concurrent one: decide again
                if attempt == DECIDE_ATTEMPTS - 1:
                    raise
                log.info("action %s met a concurrent write; deciding again", action_id)
        row = self.get(customer_id, action_id)
        if changed:
            self._after_decision(row, decision)
        elif row.status != "pending":  # a retry: the first call may have died before its tail
            self._after_decision(row, decision_of(row))
        return row

    def _decide_once(self, request: ActionRequest) -> bool:
        """One transaction: record the key (KeyTaken when it was seen), then apply the decision."""
        with session_scope(self.url) as db:
            db.add(request)
            try:
                db.flush()
            except IntegrityError as exc:
                raise KeyTaken(request.key) from exc
            return apply_decision(db, request.action_id, request.decision)

    def _check_reuse(self, request: ActionRequest) -> None:
        """A key seen before must have been for this same action and decision (else 422)."""
        with session_scope(self.url) as db:
            first = db.get(ActionRequest, (request.customer_id, request.key))
        same = first is not None and (first.action_id, first.decision) == (
            request.action_id, request.decision)  # fmt: skip
        if not same:
            raise InvalidInput("Idempotency-Key was already used for another request")

    def expire(self, action_id: str) -> ActionRow:
        """Expire a pending action (the workflow's wait ran out); other states stay."""
        with session_scope(self.url) as db:
            changed = set_status(db, action_id, "expired", "not confirmed before it expired")
            row = db.get(ActionRow, action_id)
        if row is None:  # the bank was reseeded under the workflow waiting on it
            raise NotFound(f"no action {action_id!r}")
        if row.status != "pending":  # also the tail of a decision whose process died before it
            self._after_decision(row, "expire" if changed else decision_of(row))
        return row

    def expire_due(self, customer_id: str | None = None) -> int:
        """Expire every pending action past its expiry (of one customer, or all)."""
        query = select(ActionRow.id).where(ActionRow.status == "pending",
                                           ActionRow.expires_at <= utcnow())  # fmt: skip
        if customer_id is not None:
            query = query.where(ActionRow.customer_id == customer_id)
        with session_scope(self.url) as db:
            due = list(db.scalars(query))
        return sum(1 for action_id in due if self.expire(action_id).status == "expired")

    def _after_decision(self, row: ActionRow, decision: str) -> None:
        """Audit the change and wake the workflow waiting on this action, after the commit."""
        if self.audit is not None:
            payload = {"customer_id": row.customer_id, **action_json(row)}
            self.audit.append("confirmation", f"action/{row.id}", payload | {"decision": decision},
                              key=f"confirmation:{row.id}")  # fmt: skip
            if row.status in ("executed", "rejected"):
                self.audit.append("execution", f"action/{row.id}", payload,
                                  key=f"execution:{row.id}")  # fmt: skip
        for wake in self.wakers if row.workflow_id else []:
            try:
                wake(row.workflow_id or "", row.id, row.status)
            except Exception:  # the workflow's own expiry wait finds the final state anyway
                log.warning("could not wake workflow %s", row.workflow_id, exc_info=True)


def _expire_older(db: Session, proposal: Proposal, within: str, row: ActionRow) -> list[str]:
    """In the caller's transaction, expire the pending actions of the kind proposed before
    `row`; the ids of only those this statement changed (one decided since the select, as a
    confirm takes no lock, keeps its own decision's audit entry and wake-up)."""
    return [
        old.id
        for old in pending_of(db, proposal, within)
        if proposed_before(old, row) and set_status(db, old.id, "expired", SUPERSEDED)
    ]
