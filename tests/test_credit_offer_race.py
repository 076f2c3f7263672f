"""A bank-started credit-limit offer overtaken by the customer's own request: the contract is
stored in the transaction that proposes its offer, under the customer's lock, so an offer that
yields (is never made) leaves no contract and no `contract` audit entry behind. Before, the
contract was issued and audited first and a request landing before the proposal left one for
an offer nobody was shown."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from advisor.orchestration.actions import ActionService, Proposal
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.contracts import ContractRow
from advisor.orchestration.credit_limit import SOURCE_PREFIX
from advisor.orchestration.credit_review import CreditReviews
from advisor.orchestration.notifications import NotificationService
from advisor.settings import RailsSettings, Settings
from portfolio_context.db import session_scope
from tests.conftest import make_settings
from tests.credit_fixtures import AS_OF, GOOD, prepare_bank
from tests.pg import fresh_database
from tests.test_credit_review import (
    audited,
    notifications,
    post_spend,
    template,  # noqa: F401  (bank and credit model)
)
from tests.test_credit_review_races import REVIEW, ask_for, offers


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    template: Path,  # noqa: F811
) -> Iterator[Settings]:
    """This test's own bank (a copy of the SQLite one, or a fresh PostgreSQL database)."""
    shutil.copytree(template / "models", tmp_path / "models")
    if request.param == "sqlite":
        shutil.copy(template / "bank.db", tmp_path / "bank.db")
        url = f"sqlite:///{tmp_path / 'bank.db'}"
        yield make_settings(tmp_path, url, rails=RailsSettings(enabled=False))
        return
    with fresh_database("advisor_offer_race") as url:
        prepare_bank(url)
        yield make_settings(tmp_path, url, rails=RailsSettings(enabled=False))


def contract_traces(settings: Settings) -> list[str]:
    """The decisions the customer's stored contracts are for."""
    query = select(ContractRow.trace_id).where(ContractRow.customer_id == GOOD)
    with session_scope(settings.resolved_database_url) as db:
        return list(db.scalars(query))


def test_a_review_overtaken_by_the_customers_request_leaves_no_contract(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = settings.resolved_database_url
    actions = ActionService(url, AuditLog.from_settings(settings))
    reviews = CreditReviews.from_settings(settings, actions, NotificationService(url))
    post_spend(settings, GOOD, Decimal(1600))
    assert reviews.claim(GOOD, AS_OF, "t").outcome == "started"
    asked: list[str] = []
    real = ActionService.propose_replacing

    def customer_asks_first(self: ActionService, proposal: Proposal, *args: Any,
                            **kwargs: Any) -> Any:  # fmt: skip
        """The review decided a raise; the customer asks just before it is proposed."""
        if kwargs.get("yield_to_pending") and not asked:  # the review's (bank-started) offer
            asked.append(ask_for(reviews, Decimal(9000)))
        return real(self, proposal, *args, **kwargs)

    monkeypatch.setattr(ActionService, "propose_replacing", customer_asks_first)
    assert reviews.review(REVIEW)["decision"] == "skipped: pending_offer"
    own = asked[0].removeprefix(SOURCE_PREFIX)  # the trace id of the customer's decision
    assert offers(settings) == [(asked[0], "pending", Decimal("9000.00"))]
    assert len(notifications(settings, GOOD)) == 1
    assert contract_traces(settings) == [own]
    assert [entry["trace_id"] for entry in audited(settings, "contract")] == [own]
