"""Fixtures for the orchestration tests: a bank of their own per test (they move money)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from advisor.api.app import create_app
from advisor.auth import SERVICE_SUBJECT, issue_token
from advisor.orchestration import runtime
from advisor.settings import RailsSettings, Settings
from portfolio_context.db import engine_for
from portfolio_context.seed import seed_bank
from tests import fakes
from tests.conftest import AS_OF, make_settings
from tests.orchestration_helpers import (  # noqa: F401  (re-exported for the tests)
    PAYDAY,
    balance,
    outcome,
    payroll,
    postings,
    wait_for,
)


@pytest.fixture(scope="module")
def template_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four seeded customers, copied for each test (the tests post to the ledger)."""
    path = tmp_path_factory.mktemp("orch_bank") / "bank.db"
    seed_bank(f"sqlite:///{path}", 4, 42, AS_OF)
    engine_for(f"sqlite:///{path}").dispose()  # the last connection checkpoints the WAL
    assert not path.with_name("bank.db-wal").exists()
    return path


def settings_on_copy(tmp_path: Path, template: Path, **extra: Any) -> Settings:
    """Settings on a fresh copy of the template bank, rails off (not what these tests test)."""
    path = tmp_path / "bank.db"
    shutil.copy(template, path)
    return make_settings(tmp_path, f"sqlite:///{path}", rails=RailsSettings(enabled=False), **extra)


@pytest.fixture
def orch_settings(tmp_path: Path, template_bank: Path) -> Settings:
    """Settings on this test's own bank."""
    return settings_on_copy(tmp_path, template_bank)


@pytest.fixture
def orch(orch_settings: Settings) -> Iterator[runtime.Orchestration]:
    """The orchestration with DBOS launched on this test's var dir."""
    with runtime.running(orch_settings) as services:
        yield services


@pytest.fixture
def api(orch_settings: Settings) -> Iterator[TestClient]:
    """The whole app (fake model, rails off) on this test's bank."""
    with TestClient(create_app(orch_settings, backend=fakes.FakeBackend())) as client:
        yield client


def service_auth(settings: Settings) -> dict[str, str]:
    """A service token's header."""
    return {"Authorization": f"Bearer {issue_token(settings, SERVICE_SUBJECT, 'service')}"}
