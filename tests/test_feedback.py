"""POST /v1/feedback: thumbs on the customer's own answers, one row per turn and customer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from advisor.api.app import create_app
from advisor.feedback import FeedbackStore
from advisor.settings import Settings
from tests.conftest import bearer, make_settings
from tests.fakes import FakeBackend
from tests.sse import chat_events, done


def answered_turn(client: TestClient, headers: dict[str, str]) -> int:
    """Ask one question; the stored turn's id from the `done` event."""
    turn_id = done(chat_events(client, headers, "What's my checking balance?"))["turn_id"]
    assert isinstance(turn_id, int) and turn_id > 0
    return turn_id


def rows_for(settings: Settings, turn_id: int) -> list[Any]:
    """Every stored rating of a turn."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    return [f for f in FeedbackStore.from_settings(settings).since(since) if f.turn_id == turn_id]


def test_a_rating_is_stored_with_the_turn_and_a_second_replaces_it(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    turn_id = answered_turn(client, auth)
    first = client.post("/v1/feedback", json={"turn_id": turn_id, "rating": "up"}, headers=auth)
    assert first.status_code == 200, first.text
    assert first.json()["rating"] == "up" and first.json()["comment"] is None
    again = {"turn_id": turn_id, "rating": "down", "comment": "the figure was stale"}
    assert client.post("/v1/feedback", json=again, headers=auth).status_code == 200
    [row] = rows_for(settings, turn_id)
    assert (row.customer_id, row.rating, row.comment) == ("C0001", "down", "the figure was stale")
    assert row.created_at.tzinfo is not None


def test_since_returns_only_ratings_from_then_on(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    turn_id = answered_turn(client, auth)
    client.post("/v1/feedback", json={"turn_id": turn_id, "rating": "up"}, headers=auth)
    store = FeedbackStore.from_settings(settings)
    assert turn_id in [f.turn_id for f in store.since(dt.datetime.now(dt.UTC) - dt.timedelta(1))]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert store.since(later) == []
    naive = (dt.datetime.now(dt.UTC) - dt.timedelta(1)).replace(tzinfo=None)  # taken as UTC
    assert turn_id in [f.turn_id for f in store.since(naive)]


def test_another_customers_turn_is_404_like_an_unknown_one(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    turn_id = answered_turn(client, auth)
    other = bearer(settings, "C0002")
    theirs = client.post("/v1/feedback", json={"turn_id": turn_id, "rating": "up"}, headers=other)
    unknown = client.post("/v1/feedback", json={"turn_id": 10**12, "rating": "up"}, headers=auth)
    assert (theirs.status_code, unknown.status_code) == (404, 404)
    assert theirs.json()["detail"] == f"unknown turn_id {turn_id}"
    assert rows_for(settings, turn_id) == []


BAD_BODIES = [
    ({"rating": "sideways"}, 422, "rating"),
    ({"rating": "UP"}, 422, "rating"),
    ({"rating": None}, 422, "rating"),
    ({"rating": "up", "comment": "x" * 1001}, 422, "comment"),
    ({"rating": "up", "comment": 5}, 422, "comment"),
    ({"rating": "up", "turn_id": 0}, 422, "turn_id"),
    ({"rating": "up", "turn_id": "abc"}, 422, "turn_id"),
]


@pytest.mark.parametrize(("body", "status", "field"), BAD_BODIES)
def test_bad_feedback_is_refused_and_nothing_is_stored(
    client: TestClient,
    auth: dict[str, str],
    settings: Settings,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    turn_id = answered_turn(client, auth)
    answer = client.post("/v1/feedback", json={"turn_id": turn_id, **body}, headers=auth)
    assert answer.status_code == status
    assert field in [e["loc"][-1] for e in answer.json()["errors"]]
    assert rows_for(settings, turn_id) == []


def test_a_comment_of_exactly_the_limit_is_kept(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    turn_id = answered_turn(client, auth)
    body = {"turn_id": turn_id, "rating": "down", "comment": "y" * 1000}
    assert client.post("/v1/feedback", json=body, headers=auth).status_code == 200
    assert rows_for(settings, turn_id)[0].comment == "y" * 1000


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer nope"}, 401)],
)
def test_feedback_needs_a_customer_token(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    answer = client.post("/v1/feedback", json={"turn_id": 1, "rating": "up"}, headers=headers)
    assert answer.status_code == status


def test_a_service_token_rates_nothing(client: TestClient, settings: Settings) -> None:
    service = bearer(settings, "service", scope="service")
    answer = client.post("/v1/feedback", json={"turn_id": 1, "rating": "up"}, headers=service)
    assert answer.status_code == 403


def test_limits_need_no_token_and_follow_the_settings(tmp_path: Path, bank_url: str) -> None:
    settings = make_settings(tmp_path, bank_url, max_message_chars=321)
    with TestClient(create_app(settings, backend=FakeBackend())) as client:
        body = client.get("/v1/limits").json()
    assert body == {"max_message_chars": 321, "max_feedback_comment_chars": 1000}
