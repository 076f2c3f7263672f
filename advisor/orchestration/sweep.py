"""Payroll -> surplus sweep: the nudge and the pending transfer a payday proposes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from advisor.orchestration import ledger
from advisor.orchestration.actions import ActionService, Proposal
from advisor.orchestration.destination import InvestmentGate
from advisor.orchestration.events import AuditSink
from advisor.orchestration.notifications import NewNotification, NotificationService
from advisor.orchestration.surplus import POLICY, Surplus, surplus
from advisor.orchestration.tables import ActionRow, BankEventRow, utcnow
from portfolio_context.db import session_scope
from portfolio_context.facts import Fact, say_date
from portfolio_context.view import load_ledger

if TYPE_CHECKING:
    from portfolio_context.models import Account

INVESTING = "next-best-action permits investing"


@dataclass(frozen=True)
class SweepPolicy:
    """The settings the sweep reads: buffer, least amount worth a nudge, how long it waits."""

    buffer: Decimal
    threshold: Decimal
    ttl_s: int


class SweepService:
    """Computes a payday's surplus and proposes moving it; every step can safely run again."""

    def __init__(
        self, database_url: str, policy: SweepPolicy, actions: ActionService,
        notifications: NotificationService, audit: AuditSink | None = None,
        investing: InvestmentGate | None = None,
    ) -> None:  # fmt: skip
        self.url = database_url
        self.investing = investing
        self.policy = policy
        self.actions = actions
        self.notifications = notifications
        self.audit = audit

    def propose(self, event_id: str) -> dict[str, Any] | None:
        """The pending transfer for this payday ({action_id, wait_s}), or None (no surplus)."""
        first = self.actions.by_source(f"sweep:{event_id}")
        if first is not None and (self._nudged(first) or first.status != "pending"):
            return _waiting(first)  # a rerun never decides again what the first run proposed
        with session_scope(self.url) as db:
            event = db.get(BankEventRow, event_id)
            if event is None:  # the bank was reseeded under a recovered workflow
                return None
            _, books = load_ledger(db, event.customer_id, event.occurred_at.date())
            source, target, invest = (ledger.account_of(db, event.customer_id, POLICY[kind])
                                      for kind in ("source_kind", "destination_kind",
                                                   "investment_kind"))  # fmt: skip
            pending = pending_sweeps(db, event, source.id) if source else Decimal(0)
        if source is None or target is None:
            return None
        found = surplus(books, self.policy.buffer, event.description, pending)
        if found.amount < self.policy.threshold or found.amount <= 0:
            return None
        target, found = self._destination(event.customer_id, target, invest, found)
        deposit = Fact.number("sweep.deposit", "pay received", event.amount, "USD",
                              f"event {event.id}")  # fmt: skip
        action, _ = self.actions.propose(Proposal(
            event.customer_id, "transfer", found.amount, source.id, target.id,
            f"sweep:{event.id}", self.policy.ttl_s, event.id, event.workflow_id,
        ))  # fmt: skip
        # Always: a crash between proposing and nudging must not leave the nudge unsent (the
        # notification and its audit entry are each created once per key).
        self._nudge(event, action, found, deposit, target.name)
        return _waiting(action)

    def _nudged(self, action: ActionRow) -> bool:
        """Whether the action's nudge was sent; its audit entry is then appended (once)."""
        note = self.notifications.by_source(f"nudge:{action.event_id}")
        if note is None:
            return False
        self._audit_nudge(action, [f["id"] for f in note["facts"]])
        return True

    def _destination(
        self, customer_id: str, target: Account, invest: Account | None, found: Surplus
    ) -> tuple[Account, Surplus]:
        """Savings, or the investment account when the next-best-action permits investing."""
        if invest is not None and self.investing and self.investing.allows(customer_id):
            target = invest
        return target, found.with_fact(Fact(
            "sweep.destination", "where the surplus would go", target.name, "text",
            INVESTING if target is invest else "high-yield savings",
        ))  # fmt: skip

    def _nudge(self, event: BankEventRow, action: ActionRow, found: Surplus, deposit: Fact,
               destination: str) -> None:  # fmt: skip
        """The notification naming amount, destination and why; audited as a nudge."""
        facts = (deposit, *found.facts)
        self.notifications.create(NewNotification(
            event.customer_id, "surplus_sweep", f"{found.fact('sweep.surplus').display} "
            f"could earn more in {destination}", nudge_text(found, deposit, destination, action),
            f"nudge:{event.id}", facts, event.id, action.id,
        ))  # fmt: skip
        self._audit_nudge(action, [f.id for f in facts])

    def _audit_nudge(self, action: ActionRow, fact_ids: list[str]) -> None:
        """The nudge's audit entry, once per action."""
        if self.audit is not None:
            self.audit.append("nudge", f"event/{action.event_id}", {
                "customer_id": action.customer_id, "action_id": action.id,
                "amount": str(action.amount), "facts": fact_ids,
            }, key=f"nudge:{action.id}")  # fmt: skip

    def record_outcome(self, event_id: str, outcome: str) -> str:
        """Write how the event's workflow ended."""
        with session_scope(self.url) as db:
            db.execute(
                update(BankEventRow).where(BankEventRow.id == event_id).values(outcome=outcome)
            )
        return outcome


def _waiting(action: ActionRow) -> dict[str, Any]:
    """What the workflow waits on: the action and the seconds until it expires."""
    wait = (action.expires_at - utcnow()).total_seconds()
    return {"action_id": action.id, "wait_s": max(wait, 0.0) if action.status == "pending" else 0.0}


def pending_sweeps(db: Session, event: BankEventRow, source_id: str) -> Decimal:
    """What earlier paydays' sweeps, still pending, would take out of this checking account."""
    query = select(func.coalesce(func.sum(ActionRow.amount), 0)).where(
        ActionRow.customer_id == event.customer_id, ActionRow.kind == "transfer",
        ActionRow.from_account == source_id, ActionRow.status == "pending",
        ActionRow.expires_at > utcnow(), ActionRow.source_key.like("sweep:%"),
        ActionRow.source_key != f"sweep:{event.id}",
    )  # fmt: skip
    return Decimal(str(db.scalar(query) or 0))


def nudge_text(found: Surplus, deposit: Fact, destination: str, action: ActionRow) -> str:
    """The nudge's words: every figure is one of the facts shown with it."""
    show = {f.id: f.display for f in found.facts}
    seasonal = found.fact("sweep.seasonal_extra")
    season = f", {show['sweep.seasonal_extra']} of extra spending you usually have this month"
    expires = action.expires_at.replace(tzinfo=dt.UTC)
    return (
        f"Your pay of {deposit.display} has arrived. After {show['sweep.bills_before_payday']} "
        f"of bills and {show['sweep.debt_minimums']} of minimum debt payments due before your "
        f"next payday on {say_date(found.next_payday)}, a {show['sweep.buffer']} buffer"
        f"{season if Decimal(seasonal.value) > 0 else ''}{_earlier(found)}, "
        f"{show['sweep.surplus']} in checking "
        f"is spare. Move {show['sweep.surplus']} to {destination}?{_why_investing(found)} "
        f"Confirm or decline by "
        f"{say_date(expires.date())}; nothing moves until you confirm."
    )


def _earlier(found: Surplus) -> str:
    """The sweeps of earlier paydays still pending, when there are any."""
    pending = found.fact("sweep.pending_sweeps")
    if Decimal(pending.value) > 0:
        return f" and {pending.display} already proposed on an earlier payday"
    return ""


def _why_investing(found: Surplus) -> str:
    """Why the destination is an investment account, when it is."""
    if found.fact("sweep.destination").derivation == INVESTING:
        return " Your profile and our next-best-action policy allow investing."
    return ""
