"""What a decision does to a pending action inside its transaction: decline, expire, or
execute it on the ledger by its kind (a transfer, a credit-limit change, a card freeze)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from advisor.orchestration import ledger
from advisor.orchestration.action_rows import set_status
from advisor.orchestration.cards import freeze_card
from advisor.orchestration.credit_limit import change_credit_limit
from advisor.orchestration.tables import ActionRow, utcnow
from portfolio_context.models import Account


def apply_decision(db: Session, action_id: str, decision: str) -> bool:
    """Decline, expire or execute a pending action inside the caller's transaction."""
    row = db.get(ActionRow, action_id)
    assert row is not None
    if row.status != "pending":
        return False
    if decision == "decline":
        return set_status(db, action_id, "declined", None)
    if row.expires_at <= utcnow():
        return set_status(db, action_id, "expired", "confirmed after it expired")
    if not set_status(db, action_id, "executed", None):
        return False  # a concurrent decision won
    failure = EXECUTORS[row.kind](db, row)
    if failure is not None:
        db.execute(update(ActionRow).where(ActionRow.id == action_id)
                   .values(status="rejected", reason=failure))  # fmt: skip
    return True


def transfer(db: Session, row: ActionRow) -> str | None:
    """Move the amount between the customer's accounts: two postings, each under its own key."""
    amount = row.amount or Decimal("0")
    accounts = [db.get(Account, a or "") for a in (row.from_account, row.to_account)]
    if any(a is None or a.customer_id != row.customer_id for a in accounts):
        return "an account of this action is closed or not the customer's"
    if not ledger.withdraw_if_covered(db, row.from_account or "", amount):
        balance = accounts[0].balance if accounts[0] else Decimal("0")
        return f"insufficient funds: the balance ${balance:,.2f} does not cover ${amount:,.2f}"
    today, names = utcnow().date(), [a.name.upper() if a else "" for a in accounts]
    ledger.post(db, ledger.Posting(f"action:{row.id}:debit", row.from_account or "", -amount,
                                   f"TRANSFER TO {names[1]}", "Transfer", today,
                                   f"action {row.id}"), move_balance=False)  # fmt: skip
    ledger.post(db, ledger.Posting(f"action:{row.id}:credit", row.to_account or "", amount,
                                   f"TRANSFER FROM {names[0]}", "Transfer", today,
                                   f"action {row.id}"))  # fmt: skip
    ledger.mark_changed(db)
    return None


# kind -> executor: writes inside the decision's transaction; a reason string rejects.
EXECUTORS: dict[str, Callable[[Session, ActionRow], str | None]] = {
    "transfer": transfer,
    "credit_limit_change": change_credit_limit,  # credit_limit.py
    "card_freeze": freeze_card,  # cards.py
}
