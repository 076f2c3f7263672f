"""A credit-limit request in chat goes the way of POST /v1/credit-limit/requests: a raise makes
its contract, pending action (the stream's `action` event) and notification, and confirming it
raises the limit once; asking again in the session restates the pending offer (no second
decision or notification), another session or amount supersedes it; a decline keeps its
reasons."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS
from fastapi.testclient import TestClient

from advisor.api.app import create_app
from advisor.orchestration.audit import AuditLog
from advisor.predict.registry import Registry
from advisor.settings import RailsSettings, Settings
from advisor.training.credit_risk_train import register_model
from portfolio_context.db import engine_for, session_scope
from portfolio_context.models import Account
from tests import fakes
from tests.conftest import bearer, make_settings
from tests.credit_fixtures import DELINQUENT, GOOD, prepare_bank, synthetic_table
from tests.sse import chat_events, done

CARD = f"{GOOD}-CRE"
ASK = "Can you raise my credit limit?"
Events = list[tuple[str, dict[str, Any]]]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chat_credit")
    register_model(Registry(root / "models" / "registry"), synthetic_table(), 0.0)
    prepare_bank(f"sqlite:///{root / 'bank.db'}")
    engine_for(f"sqlite:///{root / 'bank.db'}").dispose()
    return root


@pytest.fixture
def bank(tmp_path: Path, template: Path) -> Iterator[tuple[TestClient, Settings]]:
    """The app (fake model, rails off) with DBOS on this test's own bank and registry."""
    shutil.copy(template / "bank.db", tmp_path / "bank.db")
    shutil.copytree(template / "models", tmp_path / "models")
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'bank.db'}",
                             rails=RailsSettings(enabled=False))  # fmt: skip
    with TestClient(create_app(settings, backend=fakes.FakeBackend())) as client:
        yield client, settings


def actions_of(events: Events) -> list[dict[str, Any]]:
    return [data for name, data in events if name == "action"]


def card_limit(settings: Settings) -> Decimal | None:
    with session_scope(settings.resolved_database_url) as db:
        found = db.get(Account, CARD)
        assert found is not None
        return found.credit_limit


def confirm(client: TestClient, settings: Settings, action_id: str, key: str) -> dict[str, Any]:
    headers = bearer(settings, GOOD) | {"Idempotency-Key": key}
    answer = client.post(f"/v1/actions/{action_id}/confirm", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_raise_in_chat_makes_the_offer_and_confirming_raises_once(
    bank: tuple[TestClient, Settings],
) -> None:
    client, settings = bank
    events = chat_events(client, bearer(settings, GOOD), ASK)
    [action] = actions_of(events)
    final = done(events)
    names = [name for name, _ in events]
    assert names.index("action") < names.index("done")
    assert (action["kind"], action["status"], action["to"], action["from"]) == (
        "credit_limit_change", "pending", CARD, None)  # fmt: skip
    assert action["confirm"]["url"] == f"/v1/actions/{action['id']}/confirm"
    (trace_id,) = final["decision_trace_ids"]
    assert final["plan"] == "facts" and "credit.offer_expires" in final["facts"]
    assert "nothing changes until you confirm" in final["text"]
    [note] = client.get("/v1/notifications", headers=bearer(settings, GOOD)).json()
    assert note["kind"] == "credit_limit_offer" and note["action"]["id"] == action["id"]
    assert note["trace_id"] == trace_id
    contract = next(f for f in note["facts"] if f["id"] == "credit.contract")["value"]
    pdf = client.get(contract, headers=bearer(settings, GOOD))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    wait = DBOS.get_workflow_status(f"credit_offer:{trace_id}")
    assert wait is not None and wait.status == "PENDING"
    assert card_limit(settings) == Decimal(5000)
    assert confirm(client, settings, action["id"], "c-1")["status"] == "executed"
    assert confirm(client, settings, action["id"], "c-2")["status"] == "executed"
    assert card_limit(settings) == Decimal(action["amount"])
    log = [(e.kind, e.subject) for e in AuditLog.from_settings(settings).entries()]
    assert log.count(("execution", f"action/{action['id']}")) == 1
    assert log.count(("decision", f"trace/{trace_id}")) == 1


def notes_of(client: TestClient, settings: Settings) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(
        "/v1/notifications", headers=bearer(settings, GOOD)
    ).json()
    return found


def decisions_of(settings: Settings) -> int:
    return sum(e.kind == "decision" for e in AuditLog.from_settings(settings).entries())


@pytest.mark.parametrize("again", [ASK, "I'd like a higher limit on my card"])
def test_asking_again_in_the_session_restates_the_pending_offer(
    bank: tuple[TestClient, Settings], again: str
) -> None:
    client, settings = bank
    first_events = chat_events(client, bearer(settings, GOOD), ASK)
    session, (trace_id,) = (done(first_events)[k] for k in ("session_id", "decision_trace_ids"))
    [first] = actions_of(first_events)
    offered = f"to ${Decimal(first['amount']):,.2f}"
    for _ in range(2):  # a repeat, then a retry: neither decides nor notifies again
        events = chat_events(client, bearer(settings, GOOD), again, session)
        assert actions_of(events) == [first]
        final = done(events)
        assert final["decision_trace_ids"] == [trace_id]
        assert "already have this offer" in final["text"] and offered in final["text"]
        assert "credit.new_limit" in final["facts"] and "credit.offer_expires" in final["facts"]
    assert [n["action"]["id"] for n in notes_of(client, settings)] == [first["id"]]
    assert decisions_of(settings) == 1
    assert confirm(client, settings, first["id"], "once")["status"] == "executed"
    assert card_limit(settings) == Decimal(first["amount"])


def test_another_session_or_amount_decides_anew_and_leaves_one_live_offer(
    bank: tuple[TestClient, Settings],
) -> None:
    client, settings = bank
    first_events = chat_events(client, bearer(settings, GOOD), ASK)
    session = done(first_events)["session_id"]
    [first] = actions_of(first_events)
    [second] = actions_of(chat_events(client, bearer(settings, GOOD), ASK))  # a new session
    [third] = actions_of(chat_events(
        client, bearer(settings, GOOD), "increase my credit limit to $5500 please", session
    ))  # fmt: skip
    assert len({first["id"], second["id"], third["id"]}) == 3
    states = {a["id"]: a["status"] for a in
              client.get("/v1/actions", headers=bearer(settings, GOOD)).json()}  # fmt: skip
    assert states == {first["id"]: "expired", second["id"]: "expired", third["id"]: "pending"}
    assert len(notes_of(client, settings)) == 3 and decisions_of(settings) == 3
    assert confirm(client, settings, first["id"], "old")["status"] == "expired"
    assert card_limit(settings) == Decimal(5000)
    assert confirm(client, settings, third["id"], "new")["status"] == "executed"
    assert card_limit(settings) == Decimal(third["amount"])


def test_a_decline_in_chat_keeps_its_reasons_and_offers_nothing(
    bank: tuple[TestClient, Settings],
) -> None:
    client, settings = bank
    events = chat_events(client, bearer(settings, DELINQUENT), ASK)
    final = done(events)
    assert actions_of(events) == []
    assert "Delinquent past or present credit obligations with others" in final["text"]
    assert "credit.reason_1" in final["facts"] and len(final["decision_trace_ids"]) == 1
    assert client.get("/v1/notifications", headers=bearer(settings, DELINQUENT)).json() == []
    assert client.get("/v1/actions", headers=bearer(settings, DELINQUENT)).json() == []


def test_asking_again_after_a_decline_restates_it_until_the_amount_or_session_changes(
    bank: tuple[TestClient, Settings],
) -> None:
    client, settings = bank
    first = done(chat_events(client, bearer(settings, DELINQUENT), ASK))
    session, traces = first["session_id"], first["decision_trace_ids"]
    for again in (ASK, "I'd like a higher limit on my card"):  # no decision, action or note
        events = chat_events(client, bearer(settings, DELINQUENT), again, session)
        final = done(events)
        assert final["decision_trace_ids"] == traces and actions_of(events) == []
        assert "already looked at this" in final["text"] and "credit.reason_1" in final["facts"]
    assert decisions_of(settings) == 1
    anew = done(chat_events(client, bearer(settings, DELINQUENT), ASK))  # another session
    assert anew["decision_trace_ids"] != traces and "already" not in anew["text"]
    assert decisions_of(settings) == 2
    assert client.get("/v1/notifications", headers=bearer(settings, DELINQUENT)).json() == []
