"""/graphql: `me` only, the REST token and isolation (aliases, fragments, introspection never
reach another customer), refused scopes, and the depth, token and alias limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from advisor.api.app import create_app
from advisor.settings import Settings
from tests import fakes
from tests.conftest import bearer
from tests.orchestration_fixtures import orch_settings, template_bank  # noqa: F401
from tests.orchestration_helpers import PAYDAY, wait_for

EVERYTHING = """
query Everything {
  me {
    id
    accounts { id type balance }
    recommendations { id action score }
    notifications { id kind action { id status } }
    actions { id status }
  }
}
"""


@pytest.fixture
def api(orch_settings: Settings) -> Iterator[TestClient]:  # noqa: F811
    """The app on this test's bank, with a pending sweep proposed to C0001."""
    with TestClient(create_app(orch_settings, backend=fakes.FakeBackend())) as client:
        event = {
            "id": "evt-graphql", "type": "payroll_deposit", "customer_id": "C0001",
            "amount": "2500.00", "currency": "USD", "occurred_at": PAYDAY,
        }  # fmt: skip
        service = bearer(orch_settings, "service", scope="service")
        assert client.post("/v1/events", json=event, headers=service).status_code == 202
        wait_for(lambda: client.get("/v1/actions", headers=bearer(orch_settings, "C0001")).json())
        yield client


def ask(client: TestClient, headers: dict[str, str], query: str) -> dict[str, Any]:
    """POST a query; the JSON answer (status 200 checked)."""
    response = client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_me_answers_what_rest_answers(api: TestClient, orch_settings: Settings) -> None:  # noqa: F811
    auth = bearer(orch_settings, "C0001")
    me = ask(api, auth, EVERYTHING)["data"]["me"]
    context = api.get("/v1/customers/me/context", headers=auth).json()
    assert me["id"] == "C0001"
    assert [(a["id"], a["type"]) for a in me["accounts"]] == [
        (a["id"], a["type"]) for a in context["accounts"]
    ]
    assert all(
        Decimal(str(a["balance"])) == Decimal(str(b["balance"])).quantize(Decimal("0.01"))
        for a, b in zip(me["accounts"], context["accounts"], strict=True)
    )
    actions = api.get("/v1/actions", headers=auth).json()
    assert [(a["id"], a["status"]) for a in me["actions"]] == [
        (a["id"], a["status"]) for a in actions
    ]
    notes = api.get("/v1/notifications", headers=auth).json()
    assert [int(n["id"]) for n in me["notifications"]] == [n["id"] for n in notes]
    assert me["actions"] and me["notifications"]  # the sweep: an action and its nudge


def test_no_root_field_takes_an_argument(api: TestClient, orch_settings: Settings) -> None:  # noqa: F811
    query = "{ __schema { queryType { fields { name args { name } } } mutationType { name } } }"
    schema = ask(api, bearer(orch_settings, "C0002"), query)["data"]["__schema"]
    assert [(f["name"], f["args"]) for f in schema["queryType"]["fields"]] == [("me", [])]
    assert schema["mutationType"] is None


@pytest.mark.parametrize(
    "query",
    [
        "{ a: me { id actions { id } } b: me { id accounts { id } } }",
        "fragment Mine on Me { id actions { id status } notifications { id kind } }"
        " query { me { ...Mine } other: me { ...Mine } }",
        '{ me(id: "C0001") { id } }',  # not an argument of me: refused, nothing read
        '{ me { id accounts(customerId: "C0001") { id } } }',
        '{ __type(name: "Me") { fields { name } } me { id } }',
        "{ me { ... on Me { id actions { id } } } }",
    ],
)
def test_another_customers_token_never_reaches_c0001(
    api: TestClient,
    orch_settings: Settings,  # noqa: F811
    query: str,
) -> None:
    c0001 = ask(api, bearer(orch_settings, "C0001"), EVERYTHING)["data"]["me"]
    theirs = {c0001["id"], *(a["id"] for a in c0001["accounts"] + c0001["actions"])}
    answer = ask(api, bearer(orch_settings, "C0002"), query)
    text = json.dumps(answer)
    assert not any(secret in text for secret in theirs), text
    for value in (answer.get("data") or {}).values():
        if isinstance(value, dict) and "id" in value:
            assert value["id"] == "C0002"


def test_tokens_other_than_a_customers_are_refused(
    api: TestClient,
    orch_settings: Settings,  # noqa: F811
) -> None:
    body = {"query": "{ me { id } }"}
    assert api.post("/graphql", json=body).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert api.post("/graphql", json=body, headers=bad).status_code == 401
    for scope in ("service", "ops"):
        refused = api.post("/graphql", json=body, headers=bearer(orch_settings, scope, scope=scope))
        assert refused.status_code == 403, scope


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("{ me { notifications { action { id } } } }", "exceeds maximum operation depth"),
        ("{ " + " ".join(f"a{i}: me {{ id }}" for i in range(6)) + " }", "aliases"),
        ("{ me { " + "id " * 400 + "} }", "token"),
    ],
)
def test_queries_over_the_limits_are_refused(
    tmp_path: Any,
    orch_settings: Settings,  # noqa: F811
    query: str,
    reason: str,
) -> None:
    limited = orch_settings.model_copy(
        update={"graphql_max_depth": 2, "graphql_max_aliases": 5, "graphql_max_tokens": 300}
    )
    with TestClient(create_app(limited, backend=fakes.FakeBackend())) as client:
        answer = ask(client, bearer(limited, "C0001"), query)
    assert answer.get("data") is None
    assert reason in answer["errors"][0]["message"], answer


def test_no_ide_page_in_any_profile(api: TestClient, orch_settings: Settings) -> None:  # noqa: F811
    # GraphiQL's page loads its scripts from a CDN: a bank's advisor makes no outbound call.
    dev = orch_settings.model_copy(update={"profile": "development"})
    with TestClient(create_app(dev, backend=fakes.FakeBackend())) as client:
        for served in (api, client):
            page = served.get("/graphql", headers={"Accept": "text/html"})
            assert page.status_code != 200 and "graphiql" not in page.text.lower()


def test_aliases_of_recommendations_make_one_list(api: TestClient, orch_settings: Settings) -> None:  # noqa: F811
    # Each list made is logged as served (and feeds the bandit): aliases must not multiply it.
    from sqlalchemy import func, select

    from advisor.decisions.traces import DecisionTrace
    from portfolio_context.db import session_scope

    def traces() -> int:
        with session_scope(orch_settings.resolved_database_url) as db:
            return int(db.scalar(select(func.count()).select_from(DecisionTrace)) or 0)

    auth = bearer(orch_settings, "C0001")
    before = traces()
    ask(api, auth, "{ me { recommendations { id } } }")
    one = traces() - before
    aliased = (
        "{ me { a: recommendations { id } b: recommendations { id } c: recommendations { id } } }"
    )
    answer = ask(api, auth, aliased)["data"]["me"]
    assert one > 0 and traces() - before == 2 * one
    assert answer["a"] == answer["b"] == answer["c"]
