"""Postings to the synthetic bank's ledger, each under a unique key so it happens at most once."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from advisor.orchestration.tables import LedgerPosting
from portfolio_context.models import Account, BankMeta, Transaction

# Money in or out of a card raises or lowers what is owed: the balance moves against the sign.
OWED_KINDS = frozenset({"credit_card", "mortgage"})


@dataclass(frozen=True)
class Posting:
    """One ledger line: positive money in, negative money out (as in `transactions`)."""

    key: str
    account_id: str
    amount: Decimal
    merchant: str
    category: str
    day: dt.date
    memo: str = ""


def account_of(session: Session, customer_id: str, kind: str) -> Account | None:
    """The customer's first account of a kind (by id), if any."""
    return session.scalars(
        select(Account)
        .where(Account.customer_id == customer_id, Account.type == kind)
        .order_by(Account.id)
    ).first()


def already_posted(session: Session, key: str) -> bool:
    """Whether a posting with this key exists."""
    return session.get(LedgerPosting, key) is not None


def post(session: Session, posting: Posting, move_balance: bool = True) -> int:
    """Write the transaction, move the balance and record the key, in the caller's transaction.

    The key's primary key makes a second posting with the same key fail (IntegrityError) at
    flush, so the caller's whole transaction rolls back: nothing is half-written.
    """
    session.add(LedgerPosting(key=posting.key, transaction_id=0, account_id=posting.account_id,
                              amount=posting.amount))  # fmt: skip
    session.flush()
    row = Transaction(
        account_id=posting.account_id, posted=posting.day, amount=posting.amount,
        merchant=posting.merchant[:96], category=posting.category, memo=posting.memo[:160],
    )  # fmt: skip
    session.add(row)
    session.flush()
    session.execute(
        update(LedgerPosting).where(LedgerPosting.key == posting.key).values(transaction_id=row.id)
    )
    if move_balance:
        _move_balance(session, posting.account_id, posting.amount)
    return row.id


def _move_balance(session: Session, account_id: str, amount: Decimal) -> None:
    """Apply a posting to the account's balance (owed balances move the other way)."""
    account = session.get(Account, account_id)
    if account is None:
        raise LookupError(f"no account {account_id}")
    delta = -amount if account.type in OWED_KINDS else amount
    session.execute(
        update(Account).where(Account.id == account_id).values(balance=Account.balance + delta)
    )
    session.expire(account)


def withdraw_if_covered(session: Session, account_id: str, amount: Decimal) -> bool:
    """Take `amount` out of a deposit account only when its balance covers it (one statement)."""
    result = session.execute(
        update(Account)
        .where(Account.id == account_id, Account.balance >= amount)
        .values(balance=Account.balance - amount)
    )
    return bool(getattr(result, "rowcount", 0))


def mark_changed(session: Session) -> None:
    """Tell the 360 view's cache the bank's data changed (a new `generation`)."""
    session.execute(
        update(BankMeta).where(BankMeta.key == "generation").values(value=uuid.uuid4().hex)
    )
