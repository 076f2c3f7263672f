"""ADVISOR_CORS_ORIGINS: listed host origins may call the API from a browser; no others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from advisor.api.app import create_app
from advisor.settings import Settings
from tests.conftest import make_settings
from tests.fakes import FakeBackend

HOST = "http://127.0.0.1:8123"
OTHER = "http://evil.example"
PREFLIGHT_HEADERS = "authorization,content-type,last-event-id,idempotency-key"


@pytest.fixture
def cors(tmp_path: Path, bank_url: str) -> Iterator[TestClient]:
    """The app allowing one host origin."""
    settings = make_settings(tmp_path, bank_url, cors_origins=[HOST, "http://localhost:9000"])
    with TestClient(create_app(settings, backend=FakeBackend())) as client:
        yield client


@pytest.mark.parametrize(("origin", "allowed"), [(HOST, True), (OTHER, False)])
def test_a_simple_request_is_allowed_only_from_a_listed_origin(
    cors: TestClient, origin: str, allowed: bool
) -> None:
    answer = cors.get("/v1/limits", headers={"Origin": origin})
    assert answer.status_code == 200
    assert answer.headers.get("access-control-allow-origin") == (origin if allowed else None)


@pytest.mark.parametrize(
    ("origin", "path", "status", "allowed"),
    [
        (HOST, "/v1/chat", 200, True),
        (HOST, "/v1/feedback", 200, True),
        (HOST, "/v1/actions/x/confirm", 200, True),
        (OTHER, "/v1/chat", 400, False),
    ],
)
def test_preflight_allows_the_widgets_headers_for_listed_origins(
    cors: TestClient, origin: str, path: str, status: int, allowed: bool
) -> None:
    answer = cors.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": PREFLIGHT_HEADERS,
        },
    )
    assert answer.status_code == status
    assert answer.headers.get("access-control-allow-origin") == (origin if allowed else None)
    if allowed:
        granted = answer.headers["access-control-allow-headers"].lower()
        assert all(h in granted for h in PREFLIGHT_HEADERS.split(","))


def test_no_origin_is_allowed_by_default(client: TestClient) -> None:
    answer = client.get("/v1/limits", headers={"Origin": HOST})
    assert "access-control-allow-origin" not in answer.headers
    preflight = client.options(
        "/v1/chat", headers={"Origin": HOST, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("http://a.example", ["http://a.example"]),
        (
            "http://a.example, http://127.0.0.1:9000 ,",
            ["http://a.example", "http://127.0.0.1:9000"],
        ),
        ("", []),
    ],
)
def test_the_environment_lists_origins_comma_separated(
    monkeypatch: pytest.MonkeyPatch, raw: str, parsed: list[str]
) -> None:
    monkeypatch.setenv("ADVISOR_CORS_ORIGINS", raw)
    assert Settings().cors_origins == parsed


@pytest.mark.parametrize(
    "origin", ["*", "https://bank.example/", "https://bank.example/app", "bank.example", "null"]
)
def test_an_origin_that_would_never_match_or_matches_everything_is_refused(
    tmp_path: Path, bank_url: str, origin: str
) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        make_settings(tmp_path, bank_url, cors_origins=[HOST, origin])
