"""GET /v1/notifications (the issue's shape, unread first) and the resumable SSE stream."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from advisor.orchestration.notifications import NewNotification
from advisor.orchestration.runtime import Orchestration
from advisor.settings import Settings
from tests.conftest import bearer
from tests.orchestration_fixtures import (  # noqa: F401  (fixtures)
    api,
    orch_settings,
    payroll,
    template_bank,
    wait_for,
)

KEYS = {"id", "kind", "title", "body", "created_at", "read", "event_id", "facts", "action"}
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
