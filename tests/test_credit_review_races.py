"""Races around a bank-started credit-limit review and the offers it makes: the claim is checked
and stored under the customer's lock, the review re-checks the blocks before it decides, a
bank-started offer never replaces a waiting one, and two offers at once leave the newer live."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from contextlib import suppress
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from advisor.decisions.traces import DecisionTrace
from advisor.errors import NotFound
from advisor.orchestration import action_rows, executors, review_blocks
from advisor.orchestration import actions as actions_mod
from advisor.orchestration import credit_review as cr
from advisor.orchestration.actions import ActionService, Proposal
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.contracts import ContractRow
from advisor.orchestration.credit_limit import KIND
from advisor.orchestration.credit_review import CreditReviews, review_id_of
from advisor.orchestration.notifications import NotificationService
from advisor.orchestration.tables import ActionRow
from advisor.settings import Settings
from portfolio_context.db import session_scope
from portfolio_context.models import Customer
from portfolio_context.seed import seed_bank
from tests import test_credit_review as base
from tests.conftest import make_settings
from tests.credit_fixtures import AS_OF, GOOD
from tests.pg import fresh_database
from tests.test_credit_review import CARD, audited, notifications, post_spend

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


def contracts(settings: Settings) -> int:
    """How many contracts are stored for the customer."""
    query = select(func.count()).where(ContractRow.customer_id == GOOD)
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
    assert contracts(settings) == 1  # the yielding offer issued none


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


def confirm_first_between_select_and_update(
    monkeypatch: pytest.MonkeyPatch, confirm: Callable[[Any, str], object]
) -> list[str]:
    """Make `confirm(db, action_id)` decide an older offer just before propose_replacing's
    conditional update reaches it; the ids it confirmed."""
    real, confirmed = action_rows.set_status, []

    def racing(db: Any, action_id: str, status: str, reason: str | None) -> bool:
        if status == "expired" and reason == actions_mod.SUPERSEDED:
            confirm(db, action_id)
            confirmed.append(action_id)
        return real(db, action_id, status, reason)

    monkeypatch.setattr(actions_mod, "set_status", racing)  # as propose_replacing calls it
    return confirmed


def expire_entries(settings: Settings, action_id: str) -> list[dict[str, Any]]:
    """The `confirmation` audit entries that say the action expired."""
    return [e for e in audited(settings, "confirmation")
            if e["id"] == action_id and e["decision"] == "expire"]  # fmt: skip


def test_an_offer_confirmed_while_a_newer_one_replaces_it_stays_executed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = settings.resolved_database_url
    actions = ActionService(url, AuditLog.from_settings(settings))
    woken: list[tuple[str, str]] = []
    actions.wakers.append(lambda workflow, action_id, status: woken.append((action_id, status)))
    reviews = CreditReviews.from_settings(settings, actions, NotificationService(url))
    first = ask_for(reviews, Decimal(9000))
    confirmed = confirm_first_between_select_and_update(
        monkeypatch, lambda db, action_id: executors.apply_decision(db, action_id, "confirm")
    )
    second = ask_for(reviews, Decimal(8000))
    assert offers(settings) == [(first, "executed", Decimal("9000.00")),
                                (second, "pending", Decimal("8000.00"))]  # fmt: skip
    assert len(confirmed) == 1 and expire_entries(settings, confirmed[0]) == []
    assert woken == []  # the confirmation's own tail wakes its workflow, not the replacement


def test_an_unknown_customer_is_refused_not_locked(settings: Settings) -> None:
    actions = ActionService(settings.resolved_database_url)
    stray = Proposal("C9999", KIND, Decimal(7000), None, CARD, "credit:stray", 3600)
    with pytest.raises(NotFound, match="C9999"):
        actions.propose_replacing(stray)
    with session_scope(settings.resolved_database_url) as db:
        assert db.scalar(select(func.count()).select_from(ActionRow)) == 0


@pytest.mark.postgres
def test_a_confirm_racing_a_replacement_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_database("advisor_races") as url:
        seed_bank(url, 8, 42, AS_OF)
        settings = make_settings(tmp_path, url)
        actions = ActionService(url, AuditLog.from_settings(settings))
        woken: list[tuple[str, str]] = []
        actions.wakers.append(lambda workflow, action_id, status: woken.append((action_id, status)))
        first = actions.propose_replacing(proposal("credit:a"))
        assert first is not None
        confirmed = confirm_first_between_select_and_update(  # its own connection and commit
            monkeypatch, lambda db, action_id: actions.decide(GOOD, action_id, "confirm", "k1")
        )
        assert actions.propose_replacing(proposal("credit:b")) is not None
        decided = actions.get(GOOD, first.id)
        assert confirmed == [first.id] and decided.status == "rejected", decided  # no contract
        assert action_rows.decision_of(decided) == "confirm"
        assert expire_entries(settings, first.id) == []
        assert woken == [(first.id, "rejected")]  # by the confirmation alone, once
