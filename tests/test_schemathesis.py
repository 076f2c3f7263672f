"""Schemathesis against the OpenAPI spec, in process on the fake back-end: no 5xx, and every
status, content type and body is one the spec documents (bounded examples per operation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from advisor.api.app import create_app
from advisor.auth import issue_token
from advisor.predict.registry import Registry
from advisor.settings import Settings
from advisor.training.credit_risk_train import register_model
from retrieval.index import CorpusIndex, chroma_client
from retrieval.products import product_chunks
from tests import fakes
from tests.conftest import make_settings
from tests.credit_fixtures import synthetic_table
from tests.test_router_trained import router_dir  # noqa: F401  (the small trained router)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 25
INDEXED = 12
# The spec is read without starting the app (no services are built to write it).
SPEC = create_app(Settings()).openapi()
schema = schemathesis.openapi.from_dict(SPEC)


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory,
    bank_url: str,
    router_dir: Path,  # noqa: F811
) -> FastAPI:
    """The app on the seeded bank, a small index and the small trained router (so search and
    route answer instead of "run advisor ingest / train router"); schemathesis runs its
    lifespan on the first call."""
    var: Path = tmp_path_factory.mktemp("schemathesis")
    CorpusIndex(chroma_client(var / "chroma", None)).ingest(product_chunks()[:INDEXED])
    register_model(Registry(var / "models" / "registry"), synthetic_table(), 0.0)  # credit-risk
    settings = make_settings(var, bank_url, router_model_dir=router_dir)
    built = create_app(settings, backend=fakes.FakeBackend())
    assert built.openapi() == SPEC
    return built


@pytest.fixture(scope="module")
def customer(tmp_path_factory: pytest.TempPathFactory, bank_url: str) -> dict[str, str]:
    """A customer's bearer token (the test secret signs every test's tokens)."""
    token = issue_token(make_settings(tmp_path_factory.mktemp("token"), bank_url), "C0001")
    return {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure here is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_spec(
    case: schemathesis.Case[Any], app: FastAPI, customer: dict[str, str]
) -> None:
    case.call_and_validate(app=app, headers=customer, checks=CHECKS)
