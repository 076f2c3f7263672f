"""GET /metrics: the ops scope only, Prometheus text, and what a turn, a request, a served score
and a workflow leave in it; each app keeps its own registry."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from advisor.api.app import create_app
from advisor.auth import verify_token
from advisor.cli import app as cli_app
from advisor.decisions.propensity import Propensity
from advisor.ops.metrics import OpsMetrics, TurnSeen, Using, fallback_kind, scored
from advisor.settings import Settings, get_settings
from tests.conftest import bearer
from tests.fakes import FakeBackend
from tests.orchestration_fixtures import api, orch_settings, template_bank  # noqa: F401
from tests.orchestration_helpers import PAYDAY, wait_for
from tests.sse import chat_events, done

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def ops(settings: Settings) -> dict[str, str]:
    """An ops token's header."""
    return bearer(settings, "ops", scope="ops")


def samples(client: TestClient, settings: Settings) -> Samples:
    """Every sample of /metrics by (name, sorted labels)."""
    response = client.get("/metrics", headers=ops(settings))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    return sum(v for (n, ls), v in found.items() if n == name and set(labels.items()) <= set(ls))


def test_metrics_answer_only_an_ops_token(client: TestClient, settings: Settings) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    for header in (bearer(settings, "C0001"), bearer(settings, "service", scope="service")):
        refused = client.get("/metrics", headers=header)
        assert refused.status_code == 403 and "ops scope" in refused.json()["detail"]
    assert client.get("/metrics", headers=ops(settings)).status_code == 200


def test_an_ops_token_reaches_no_customer_route(client: TestClient, settings: Settings) -> None:
    for path in ("/v1/customers/me/context", "/v1/customers/me/recommendations", "/v1/actions"):
        assert client.get(path, headers=ops(settings)).status_code == 403, path


def test_a_turn_and_its_request_are_counted(client: TestClient, settings: Settings) -> None:
    auth = bearer(settings, "C0001")
    events = chat_events(client, auth, "What's my checking balance?")
    end = done(events)
    client.get("/v1/no/such/route/C0002")
    found = samples(client, settings)
    turn = {"plan": end["plan"], "finish_reason": end["finish_reason"]}
    assert value(found, "advisor_chat_turns_total", **turn, grounding=end["grounding"]) == 1
    assert value(found, "advisor_http_requests_total", route="/v1/chat", status="200") == 1
    assert value(found, "advisor_http_requests_total", route="unmatched", status="404") == 1
    assert not any("C0002" in str(labels) for _, labels in found)  # no raw paths as labels
    assert value(found, "advisor_chat_first_visible_token_seconds_count") == 1


def test_the_engine_gates_503_and_the_body_limits_413_are_counted_once(
    settings: Settings,
) -> None:
    full = FakeBackend()
    full.capacity, full.retry_after_s = 0, 1  # type: ignore[attr-defined]  # every turn refused
    auth = bearer(settings, "C0001")
    with TestClient(create_app(settings, backend=full)) as client:
        busy = client.post("/v1/chat", json={"message": "balance?"}, headers=auth)
        big = client.post(
            "/v1/actions/act_secret42/confirm",
            content=b"x" * (settings.max_body_bytes + 1), headers=auth,
        )  # fmt: skip
        found = samples(client, settings)
    assert busy.status_code == 503 and big.status_code == 413
    assert value(found, "advisor_http_requests_total", route="/v1/chat", status="503") == 1
    confirm = "/v1/actions/{action_id}/confirm"
    assert value(found, "advisor_http_requests_total", route=confirm, status="413") == 1
    assert value(found, "advisor_http_requests_total") == 2  # each once; the scrape comes after
    assert value(found, "advisor_http_request_seconds_count") == 2
    assert not any("secret42" in str(labels) for _, labels in found)


def test_rail_interventions_are_counted_by_rule(client: TestClient, settings: Settings) -> None:
    events = chat_events(client, bearer(settings, "C0001"), "My SSN is 123-45-6789, balance?")
    rules = [data["rule"] for name, data in events if name == "guard"]
    assert rules, "the message carries PII: a rail must act"
    found = samples(client, settings)
    for rule in set(rules):
        assert value(found, "advisor_rail_interventions_total", rule=rule) == rules.count(rule)


def test_workflow_states_are_read_from_the_tables(api: TestClient, orch_settings: Settings) -> None:  # noqa: F811
    event = {
        "id": "evt-metrics", "type": "payroll_deposit", "customer_id": "C0001",
        "amount": "2500.00", "currency": "USD", "occurred_at": PAYDAY,
    }  # fmt: skip
    service = bearer(orch_settings, "service", scope="service")
    assert api.post("/v1/events", json=event, headers=service).status_code == 202
    found = wait_for(lambda: _with_action(api, orch_settings))
    assert value(found, "advisor_actions", status="pending") >= 1
    assert value(found, "advisor_workflows") >= 1


def _with_action(client: TestClient, settings: Settings) -> Samples | None:
    """The metrics once an action was proposed."""
    found = samples(client, settings)
    return found if value(found, "advisor_actions") else None


def test_each_app_keeps_its_own_registry() -> None:
    first, second = OpsMetrics(), OpsMetrics()
    first.turn(TurnSeen(done={"plan": "facts", "finish_reason": "stop", "grounding": "model"}))
    assert b'advisor_chat_turns_total{finish_reason="stop"' in first.render()
    assert b"advisor_chat_turns_total{" not in second.render()


def test_served_model_scores_go_to_the_current_app_only() -> None:
    metrics = OpsMetrics()
    found = [
        Propensity("credit_risk", 0.12, "credit-risk", 3),
        Propensity("home", 0.3),  # the policy's default: no model served it
    ]
    scored(found)  # outside a request: nowhere to count, nothing fails
    with Using(metrics):
        scored(found)
    text = metrics.render().decode()
    assert re.search(r'advisor_model_score_count\{model="credit-risk"\} 1\.0', text)
    assert 'model="None"' not in text and "home" not in text


def test_fallback_reasons_get_bounded_labels() -> None:
    assert fallback_kind("deadline: no verified sentence in time") == "deadline"
    assert fallback_kind("unsupported sentence: names $12") == "unsupported_sentence"
    assert fallback_kind("canary leaked") == "rail"


def test_cli_ops_token_names_no_customer(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("ADVISOR_JWT_SECRET", str(settings.jwt_secret))
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    try:
        made = CliRunner().invoke(cli_app, ["token", "--scope", "ops"])
        assert made.exit_code == 0, made.output
        principal = verify_token(settings, made.output.strip())
        assert (principal.scope, principal.customer_id) == ("ops", "ops")
        refused = CliRunner().invoke(cli_app, ["token", "--scope", "ops", "--customer", "C0001"])
        assert refused.exit_code == 2 and "--scope ops names no customer" in refused.output
    finally:
        get_settings.cache_clear()
