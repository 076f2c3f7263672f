"""Races around a bank-started credit-limit review and the offers it makes: the claim is checked
and stored under the customer's lock, the review re-checks the blocks before it decides, a
bank-started offer never replaces a waiting one, and two offers at once leave the newer live."""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import suppress
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update

from advisor.decisions.traces import DecisionTrace
from advisor.orchestration import credit_review as cr
from advisor.orchestration import review_blocks
from advisor.orchestration.actions import ActionService, Proposal
from advisor.orchestration.credit_limit import KIND
from advisor.orchestration.credit_review import CreditReviews, review_id_of
from advisor.orchestration.tables import ActionRow
from advisor.settings import Settings
from portfolio_context.db import session_scope
from portfolio_context.models import Customer
from tests import test_credit_review as base
from tests.credit_fixtures import AS_OF, GOOD
from tests.test_credit_review import CARD, notifications, post_spend

template, settings, reviews = base.template, base.settings, base.reviews  # its fixtures

REVIEW = review_id_of(GOOD, AS_OF)


def offers(settings: Settings) -> list[tuple[str, str, Decimal | None]]:
    """The customer's credit-limit actions: (source key, status, amount), oldest first."""
    query = select(ActionRow).where(ActionRow.customer_id == GOOD, ActionRow.kind == KIND)
    with session_scope(settings.resolved_database_url) as db:
        rows = db.scalars(query.order_by(ActionRow.created_at, ActionRow.id))
        return [(r.source_key, r.status, r.amount) for r in rows]


def decisions(settings: Settings) -> int:
    """How many credit decisions were traced for the customer."""
    query = select(func.count()).where(DecisionTrace.customer_id == GOOD,
                                       DecisionTrace.kind == "credit_decision")  # fmt: skip
    with session_scope(settings.resolved_database_url) as db:
        return int(db.scalar(query) or 0)


def ask_for(reviews: CreditReviews, amount: Decimal) -> str:
    """The customer asks for a limit and is offered a raise; the offer's source key."""
    asked = reviews.credit.request(GOOD, amount)
    made = reviews.offers.offer(GOOD, asked)
    assert made.action is not None and made.action.status == "pending", asked.decision
    return made.action.source_key


def test_a_claimed_review_skips_when_the_customer_asked_since(
    reviews: CreditReviews, settings: Settings
) -> None:
    post_spend(settings, GOOD, Decimal(1600))
    assert reviews.claim(GOOD, AS_OF, "t").outcome == "started"
    own = ask_for(reviews, Decimal(9000))
    made = reviews.review(REVIEW)
    assert made == {"decision": "skipped: pending_offer", "action_id": None}
    assert offers(settings) == [(own, "pending", Decimal("9000.00"))]
    assert len(notifications(settings, GOOD)) == 1
    assert reviews.review(REVIEW) == {"decision": "skipped", "action_id": None}  # a rerun


def test_a_claimed_review_skips_a_customer_now_in_hardship(
    reviews: CreditReviews, settings: Settings
) -> None:
    post_spend(settings, GOOD, Decimal(1600))
    assert reviews.claim(GOOD, AS_OF, "t").outcome == "started"
    with session_scope(settings.resolved_database_url) as db:
        db.execute(update(Customer).where(Customer.id == GOOD).values(hardship=True))
    assert reviews.review(REVIEW)["decision"] == "skipped: hardship"
    assert decisions(settings) == 0  # skipped before deciding: no decision, no trace
    assert offers(settings) == [] and notifications(settings, GOOD) == []


def test_a_bank_started_offer_never_replaces_one_the_customer_asked_for(
    reviews: CreditReviews, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_spend(settings, GOOD, Decimal(1600))
    assert reviews.claim(GOOD, AS_OF, "t").outcome == "started"
    monkeypatch.setattr(CreditReviews, "_block_now", lambda self, row: None)  # checked before
    own = ask_for(reviews, Decimal(9000))  # the customer asks between the check and the offer
    assert reviews.review(REVIEW)["decision"] == "skipped: pending_offer"
    assert offers(settings) == [(own, "pending", Decimal("9000.00"))]
    assert len(notifications(settings, GOOD)) == 1


def test_two_days_claimed_at_once_start_one_review(
    reviews: CreditReviews, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_spend(settings, GOOD, Decimal(1600))
    barrier, real = threading.Barrier(2), review_blocks.first_block

    def checked_together(*args: Any, **kwargs: Any) -> str | None:
        found = real(*args, **kwargs)
        with suppress(threading.BrokenBarrierError):  # unlocked, both meet here unblocked
            barrier.wait(timeout=2)
        return found

    monkeypatch.setattr(cr, "first_block", checked_together)
    out: list[str] = []
    days = [AS_OF, AS_OF + dt.timedelta(days=1)]
    threads = [threading.Thread(target=lambda d=d: out.append(reviews.claim(GOOD, d, "t").outcome))
               for d in days]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(out) == ["blocked:reviewed", "started"]


def proposal(key: str) -> Proposal:
    return Proposal(GOOD, KIND, Decimal(7000), None, CARD, key, 3600, workflow_id=f"wf:{key}")


def test_two_offers_at_once_leave_the_newer_live(settings: Settings) -> None:
    actions = ActionService(settings.resolved_database_url)
    barrier = threading.Barrier(2)

    def offer(key: str) -> None:
        barrier.wait(timeout=5)
        actions.propose_replacing(proposal(key))

    threads = [threading.Thread(target=offer, args=(k,)) for k in ("credit:a", "credit:b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = [status for _, status, _ in offers(settings)]
    assert statuses == ["expired", "pending"]


def test_a_repeated_older_offer_does_not_expire_the_newer(settings: Settings) -> None:
    actions = ActionService(settings.resolved_database_url)
    first = actions.propose_replacing(proposal("credit:a"))
    second = actions.propose_replacing(proposal("credit:b"))
    again = actions.propose_replacing(proposal("credit:a"))  # a retried step of the first
    assert first is not None and second is not None and again is not None
    assert again.id == first.id
    assert offers(settings) == [("credit:a", "expired", Decimal("7000.00")),
                                ("credit:b", "pending", Decimal("7000.00"))]  # fmt: skip


def test_a_yielding_offer_is_not_made_while_another_waits(settings: Settings) -> None:
    actions = ActionService(settings.resolved_database_url)
    assert actions.propose_replacing(proposal("credit:asked")) is not None
    assert actions.propose_replacing(proposal("credit:bank"), yield_to_pending=True) is None
    assert offers(settings) == [("credit:asked", "pending", Decimal("7000.00"))]
