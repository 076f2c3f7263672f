"""POST /v1/events: validation, service scope, idempotent replay, concurrent duplicates, ledger."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from advisor.auth import verify_token
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.events import EventReceipt
from advisor.orchestration.runtime import Orchestration
from advisor.orchestration.tables import BankEventRow, NotificationRow
from advisor.settings import Settings
from portfolio_context.db import session_scope
from tests.conftest import bearer
from tests.orchestration_fixtures import (  # noqa: F401  (fixtures)
    PAYDAY,
    api,
    balance,
    orch,
    orch_settings,
    payroll,
    postings,
    service_auth,
    template_bank,
    wait_for,
)

GOOD: dict[str, Any] = {
    "id": "evt-1", "type": "payroll_deposit", "customer_id": "C0001", "amount": "2500.00",
    "currency": "USD", "occurred_at": PAYDAY, "description": "ACME CORP PAYROLL",
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "wire_transfer"}, "type"),
        ({"amount": "12.5.0"}, "amount"),
        ({"amount": "ten dollars"}, "amount"),
        ({"amount": "NaN"}, "finite"),
        ({"amount": "2500.001"}, "two decimal places"),
        ({"amount": "-2500.00"}, "greater than zero"),
        ({"amount": "0"}, "greater than zero"),
        ({"type": "card_transaction", "amount": "0.00"}, "non-zero"),
        ({"currency": "EUR"}, "currency must be one of USD"),
        ({"occurred_at": "2026-11-28T09:00:00"}, "UTC offset"),
        ({"occurred_at": "last tuesday"}, "occurred_at"),
        ({"occurred_at": "0001-01-01T00:00:00+05:00"}, "years 1970 to 2100"),
        ({"occurred_at": "9999-12-31T23:00:00-05:00"}, "years 1970 to 2100"),
        ({"occurred_at": "1900-06-01T00:00:00Z"}, "years 1970 to 2100"),
        ({"customer_id": "C9999"}, "no customer 'C9999'"),
        ({"id": ""}, "id"),
        ({"id": "has spaces"}, "id"),
        ({"amount": None}, "amount"),
    ],
)
def test_bad_events_are_422_with_a_reason_and_write_nothing(
    api: TestClient, orch_settings: Settings, change: dict[str, Any], reason: str  # noqa: F811
) -> None:
    body = {**GOOD, "id": "evt-bad"} | change
    response = api.post("/v1/events", json=body, headers=service_auth(orch_settings))
    assert response.status_code == 422, response.text
    assert reason in response.json()["detail"]
    with session_scope(orch_settings.resolved_database_url) as db:
        assert db.scalar(select(func.count()).select_from(BankEventRow)) == 0


@pytest.mark.parametrize("missing", ["id", "type", "customer_id", "amount", "currency"])
def test_missing_fields_are_422(api: TestClient, orch_settings: Settings, missing: str) -> None:  # noqa: F811
    body = {k: v for k, v in GOOD.items() if k != missing}
    response = api.post("/v1/events", json=body, headers=service_auth(orch_settings))
    assert response.status_code == 422
    assert missing in response.json()["detail"]


def test_only_service_tokens_post_events(api: TestClient, orch_settings: Settings) -> None:  # noqa: F811
    assert api.post("/v1/events", json=GOOD).status_code == 401
    customer = api.post("/v1/events", json=GOOD, headers=bearer(orch_settings, "C0001"))
    assert customer.status_code == 403, customer.text
    admin = bearer(orch_settings, "C0001", scope="admin")
    assert api.post("/v1/events", json=GOOD, headers=admin).status_code == 403
    assert postings(orch_settings.resolved_database_url, "event:") == 0


def test_service_token_names_no_customer(orch_settings: Settings) -> None:  # noqa: F811
    principal = verify_token(orch_settings, service_auth(orch_settings)["Authorization"][7:])
    assert (principal.scope, principal.customer_id) == ("service", "service")


def test_a_replay_answers_the_first_receipt_and_posts_once(
    api: TestClient, orch_settings: Settings  # noqa: F811
) -> None:
    url = orch_settings.resolved_database_url
    before = balance(url, "C0001-CHE")
    first = api.post("/v1/events", json=GOOD, headers=service_auth(orch_settings))
    again = api.post("/v1/events", json=GOOD, headers=service_auth(orch_settings))
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json() == again.json() == {
        "id": "evt-1", "status": "accepted", "workflow_id": "event:evt-1"
    }
    assert postings(url, "event:evt-1") == 1
    assert balance(url, "C0001-CHE") - before == 2500


def test_the_360_view_sees_the_event(api: TestClient, orch_settings: Settings) -> None:  # noqa: F811
    me = bearer(orch_settings, "C0002")
    before = api.get("/v1/customers/me/context", headers=me).json()
    body = {**GOOD, "id": "evt-dep", "type": "deposit", "customer_id": "C0002", "amount": "123.45"}
    receipt = api.post("/v1/events", json=body, headers=service_auth(orch_settings))
    assert receipt.json() == {"id": "evt-dep", "status": "recorded", "workflow_id": None}
    after = api.get("/v1/customers/me/context", headers=me).json()
    checking = [
        {a["id"]: a["balance"] for a in view["accounts"]}["C0002-CHE"] for view in (before, after)
    ]
    assert round(checking[1] - checking[0], 2) == 123.45


def test_concurrent_duplicates_start_one_workflow_and_post_once(orch: Orchestration) -> None:  # noqa: F811
    receipts: list[EventReceipt] = []
    threads = [
        threading.Thread(target=lambda: receipts.append(orch.events.accept(payroll("dup-1"))))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.replay for r in receipts) == [False] + [True] * 7
    assert {r.to_json()["workflow_id"] for r in receipts} == {"event:dup-1"}
    url = orch.settings.resolved_database_url
    wait_for(lambda: orch.notifications.for_customer("C0001"))  # the nudge comes last
    assert postings(url, "event:dup-1") == 1
    with session_scope(url) as db:
        assert db.scalar(select(func.count()).select_from(NotificationRow)) == 1
    assert len(orch.actions.for_customer("C0001")) == 1
    kinds = [e.kind for e in AuditLog.from_settings(orch.settings).entries()]
    assert (kinds.count("event_received"), kinds.count("nudge")) == (1, 1)
