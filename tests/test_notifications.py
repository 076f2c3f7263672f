"""GET /v1/notifications (the issue's shape, unread first) and the resumable SSE stream."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from advisor.orchestration.notifications import NewNotification, NotificationService
from advisor.orchestration.runtime import Orchestration
from advisor.orchestration.tables import NotificationRow, utcnow
from advisor.settings import Settings
from portfolio_context.db import session_scope
from tests.conftest import bearer
from tests.orchestration_fixtures import (  # noqa: F401  (fixtures)
    api,
    orch_settings,
    payroll,
    template_bank,
    wait_for,
)
from tests.pg import fresh_database

KEYS = {"id", "kind", "title", "body", "created_at", "read", "event_id", "facts", "action",
        "trace_id"}  # fmt: skip
ACTION_KEYS = {"id", "kind", "amount", "from_account", "to_account", "status", "expires_at"}


def services(api: TestClient) -> Orchestration:  # noqa: F811
    """The orchestration the app started."""
    running: Orchestration = api.app.state.orchestration  # type: ignore[attr-defined]
    return running


def note(customer: str, key: str) -> NewNotification:
    """A plain notification."""
    return NewNotification(customer, "info", f"title {key}", "body", key)


def stream(
    api: TestClient, settings: Settings, customer: str, last: int | None = None  # noqa: F811
) -> list[tuple[int, dict[str, Any]]]:
    """The stream's backlog (follow=false) as (id, data) pairs."""
    resume = {"Last-Event-ID": str(last)} if last is not None else {}
    headers = bearer(settings, customer) | resume
    text = api.get("/v1/notifications/stream?follow=false", headers=headers).text
    events = [block for block in text.replace("\r\n", "\n").split("\n\n") if "data:" in block]
    fields = [dict(line.split(": ", 1) for line in e.splitlines() if ": " in line) for e in events]
    return [(int(f["id"]), json.loads(f["data"])) for f in fields]


def test_the_nudge_is_listed_in_the_issues_shape(api: TestClient, orch_settings: Settings) -> None:  # noqa: F811
    services(api).events.accept(payroll("pay-n"))
    me = bearer(orch_settings, "C0001")
    listed = wait_for(lambda: api.get("/v1/notifications", headers=me).json())
    assert set(listed[0]) == KEYS and set(listed[0]["action"]) == ACTION_KEYS
    assert listed[0]["action"]["status"] == "pending" and listed[0]["read"] is False
    assert all({"id", "value", "display", "derivation"} <= set(f) for f in listed[0]["facts"])


def test_unread_come_first(api: TestClient, orch_settings: Settings) -> None:  # noqa: F811
    made = [services(api).notifications.create(note("C0003", k)) for k in ("a", "b", "c")]
    services(api).notifications.mark_read("C0003", made[2])
    listed = api.get("/v1/notifications", headers=bearer(orch_settings, "C0003")).json()
    assert [n["id"] for n in listed] == [made[1], made[0], made[2]]


def test_creating_twice_from_one_source_notifies_once(api: TestClient) -> None:  # noqa: F811
    first = services(api).notifications.create(note("C0003", "same"))
    assert services(api).notifications.create(note("C0003", "same")) == first
    assert len(services(api).notifications.for_customer("C0003")) == 1


def test_the_stream_resumes_after_last_event_id_and_is_per_customer(
    api: TestClient, orch_settings: Settings  # noqa: F811
) -> None:
    made = [services(api).notifications.create(note("C0004", k)) for k in ("a", "b", "c")]
    services(api).notifications.create(note("C0002", "theirs"))
    assert [i for i, _ in stream(api, orch_settings, "C0004")] == made
    assert [i for i, _ in stream(api, orch_settings, "C0004", made[0])] == made[1:]
    assert stream(api, orch_settings, "C0004", made[2]) == []
    assert [d["title"] for _, d in stream(api, orch_settings, "C0002")] == ["title theirs"]


def test_other_scopes_get_no_notifications(api: TestClient, orch_settings: Settings) -> None:  # noqa: F811
    admin = bearer(orch_settings, "C0001", scope="admin")
    assert api.get("/v1/notifications", headers=admin).status_code == 403


def test_an_out_of_range_last_event_id_is_422(api: TestClient, orch_settings: Settings) -> None:  # noqa: F811
    for last in (str(10**30), "-1", "abc"):
        headers = bearer(orch_settings, "C0004") | {"Last-Event-ID": last}
        response = api.get("/v1/notifications/stream?follow=false", headers=headers)
        assert response.status_code == 422, (last, response.text)
        assert "Last-Event-ID" in response.json()["detail"]
    top = bearer(orch_settings, "C0004") | {"Last-Event-ID": str(2**63 - 1)}
    assert api.get("/v1/notifications/stream?follow=false", headers=top).status_code == 200


@pytest.mark.postgres
def test_an_id_committed_late_is_still_streamed_on_postgres() -> None:
    with fresh_database("advisor_notes") as url:
        service = NotificationService(url, settle_s=0.5)
        late = NotificationRow(customer_id="C0001", kind="info", title="late", body="b",
                               created_at=utcnow(), source_key="late")  # fmt: skip
        with session_scope(url) as db:
            db.add(late)
            db.flush()  # the earlier id, not committed yet
            made = service.create(note("C0001", "early-commit"))
            assert made > late.id and service.after("C0001", 0) == []  # not settled yet
        time.sleep(0.6)
        assert [n["id"] for n in service.after("C0001", 0)] == [late.id, made]
