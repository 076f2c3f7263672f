"""Bad input gets a clear 4xx with a reason, nothing is written, the server keeps serving."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from advisor.settings import Settings
from advisor.store import ChatTurn
from portfolio_context.db import session_scope
from tests.sse import chat_events, done


def turn_count(settings: Settings) -> int:
    """How many chat turns the store holds."""
    with session_scope(settings.resolved_database_url) as db:
        return int(db.scalar(select(func.count()).select_from(ChatTurn)) or 0)


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"message": ""}, 422, "message is empty"),
        ({"message": "   \n "}, 422, "message is empty"),
        ({"message": "x" * 2001}, 413, "limit is 2000"),
        ({"message": "balance\x00\x01"}, 422, "binary or control characters"),
        ({"message": 42}, 422, "string"),
        ({}, 422, "message"),
        ({"message": "hi", "session_id": "no-such-session"}, 404, "unknown session_id"),
        ({"message": "hi", "session_id": "s" * 65}, 422, "64"),
    ],
)
def test_bad_chat_body(
    client: TestClient,
    auth: dict[str, str],
    settings: Settings,
    body: dict[str, object],
    status: int,
    reason: str,
) -> None:
    before = turn_count(settings)
    response = client.post("/v1/chat", json=body, headers=auth)
    assert response.status_code == status
    assert reason in str(response.json()["detail"])
    assert turn_count(settings) == before
    assert client.get("/healthz").status_code == 200


def test_malformed_json(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/chat", content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "json" in str(response.json()["detail"]).lower()


def test_binary_body(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/chat", content=bytes(range(256)), headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_huge_body_is_refused_before_parsing(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    response = client.post(
        "/v1/chat", json={"message": "a" * (settings.max_body_bytes + 10)}, headers=auth
    )
    assert response.status_code == 413
    assert "bytes" in response.json()["detail"]


def test_server_keeps_serving_after_bad_input(client: TestClient, auth: dict[str, str]) -> None:
    for _ in range(3):
        client.post("/v1/chat", json={"message": ""}, headers=auth)
    assert done(chat_events(client, auth, "What's my savings balance?"))["text"]
