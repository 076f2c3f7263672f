"""What must hold after a fault trial (tests/fault_trials.py): each check names what broke."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from advisor.orchestration.actions import SUPERSEDED
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.ledger import OWED_KINDS
from advisor.orchestration.tables import (
    ActionRow,
    BankEventRow,
    LedgerPosting,
    NotificationRow,
)
from portfolio_context.db import session_scope
from portfolio_context.models import Account, Transaction

if TYPE_CHECKING:
    from advisor.settings import Settings
    from tests.fault_trials import Trial

EXPECTED = {"confirm": "executed", "decline": "declined"}
CARD = "C0004-CRE"


@dataclass(frozen=True)
class Snapshot:
    """Every account's balance, limit and APR before the trial."""

    accounts: dict[str, tuple[Decimal, Decimal | None, Decimal | None]]


def snapshot(url: str) -> Snapshot:
    """The bank's accounts as they are now."""
    with session_scope(url) as db:
        rows = db.scalars(select(Account))
        return Snapshot({a.id: (a.balance, a.credit_limit, a.apr) for a in rows})


def ledger_violations(db: Session, before: Snapshot) -> list[str]:
    """Each posting has its one transaction, and each balance moved by its postings alone."""
    found: list[str] = []
    moved: dict[str, Decimal] = defaultdict(Decimal)
    for posting in db.scalars(select(LedgerPosting)):
        txn = db.get(Transaction, posting.transaction_id)
        if txn is None or (txn.account_id, txn.amount) != (posting.account_id, posting.amount):
            found.append(f"posting {posting.key} has no matching transaction")
        moved[posting.account_id] += posting.amount
    for account in db.scalars(select(Account)):
        sign = -1 if account.type in OWED_KINDS else 1
        if account.balance != before.accounts[account.id][0] + sign * moved[account.id]:
            found.append(f"balance of {account.id} is not its postings' sum")
    return found


def audit_violations(settings: Settings, expected: dict[tuple[str, str], int]) -> list[str]:
    """The chain verifies and holds each (kind, subject) the expected number of times."""
    log = AuditLog.from_settings(settings)
    finding = log.check()[1]
    found = [f"audit chain broken at seq {finding.seq}: {finding.reason}"] if finding else []
    held = Counter((e.kind, e.subject) for e in log.entries(limit=10_000))
    for key, times in expected.items():
        if held[key] != times:
            found.append(f"audit holds {held[key]} {key[0]} entries for {key[1]}, not {times}")
    return found


def payroll_violations(settings: Settings, before: Snapshot, trial: Trial) -> list[str]:
    """The payday was kept once, nudged once, and moved its surplus once or not at all."""
    url, event_id = settings.resolved_database_url, f"pay-{trial.number}"
    with session_scope(url) as db:
        event = db.get(BankEventRow, event_id)
        actions = list(db.scalars(select(ActionRow).where(ActionRow.event_id == event_id)))
        keys = list(db.scalars(select(LedgerPosting.key)))
        nudges = db.scalars(select(NotificationRow.action_id)
                            .where(NotificationRow.event_id == event_id)).all()  # fmt: skip
        found = ledger_violations(db, before)
        if event is None or keys.count(f"event:{event_id}") != 1:
            return [*found, "the event or its one posting is missing"]
        if len(actions) != 1:
            return [*found, f"{len(actions)} actions proposed, not 1"]
        action, outcome = actions[0], event.outcome
    found += _action_violations(action, trial, keys, outcome)
    if list(nudges) != [action.id]:
        found.append(f"{len(nudges)} nudges for the event, not 1")
    found += _moved(settings, before, action)
    return found + audit_violations(settings, _payroll_audit(event_id, action))


def _action_violations(action: ActionRow, trial: Trial, keys: list[str], outcome: Any) -> list[str]:
    """The decision took effect once and the workflow recorded it."""
    found, expected = [], EXPECTED[trial.decision]
    if action.status != expected:
        found.append(f"action is {action.status}, not {expected}")
    postings = sum(1 for k in keys if k.startswith(f"action:{action.id}:"))
    if postings != (2 if action.status == "executed" else 0):
        found.append(f"{postings} postings for an action that is {action.status}")
    if outcome != action.status:
        found.append(f"workflow outcome {outcome!r}, action {action.status}")
    return found


def _moved(settings: Settings, before: Snapshot, action: ActionRow) -> list[str]:
    """Checking and the destination moved by exactly the amount, when executed."""
    amount = (action.amount or Decimal(0)) if action.status == "executed" else Decimal(0)
    with session_scope(settings.resolved_database_url) as db:
        source = db.get(Account, action.from_account or "")
        target = db.get(Account, action.to_account or "")
        assert source is not None and target is not None
        pay, was = Decimal("2500.00"), before.accounts
        want = (was[source.id][0] + pay - amount, was[target.id][0] + amount)
        if (source.balance, target.balance) != want:
            return [f"balances {source.balance}/{target.balance}, expected {want}"]
    return []


def _payroll_audit(event_id: str, action: ActionRow) -> dict[tuple[str, str], int]:
    """One entry per state change of the payday's workflow."""
    subject = f"action/{action.id}"
    executed = 1 if action.status == "executed" else 0
    return {("event_received", f"event/{event_id}"): 1, ("nudge", f"event/{event_id}"): 1,
            ("confirmation", subject): 1, ("execution", subject): executed}  # fmt: skip


def credit_violations(settings: Settings, before: Snapshot, trial: Trial) -> list[str]:
    """The limit changed once (or not), to the accepted terms; each offer notified once."""
    url = settings.resolved_database_url
    with session_scope(url) as db:
        query = select(ActionRow).where(ActionRow.kind == "credit_limit_change")
        actions = list(db.scalars(query.order_by(ActionRow.created_at)))
        notes = Counter(db.scalars(select(NotificationRow.action_id)))
        card = db.get(Account, CARD)
        assert card is not None
        found = ledger_violations(db, before)
        actions = [a for a in actions if a.reason != SUPERSEDED]
        decided = [a for a in actions if a.status != "pending"]
        executed = [a for a in actions if a.status == "executed"]
        limit = executed[0].amount if executed else before.accounts[CARD][1]
        if len(executed) > 1 or card.credit_limit != limit:
            found.append(f"{len(executed)} limit changes, limit {card.credit_limit}")
    if [a.status for a in decided] != [EXPECTED[trial.decision]]:
        found.append(f"decided offers {[a.status for a in decided]}")
    found += [f"{notes[a.id]} notifications for offer {a.id}" for a in actions if notes[a.id] != 1]
    expected = {("confirmation", f"action/{a.id}"): 1 for a in decided}
    expected |= {("execution", f"action/{a.id}"): 1 for a in executed}
    expected |= {("decision", f"trace/{a.source_key.split(':', 1)[1]}"): 1 for a in actions}
    return found + audit_violations(settings, expected)
