"""Services replaced through FastAPI's dependency_overrides, as a bank's own tests would."""

from __future__ import annotations

from fastapi.testclient import TestClient

from advisor.api.deps import get_chat, get_rails, get_router
from advisor.chat.service import ChatService
from advisor.context_service import ContextService
from advisor.settings import Settings
from tests.fakes import FakeBackend
from tests.sse import chat_events, done


def test_without_a_router_route_answers_503(client: TestClient, auth: dict[str, str]) -> None:
    client.app.dependency_overrides[get_router] = lambda: None  # type: ignore[attr-defined]
    response = client.post("/v1/route", json={"text": "my card has not arrived"}, headers=auth)
    assert response.status_code == 503 and "advisor train router" in response.text


def test_without_rails_redact_answers_503(client: TestClient, settings: Settings) -> None:
    from tests.conftest import bearer

    client.app.dependency_overrides[get_rails] = lambda: None  # type: ignore[attr-defined]
    admin = bearer(settings, "admin", scope="admin")
    assert client.post("/v1/redact", json={"text": "x"}, headers=admin).status_code == 503


def test_a_chat_service_without_rails_still_checks_every_sentence(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    fake = FakeBackend()
    fake.script = lambda request: "Your balance is $1.00. That is great!"
    bare = ChatService(settings, ContextService(settings.resolved_database_url, 500.0), fake)
    client.app.dependency_overrides[get_chat] = lambda: bare  # type: ignore[attr-defined]
    events = chat_events(client, auth, "What's my checking balance?")
    final = done(events)
    assert fake.requests and final["grounding"] == "fallback"
    assert "$1.00" not in final["text"] and not [n for n, _ in events if n == "guard"]
