"""Payroll -> surplus sweep -> nudge and pending transfer; decisions execute exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from advisor.orchestration import runtime
from advisor.orchestration.runtime import Orchestration
from advisor.orchestration.tables import ActionRow
from advisor.settings import Settings
from portfolio_context.db import session_scope
from portfolio_context.models import Account
from tests.conftest import bearer
from tests.orchestration_fixtures import (  # noqa: F401  (fixtures)
    api,
    balance,
    orch,
    orch_settings,
    outcome,
    payroll,
    postings,
    service_auth,
    settings_on_copy,
    template_bank,
    wait_for,
)


def sweep(orch: Orchestration, event_id: str = "pay-1", customer: str = "C0001") -> ActionRow:  # noqa: F811
    """Post a payroll event and wait for the pending transfer its workflow proposes."""
    orch.events.accept(payroll(event_id, customer))
    wait_for(lambda: orch.notifications.for_customer(customer))  # the nudge comes last
    return orch.actions.for_customer(customer)[0]


def test_a_payday_with_surplus_nudges_with_facts_and_a_pending_transfer(
    orch: Orchestration,  # noqa: F811
) -> None:
    action = sweep(orch)
    assert (action.status, action.kind, action.from_account, action.to_account) == (
        "pending", "transfer", "C0001-CHE", "C0001-SAV")  # fmt: skip
    [note] = orch.notifications.for_customer("C0001")
    facts = {f["id"]: f for f in note["facts"]}
    assert {"sweep.deposit", "balance.checking", "sweep.next_payday", "sweep.bills_before_payday",
            "sweep.debt_minimums", "sweep.seasonal_extra", "sweep.buffer",
            "sweep.surplus"} <= set(facts)  # fmt: skip
    assert Decimal(str(facts["sweep.surplus"]["value"])) == action.amount
    expected = (
        Decimal(str(facts["balance.checking"]["value"]))
        - sum(Decimal(str(facts[k]["value"])) for k in (
            "sweep.bills_before_payday", "sweep.debt_minimums", "sweep.buffer",
            "sweep.seasonal_extra"))
    )  # fmt: skip
    assert action.amount == (expected // 10) * 10
    assert facts["sweep.surplus"]["display"] in note["body"]
    assert "High-Yield Savings" in note["body"]
    assert "nothing moves until you confirm" in note["body"]
    assert note["action"]["id"] == action.id and note["event_id"] == "pay-1"


def test_below_the_threshold_nothing_is_proposed(tmp_path: Path, template_bank: Path) -> None:  # noqa: F811
    settings = settings_on_copy(tmp_path, template_bank, sweep_min_usd=1_000_000)
    with runtime.running(settings) as services:
        services.events.accept(payroll("pay-small"))
        url = settings.resolved_database_url
        assert wait_for(lambda: outcome(url, "pay-small")) == "no_surplus"
        assert services.actions.for_customer("C0001") == []
        assert services.notifications.for_customer("C0001") == []


def test_confirming_twice_or_concurrently_executes_once(orch: Orchestration) -> None:  # noqa: F811
    url = orch.settings.resolved_database_url
    action = sweep(orch)
    before = balance(url, "C0001-CHE"), balance(url, "C0001-SAV")
    results: list[str] = []

    def confirm(key: str) -> None:
        results.append(orch.actions.decide("C0001", action.id, "confirm", key).status)

    threads = [threading.Thread(target=confirm, args=(f"k{i % 3}",)) for i in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["executed"] * 9
    assert orch.actions.decide("C0001", action.id, "confirm", "k-late").status == "executed"
    assert postings(url, f"action:{action.id}") == 2
    assert balance(url, "C0001-CHE") == before[0] - action.amount
    assert balance(url, "C0001-SAV") == before[1] + action.amount
    assert wait_for(lambda: outcome(url, "pay-1")) == "executed"


def test_decline_moves_nothing_and_later_confirmations_stay_declined(orch: Orchestration) -> None:  # noqa: F811
    url = orch.settings.resolved_database_url
    action = sweep(orch)
    before = balance(url, "C0001-CHE")
    assert orch.actions.decide("C0001", action.id, "decline", "d1").status == "declined"
    assert orch.actions.decide("C0001", action.id, "confirm", "c1").status == "declined"
    assert balance(url, "C0001-CHE") == before and postings(url, "action:") == 0
    assert wait_for(lambda: outcome(url, "pay-1")) == "declined"


@pytest.fixture
def short_lived(tmp_path: Path, template_bank: Path) -> Iterator[Orchestration]:  # noqa: F811
    """Actions that expire after a second."""
    settings = settings_on_copy(tmp_path, template_bank, action_ttl_s=1)
    with runtime.running(settings) as services:
        yield services


def test_an_unconfirmed_action_expires_and_a_late_confirmation_is_expired(
    short_lived: Orchestration,
) -> None:
    url = short_lived.settings.resolved_database_url
    action = sweep(short_lived)
    assert wait_for(lambda: outcome(url, "pay-1")) == "expired"
    late = short_lived.actions.decide("C0001", action.id, "confirm", "late")
    assert (late.status, late.reason) == ("expired", "not confirmed before it expired")
    assert postings(url, "action:") == 0


def test_balances_are_rechecked_at_execution(orch: Orchestration) -> None:  # noqa: F811
    url = orch.settings.resolved_database_url
    action = sweep(orch)
    with session_scope(url) as db:
        db.execute(update(Account).where(Account.id == "C0001-CHE").values(balance=Decimal("5")))
    done = orch.actions.decide("C0001", action.id, "confirm", "k1")
    assert done.status == "rejected" and done.reason and "insufficient funds" in done.reason
    assert balance(url, "C0001-CHE") == Decimal("5") and postings(url, "action:") == 0


def test_another_customers_action_is_404_and_unlisted(
    api: TestClient, orch_settings: Settings, orch_services_from_api: Orchestration  # noqa: F811
) -> None:
    action = sweep(orch_services_from_api)
    other = bearer(orch_settings, "C0002")
    key = {"Idempotency-Key": "x1"}
    assert api.post(f"/v1/actions/{action.id}/confirm", headers=other | key).status_code == 404
    assert api.post(f"/v1/actions/{action.id}/decline", headers=other | key).status_code == 404
    assert api.get("/v1/actions", headers=other).json() == []
    assert api.get("/v1/notifications", headers=other).json() == []
    mine = bearer(orch_settings, "C0001")
    assert [a["status"] for a in api.get("/v1/actions", headers=mine).json()] == ["pending"]


def test_confirm_over_http_needs_an_idempotency_key(
    api: TestClient, orch_settings: Settings, orch_services_from_api: Orchestration  # noqa: F811
) -> None:
    action = sweep(orch_services_from_api)
    mine = bearer(orch_settings, "C0001")
    assert api.post(f"/v1/actions/{action.id}/confirm", headers=mine).status_code == 422
    first = api.post(f"/v1/actions/{action.id}/confirm", headers=mine | {"Idempotency-Key": "a"})
    again = api.post(f"/v1/actions/{action.id}/confirm", headers=mine | {"Idempotency-Key": "a"})
    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == again.json()["status"] == "executed"
    reused = api.post(f"/v1/actions/{action.id}/decline", headers=mine | {"Idempotency-Key": "a"})
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["detail"]
    url = orch_settings.resolved_database_url
    assert postings(url, f"action:{action.id}") == 2


@pytest.fixture
def orch_services_from_api(api: TestClient) -> Orchestration:  # noqa: F811
    """The orchestration the app's lifespan started."""
    services: Orchestration = api.app.state.orchestration  # type: ignore[attr-defined]
    return services


class Invests:
    """A next-best-action gate that permits investing for everyone."""

    def allows(self, customer_id: str) -> bool:
        return True


def test_a_profile_allowed_to_invest_is_offered_its_brokerage_account(
    orch: Orchestration,  # noqa: F811
) -> None:
    orch.sweeps.investing = Invests()
    with session_scope(orch.settings.resolved_database_url) as db:
        holder = db.scalars(select(Account.customer_id).where(Account.type == "brokerage")).first()
    assert holder is not None
    action = sweep(orch, "pay-inv", holder)
    assert action.to_account == f"{holder}-BRO"
    [note] = orch.notifications.for_customer(holder)
    destination = next(f for f in note["facts"] if f["id"] == "sweep.destination")
    assert destination["derivation"] == "next-best-action permits investing"
    assert "allow investing" in note["body"]
