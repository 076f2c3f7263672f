"""Development-only routes: seeded customers and short-lived tokens, absent in other profiles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from advisor.api.app import create_app
from advisor.settings import Settings
from tests.conftest import CUSTOMERS, make_settings
from tests.fakes import FakeBackend

DEV_ROUTES = [
    ("GET", "/v1/dev/customers", None),
    ("POST", "/v1/dev/token", {"customer_id": "C0001"}),
]


@pytest.fixture
def dev(tmp_path: Path, bank_url: str) -> Iterator[TestClient]:
    """The app with the development routes on."""
    settings = make_settings(tmp_path, bank_url, dev_routes=True)
    with TestClient(create_app(settings, backend=FakeBackend())) as client:
        yield client


def test_customers_lists_every_seeded_customer(dev: TestClient) -> None:
    listed = dev.get("/v1/dev/customers").json()
    assert [c["id"] for c in listed] == [f"C{i:04d}" for i in range(1, CUSTOMERS + 1)]
    assert all(set(c) == {"id", "name"} and c["name"] for c in listed)


def test_a_dev_token_is_short_lived_and_acts_for_that_customer(
    dev: TestClient, tmp_path: Path
) -> None:
    token = dev.post("/v1/dev/token", json={"customer_id": "C0003"}).json()["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["scope"]) == ("C0003", "customer")
    assert claims["exp"] - claims["iat"] <= 3600
    context = dev.get("/v1/customers/me/context", headers={"Authorization": f"Bearer {token}"})
    assert context.status_code == 200
    assert {a["id"][:5] for a in context.json()["accounts"]} == {"C0003"}


@pytest.mark.parametrize(
    ("body", "status"),
    [({"customer_id": "C9999"}, 404), ({"customer_id": ""}, 422), ({}, 422),
     ({"customer_id": "x" * 17}, 422)],
)  # fmt: skip
def test_a_token_for_no_customer_is_refused(dev: TestClient, body: object, status: int) -> None:
    assert dev.post("/v1/dev/token", json=body).status_code == status


@pytest.mark.parametrize(("method", "path", "body"), DEV_ROUTES)
def test_without_dev_routes_they_do_not_exist(
    client: TestClient, method: str, path: str, body: object
) -> None:
    assert client.request(method, path, json=body).status_code == 404
    assert path not in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("profile", "on"), [("development", True), ("test", False), ("default", False)]
)
def test_only_the_development_profile_turns_them_on(
    monkeypatch: pytest.MonkeyPatch, profile: str, on: bool
) -> None:
    monkeypatch.setenv("ADVISOR_PROFILE", profile)
    monkeypatch.delenv("ADVISOR_DEV_ROUTES", raising=False)
    assert Settings().dev_routes is on


@pytest.mark.parametrize("profile", ["default", "production"])
def test_switching_them_on_outside_development_is_refused(
    monkeypatch: pytest.MonkeyPatch, profile: str
) -> None:
    # The demo's token route mints a customer token without authentication: never in production.
    monkeypatch.setenv("ADVISOR_PROFILE", "default")
    monkeypatch.setenv("ADVISOR_DEV_ROUTES", "true")
    with pytest.raises(ValidationError, match="development profile only"):
        Settings(profile=profile)
