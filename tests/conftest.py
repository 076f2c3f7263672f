"""Shared fixtures: a seeded bank, settings under a temp dir, the app on the fake back-end."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("ADVISOR_PROFILE", "test")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
from fastapi.testclient import TestClient

from advisor.api.app import create_app
from advisor.auth import issue_token
from advisor.rails.pii.redactor import PiiRedactor
from advisor.settings import Settings
from portfolio_context.seed import seed_bank
from tests import fakes

AS_OF = dt.date(2026, 11, 28)
CUSTOMERS = 8
fakes.register()


@pytest.fixture(scope="session")
def bank_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite bank seeded once per test session."""
    path = tmp_path_factory.mktemp("bank") / "bank.db"
    url = f"sqlite:///{path}"
    seed_bank(url, CUSTOMERS, 42, AS_OF)
    return url


def make_settings(var_dir: Path, url: str, **extra: object) -> Settings:
    """Settings for a test: its own var dir and secret."""
    return Settings(
        var_dir=var_dir, database_url=url, jwt_secret="test-secret-" + "x" * 32, **extra
    )  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, bank_url: str) -> Settings:
    """Test settings on the shared bank, fake back-end."""
    return make_settings(tmp_path, bank_url)


@pytest.fixture(scope="session")
def redactor() -> PiiRedactor:
    """The redactor of the shipped policy, loaded once (spaCy and Presidio take seconds)."""
    return PiiRedactor.from_settings(Settings())


@pytest.fixture
def fake() -> fakes.FakeBackend:
    """A fresh fake back-end instance."""
    return fakes.FakeBackend()


@pytest.fixture
def client(settings: Settings, fake: fakes.FakeBackend) -> Iterator[TestClient]:
    """The app on the fake back-end, lifespan run."""
    with TestClient(create_app(settings, backend=fake)) as test_client:
        yield test_client


@pytest.fixture
def auth(settings: Settings) -> dict[str, str]:
    """Authorization header for customer C0001."""
    return {"Authorization": f"Bearer {issue_token(settings, 'C0001')}"}


def bearer(settings: Settings, customer: str, **kwargs: object) -> dict[str, str]:
    """Authorization header for any customer."""
    return {"Authorization": f"Bearer {issue_token(settings, customer, **kwargs)}"}  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def corpus_var(request: pytest.FixtureRequest) -> Path:
    """A var dir holding the full corpus index, kept in the pytest cache between runs.

    Ingestion is incremental by content hash, so only the first run (or a changed corpus)
    pays for embedding.
    """
    from retrieval.service import RetrievalService

    cache = request.config.cache
    assert cache is not None
    var = Path(cache.mkdir("advisor-corpus-index"))
    RetrievalService(var, None, Settings().shared_data_dir / "regulations").ingest()
    return var
