"""A customer as the bank saw them on a past decision date, for the offline replay.

Nothing after the decision date `day` informs the result: accounts opened after it are left
out, transactions after it are not in the ledger, and checking, savings and card balances are
rolled back by the transactions posted after it (the bank keeps balances as of its as-of date
only; the rollback undoes what happened since). A recurring bill the synthetic bank turned into
a mortgage payment when the customer bought a home is, before the purchase, the rent it
replaced. What the bank keeps no history of is read as of its as-of date: the customer record
(hardship, default, marketing fields), the credit bureau profile and brokerage holdings.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio_context.analytics import Ledger
from portfolio_context.models import (
    Account,
    CreditProfile,
    Customer,
    Holding,
    RecurringBill,
    Transaction,
)
from portfolio_context.synth_life import MORTGAGE_PAYEE, RENT_PAYEE
from portfolio_context.view import VIEW_DAYS, Customer360, CustomerNotFound, view_of

DEPOSITS = ("checking", "savings")  # balance = what came in minus what went out
OWED = ("credit_card",)  # balance = what is owed: purchases (negative amounts) raise it


def later_flows(session: Session, account_ids: list[str], day: dt.date) -> dict[str, Decimal]:
    """Net amount posted to each account after `day` (what the rollback undoes), summed
    exactly in Decimal."""
    rows = session.execute(
        select(Transaction.account_id, Transaction.amount).where(
            Transaction.account_id.in_(account_ids), Transaction.posted > day
        )
    ).all()
    out: dict[str, Decimal] = {}
    for account_id, amount in rows:
        out[account_id] = out.get(account_id, Decimal(0)) + Decimal(amount)
    return out


def rolled_back(account: Account, later: Decimal) -> Decimal:
    """The account's balance on the decision date."""
    if account.type in DEPOSITS:
        return Decimal(account.balance) - later
    if account.type in OWED:
        return max(Decimal(account.balance) + later, Decimal(0))
    return Decimal(account.balance)


def accounts_on(session: Session, customer_id: str, day: dt.date) -> list[Account]:
    """Detached copies of the accounts open on `day`, balances as of `day`."""
    found = list(
        session.scalars(
            select(Account)
            .where(Account.customer_id == customer_id, Account.opened <= day)
            .order_by(Account.id)
        )
    )
    later = later_flows(session, [a.id for a in found], day)
    return [copy_account(a, rolled_back(a, later.get(a.id, Decimal(0)))) for a in found]


def copy_account(account: Account, balance: Decimal) -> Account:
    """A transient copy of an account (never added to the session) with another balance."""
    return Account(
        id=account.id, customer_id=account.customer_id, type=account.type, name=account.name,
        balance=balance, credit_limit=account.credit_limit, apr=account.apr,
        opened=account.opened,
    )  # fmt: skip


def transactions_on(session: Session, account_ids: list[str], day: dt.date) -> list[Transaction]:
    """The transactions the 360 view reads, up to and including `day`."""
    return list(
        session.scalars(
            select(Transaction)
            .where(
                Transaction.account_id.in_(account_ids),
                Transaction.posted >= day - dt.timedelta(days=VIEW_DAYS),
                Transaction.posted <= day,
            )
            .order_by(Transaction.posted, Transaction.id)
        )
    )


def bills_on(
    session: Session, customer_id: str, accounts: list[Account], txs: list[Transaction]
) -> list[RecurringBill]:
    """The recurring bills on the decision date: a mortgage payment without a mortgage yet is
    the rent it replaced (its last payment before the date)."""
    bills = session.scalars(select(RecurringBill).where(RecurringBill.customer_id == customer_id))
    owns = any(a.type == "mortgage" for a in accounts)
    rent = [t for t in txs if t.merchant == RENT_PAYEE]
    out = []
    for bill in bills:
        if bill.payee == MORTGAGE_PAYEE and not owns and rent:
            out.append(rent_bill(bill, rent[-1]))
        else:
            out.append(bill)
    return out


def rent_bill(bill: RecurringBill, last: Transaction) -> RecurringBill:
    """A transient rent bill in place of the mortgage payment that replaced it."""
    return RecurringBill(
        customer_id=bill.customer_id, account_id=bill.account_id, payee=RENT_PAYEE,
        category=bill.category, amount=-Decimal(last.amount), day_of_month=last.posted.day,
        is_debt=False,
    )  # fmt: skip


def ledger_on(session: Session, customer_id: str, day: dt.date) -> tuple[Customer, Ledger]:
    """The customer and their ledger as the bank held it on `day`."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound(customer_id)
    accounts = accounts_on(session, customer_id, day)
    ids = [a.id for a in accounts]
    txs = transactions_on(session, ids, day)
    holdings = list(
        session.scalars(select(Holding).where(Holding.account_id.in_(ids)).order_by(Holding.symbol))
    )
    bills = bills_on(session, customer_id, accounts, txs)
    credit = session.get(CreditProfile, customer_id)
    return customer, Ledger(day, accounts, txs, bills, holdings, credit)


def view_on(session: Session, customer_id: str, day: dt.date) -> Customer360:
    """The 360 view of the customer on `day`."""
    return view_of(*ledger_on(session, customer_id, day))


class CustomerOn:
    """The customer record with the accounts open on the decision date (for the offer model,
    which reads `customer.accounts`)."""

    def __init__(self, customer: Customer, accounts: list[Account]) -> None:
        self._customer, self.accounts = customer, accounts

    def __getattr__(self, name: str) -> Any:
        """Every other field from the customer record."""
        return getattr(self._customer, name)
