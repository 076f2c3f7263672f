"""Card freezes: a confirmed `card_freeze` action marks the card's account frozen, once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from advisor.orchestration.tables import ActionRow, CardFreezeRow, utcnow
from portfolio_context.models import Account


def is_frozen(db: Session, account_id: str) -> bool:
    """Whether the card on this account is frozen."""
    return db.get(CardFreezeRow, account_id) is not None


def pending_freeze(db: Session, account_id: str) -> str | None:
    """The source key of a card freeze of this card still waiting for the customer, if any."""
    query = select(ActionRow.source_key).where(
        ActionRow.kind == "card_freeze", ActionRow.from_account == account_id,
        ActionRow.status == "pending", ActionRow.expires_at > utcnow(),
    )  # fmt: skip
    return db.scalars(query.limit(1)).first()


def freeze_card(db: Session, row: ActionRow) -> str | None:
    """Executor of `card_freeze`: freeze the card inside the decision's transaction.

    A card already frozen stays frozen (one row per card); a reason string rejects the action.
    """
    account = db.get(Account, row.from_account or "")
    if account is None or account.customer_id != row.customer_id:
        return "the card's account is closed or not the customer's"
    if not is_frozen(db, account.id):
        db.add(CardFreezeRow(account_id=account.id, customer_id=row.customer_id,
                             action_id=row.id, frozen_at=utcnow()))  # fmt: skip
    return None
