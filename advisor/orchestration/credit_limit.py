"""Executing an accepted credit-limit offer: re-check, then change the card's limit once.

A `credit_limit_change` action maps onto the action shape as: amount = the new limit,
to_account = the card account, from_account = None; its source key is
`credit_limit:<trace id>`, which names the decision and so the contract whose terms (current
limit, new limit, APR) the customer accepted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from advisor.orchestration import ledger
from advisor.orchestration.contracts import ContractRow
from advisor.orchestration.tables import ActionRow
from portfolio_context.models import Account, Customer

KIND = "credit_limit_change"
SOURCE_PREFIX = "credit_limit:"


@dataclass(frozen=True)
class AtExecution:
    """What the re-checks read: the customer, the card and the accepted terms, as they are now."""

    customer: Customer | None
    card: Account | None
    terms: dict[str, Any]


# A re-check at execution: a reason string rejects the action.
Check = Callable[[AtExecution], str | None]


def source_key(trace_id: str) -> str:
    """The action's source key for one decision: one offer per decision."""
    return f"{SOURCE_PREFIX}{trace_id}"


def accepted_terms(db: Session, row: ActionRow) -> dict[str, Any] | None:
    """The contract's terms of the decision this action offers (None when none is stored)."""
    trace_id = row.source_key.removeprefix(SOURCE_PREFIX)
    found = db.scalars(select(ContractRow.terms).where(ContractRow.trace_id == trace_id)).first()
    return json.loads(found) if found is not None else None


def _card_is_theirs(now: AtExecution) -> str | None:
    """The card still exists and is the customer's credit card."""
    customer, card = now.customer, now.card
    if customer is None or card is None or card.customer_id != customer.id:
        return "the card account of this offer is closed or not the customer's"
    if card.type != "credit_card" or card.id != now.terms["account_id"]:
        return "the account of this action is not the card the contract names"
    return None


def _not_in_hardship(now: AtExecution) -> str | None:
    """No raise for a customer who has since entered a hardship programme or default."""
    customer = now.customer
    if customer is not None and (customer.hardship or customer.in_default):
        return "the account is now in a payment hardship programme or in default"
    return None


def _limit_unchanged(now: AtExecution) -> str | None:
    """The limit is still the one the decision started from."""
    offered_on = Decimal(now.terms["current_limit"])
    limit = now.card.credit_limit if now.card is not None else None
    if limit is None or limit != offered_on:
        return (f"the card's limit changed since the offer "
                f"(from ${offered_on:,.2f} to ${limit or 0:,.2f})")  # fmt: skip
    return None


CHECKS: tuple[Check, ...] = (_card_is_theirs, _not_in_hardship, _limit_unchanged)


def change_credit_limit(db: Session, row: ActionRow) -> str | None:
    """Executor: set the card's limit and APR to the accepted terms, in the decision's
    transaction, only while the limit still equals the decision's current limit."""
    terms = accepted_terms(db, row)
    if terms is None:
        return "no contract is stored for this offer"
    now = AtExecution(db.get(Customer, row.customer_id), db.get(Account, row.to_account or ""),
                      terms)  # fmt: skip
    for check in CHECKS:
        failure = check(now)
        if failure is not None:
            return failure
    done = db.execute(
        update(Account)
        .where(Account.id == terms["account_id"],
               Account.credit_limit == Decimal(terms["current_limit"]))
        .values(credit_limit=Decimal(terms["new_limit"]), apr=Decimal(terms["apr"]))
    )
    if not getattr(done, "rowcount", 0):
        return "the card's limit changed while the offer was being confirmed"
    ledger.mark_changed(db)
    return None
