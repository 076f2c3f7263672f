"""Why a proactive credit-limit review must not start: the blocks of credit_review.yaml, in order.

Each block reads the bank and the orchestration's tables; the first that holds names the reason.
Windows are on the wall clock: when the customer was last contacted or decided on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advisor.decisions.traces import DecisionTrace
from advisor.orchestration.credit_limit import KIND
from advisor.orchestration.credit_offer import WORDING as OFFER_WORDING
from advisor.orchestration.tables import ActionRow, NotificationRow, utcnow
from portfolio_context.models import CreditProfile, Customer

# (session, customer id, the block's settings, the reviews table's started_at column) -> holds
Block = Callable[[Session, str, Any, Any], bool]


def _count(db: Session, query: Any) -> int:
    """How many rows a count query finds."""
    return int(db.scalar(query) or 0)


def _hardship(db: Session, customer_id: str, _: Any, __: Any) -> bool:
    """The customer is in a payment hardship programme."""
    customer = db.get(Customer, customer_id)
    return bool(customer is not None and customer.hardship)


def _in_default(db: Session, customer_id: str, _: Any, __: Any) -> bool:
    """A credit obligation of the customer is in default."""
    customer = db.get(Customer, customer_id)
    return bool(customer is not None and customer.in_default)


def _recent_delinquency(db: Session, customer_id: str, rule: Any, _: Any) -> bool:
    """The bureau file shows at least this many delinquencies in 24 months."""
    profile = db.get(CreditProfile, customer_id)
    least = int(rule.get("delinquencies_24m_at_least", 1)) if isinstance(rule, dict) else 1
    return profile is not None and profile.delinquencies_24m >= least


def _pending_offer(db: Session, customer_id: str, _: Any, __: Any) -> bool:
    """A credit-limit offer waits for the customer's answer."""
    query = select(func.count()).where(
        ActionRow.customer_id == customer_id, ActionRow.kind == KIND,
        ActionRow.status == "pending", ActionRow.expires_at > utcnow(),
    )  # fmt: skip
    return _count(db, query) > 0


def _since(rule: Any) -> dt.datetime:
    """The start of a block's window (naive UTC)."""
    return utcnow() - dt.timedelta(days=int(rule["days"]))


def _contacted(db: Session, customer_id: str, rule: Any, _: Any) -> bool:
    """A credit-limit offer was sent to the customer within the window."""
    query = select(func.count()).where(
        NotificationRow.customer_id == customer_id,
        NotificationRow.kind == OFFER_WORDING["notification_kind"],
        NotificationRow.created_at >= _since(rule),
    )  # fmt: skip
    return _count(db, query) > 0


def _decided(db: Session, customer_id: str, rule: Any, _: Any) -> bool:
    """A credit-limit decision was made for the customer within the window."""
    since = _since(rule).replace(tzinfo=dt.UTC)
    query = select(func.count()).where(
        DecisionTrace.customer_id == customer_id, DecisionTrace.kind == "credit_decision",
        DecisionTrace.created_at >= since,
    )  # fmt: skip
    return _count(db, query) > 0


def _reviewed(db: Session, customer_id: str, rule: Any, reviews: Any) -> bool:
    """A proactive review of the customer started within the window."""
    query = select(func.count()).where(
        reviews.c.customer_id == customer_id, reviews.c.started_at >= _since(rule)
    )
    return _count(db, query) > 0


BLOCKS: dict[str, Block] = {
    "hardship": _hardship,
    "in_default": _in_default,
    "recent_delinquency": _recent_delinquency,
    "pending_offer": _pending_offer,
    "contacted": _contacted,
    "decided": _decided,
    "reviewed": _reviewed,
}


def first_block(db: Session, customer_id: str, blocks: dict[str, Any], reviews: Any) -> str | None:
    """The name of the first block (in the policy's order) that holds, or None."""
    for name, rule in blocks.items():
        if rule and BLOCKS[name](db, customer_id, rule, reviews):
            return name
    return None
