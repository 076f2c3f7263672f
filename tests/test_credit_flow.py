"""The credit-limit offer end to end: decision -> contract, pending action, notification ->
confirm (the limit changes once), decline or expiry (it stays), all audited."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS
from fastapi.testclient import TestClient
from sqlalchemy import update

from advisor.api.app import create_app
from advisor.decisions.credit_service import CreditService
from advisor.orchestration.actions import Proposal
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.contracts import Contract, ContractService, rendered
from advisor.orchestration.credit_limit import KIND, source_key
from advisor.orchestration.credit_offer import CreditOffers, workflow_id_of
from advisor.orchestration.runtime import Orchestration
from advisor.orchestration.tables import ActionRow
from advisor.predict.registry import Registry
from advisor.settings import RailsSettings, Settings
from advisor.training.credit_risk_train import register_model
from portfolio_context.db import engine_for, session_scope
from portfolio_context.models import Account, Customer
from tests import fakes
from tests.conftest import bearer, make_settings
from tests.credit_fixtures import DELINQUENT, GOOD, prepare_bank, synthetic_table
from tests.orchestration_helpers import wait_for

CARD = f"{GOOD}-CRE"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prepared tiny bank and a registry holding a small credit-risk model, copied per test."""
    root = tmp_path_factory.mktemp("credit_flow")
    register_model(Registry(root / "models" / "registry"), synthetic_table(), 0.0)
    prepare_bank(f"sqlite:///{root / 'bank.db'}")
    engine_for(f"sqlite:///{root / 'bank.db'}").dispose()
    return root


@pytest.fixture
def settings(tmp_path: Path, template: Path) -> Settings:
    """Settings on this test's own copy of the bank and registry."""
    shutil.copy(template / "bank.db", tmp_path / "bank.db")
    shutil.copytree(template / "models", tmp_path / "models")
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'bank.db'}",
                         rails=RailsSettings(enabled=False))  # fmt: skip


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """The whole app (fake model) with DBOS running on this test's bank."""
    with TestClient(create_app(settings, backend=fakes.FakeBackend())) as client:
        yield client


def orchestration(api: TestClient) -> Orchestration:
    services: Orchestration = api.app.state.orchestration  # type: ignore[attr-defined]
    return services


def request_limit(api: TestClient, settings: Settings, customer: str = GOOD) -> dict[str, Any]:
    response = api.post("/v1/credit-limit/requests", headers=bearer(settings, customer))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def decide(api: TestClient, settings: Settings, action_id: str, decision: str, key: str) -> Any:
    headers = bearer(settings, GOOD) | {"Idempotency-Key": key}
    response = api.post(f"/v1/actions/{action_id}/{decision}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def card(settings: Settings) -> Account:
    with session_scope(settings.resolved_database_url) as db:
        found = db.get(Account, CARD)
        assert found is not None
        return found


def audited(settings: Settings, kind: str, subject: str) -> int:
    return sum(1 for e in AuditLog.from_settings(settings).entries()
               if e.kind == kind and e.subject == subject)  # fmt: skip


def test_a_raise_comes_with_its_contract_a_pending_action_and_a_notification(
    api: TestClient, settings: Settings
) -> None:
    answer = request_limit(api, settings)
    assert answer["decision"] == "raise" and answer["contract_url"].startswith("/v1/contracts/")
    action = answer["action"]
    assert (action["kind"], action["status"], action["amount"], action["to_account"]) == (
        "credit_limit_change", "pending", answer["new_limit"], CARD)  # fmt: skip
    pdf = api.get(answer["contract_url"], headers=bearer(settings, GOOD))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    other = api.get(answer["contract_url"], headers=bearer(settings, DELINQUENT))
    assert other.status_code == 404
    [note] = api.get("/v1/notifications", headers=bearer(settings, GOOD)).json()
    facts = {f["id"]: f for f in note["facts"]}
    assert note["kind"] == "credit_limit_offer" and note["action"]["id"] == action["id"]
    assert Decimal(str(facts["credit.new_limit"]["value"])) == Decimal(answer["new_limit"])
    assert facts["credit.apr"]["value"] == f"{answer['apr']}%"
    assert answer["apr"] in note["body"] and "6,200.00" in note["body"]
    assert note["trace_id"] == answer["trace_id"]  # "why am I seeing this?" opens the decision
    trace = api.get(f"/v1/traces/{note['trace_id']}", headers=bearer(settings, GOOD))
    assert trace.status_code == 200
    listed = api.get("/v1/actions", headers=bearer(settings, GOOD)).json()
    assert [a["id"] for a in listed] == [action["id"]]


def test_confirming_twice_and_concurrently_changes_the_limit_once(
    api: TestClient, settings: Settings
) -> None:
    answer = request_limit(api, settings)
    action_id = answer["action"]["id"]
    actions = orchestration(api).actions
    results: list[str] = []

    def confirm(key: str) -> None:
        results.append(actions.decide(GOOD, action_id, "confirm", key).status)

    threads = [threading.Thread(target=confirm, args=(f"key-{k}",)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = decide(api, settings, action_id, "confirm", "key-0")
    assert results == ["executed"] * 4 and again["status"] == "executed"
    assert card(settings).credit_limit == Decimal(answer["new_limit"])
    assert card(settings).apr == Decimal(answer["apr"])
    assert audited(settings, "execution", f"action/{action_id}") == 1
    assert audited(settings, "confirmation", f"action/{action_id}") == 1


def test_the_offer_workflow_waits_durably_and_ends_with_the_decision(
    api: TestClient, settings: Settings
) -> None:
    answer = request_limit(api, settings)
    workflow_id = f"credit_offer:{answer['trace_id']}"
    waiting = DBOS.get_workflow_status(workflow_id)
    assert waiting is not None and waiting.status == "PENDING"
    decide(api, settings, answer["action"]["id"], "decline", "d-1")
    wait_for(lambda: getattr(DBOS.get_workflow_status(workflow_id), "status", "") == "SUCCESS")
    assert DBOS.retrieve_workflow(workflow_id).get_result() == "declined"


def test_declining_or_expiry_leaves_the_limit(api: TestClient, settings: Settings) -> None:
    first = request_limit(api, settings)["action"]["id"]
    assert decide(api, settings, first, "decline", "d-1")["status"] == "declined"
    assert decide(api, settings, first, "confirm", "c-1")["status"] == "declined"
    second = request_limit(api, settings)["action"]["id"]
    with session_scope(settings.resolved_database_url) as db:
        past = dt.datetime(2020, 1, 1)
        db.execute(update(ActionRow).where(ActionRow.id == second).values(expires_at=past))
    assert decide(api, settings, second, "confirm", "c-2")["status"] == "expired"
    assert card(settings).credit_limit == Decimal(5000)


@pytest.mark.parametrize(
    ("change", "reason", "limit"),
    [
        (update(Account).where(Account.id == CARD).values(credit_limit=Decimal(5500)),
         "limit changed since the offer", Decimal(5500)),
        (update(Customer).where(Customer.id == GOOD).values(hardship=True), "hardship",
         Decimal(5000)),
    ],
)  # fmt: skip
def test_a_changed_limit_or_hardship_at_execution_rejects(
    api: TestClient, settings: Settings, change: Any, reason: str, limit: Decimal
) -> None:
    action_id = request_limit(api, settings)["action"]["id"]
    with session_scope(settings.resolved_database_url) as db:
        db.execute(change)
    done = decide(api, settings, action_id, "confirm", "c-1")
    assert done["status"] == "rejected" and reason in done["reason"]
    assert card(settings).credit_limit == limit
    assert audited(settings, "execution", f"action/{action_id}") == 1


def test_a_decline_has_reasons_and_no_contract_action_or_notification(
    api: TestClient, settings: Settings
) -> None:
    answer = request_limit(api, settings, DELINQUENT)
    assert answer["decision"] == "decline" and answer["reasons"]
    assert answer["contract_url"] is None and answer["action"] is None
    assert api.get("/v1/notifications", headers=bearer(settings, DELINQUENT)).json() == []
    assert api.get("/v1/actions", headers=bearer(settings, DELINQUENT)).json() == []
    assert audited(settings, "decision", f"trace/{answer['trace_id']}") == 1


def test_the_audit_log_holds_the_whole_flow_once_and_verifies(
    api: TestClient, settings: Settings
) -> None:
    answer = request_limit(api, settings)
    action_id = answer["action"]["id"]
    decide(api, settings, action_id, "confirm", "c-1")
    state = api.app.state  # type: ignore[attr-defined]
    again = state.credit.request(GOOD)  # a new decision on the new limit
    state.credit_offers.offer(GOOD, again)
    state.credit_offers.offer(GOOD, again)  # a repeat adds nothing
    log = AuditLog.from_settings(settings)
    assert log.verify() is None
    kinds = [(e.kind, e.subject) for e in log.entries()]
    assert kinds.count(("decision", f"trace/{answer['trace_id']}")) == 1
    assert kinds.count(("decision", f"trace/{again.trace_id}")) == 1
    contracts = 1 + (again.decision.decision == "raise")
    assert sum(1 for k, _ in kinds if k == "contract") == contracts
    assert ("confirmation", f"action/{action_id}") in kinds
    assert ("execution", f"action/{action_id}") in kinds


def test_a_crash_before_the_audit_and_the_notification_is_made_good_by_the_rerun(
    api: TestClient, settings: Settings
) -> None:
    services = orchestration(api)
    offers = CreditOffers.from_settings(settings, services.actions, services.notifications)
    outcome = CreditService.from_settings(settings).request(GOOD)
    made, trace = outcome.decision, outcome.trace_id
    assert made.decision == "raise" and made.new_limit is not None
    terms = offers.contracts.terms_for(GOOD, made, trace)
    assert terms is not None
    stored: list[Contract] = []  # the offer's transaction committed, then it died: no audit entry
    action = offers.actions.propose_replacing(Proposal(  # ... and no notification
        GOOD, KIND, made.new_limit, None, CARD, source_key(trace), 3600,
        workflow_id=workflow_id_of(trace),
    ), along=lambda db: stored.append(ContractService.store_in(db, rendered(terms))))  # fmt: skip
    assert action is not None and len(stored) == 1
    contract = stored[0]
    for _ in range(2):
        offers.offer(GOOD, outcome)
    notes = api.get("/v1/notifications", headers=bearer(settings, GOOD)).json()
    assert [n["action"]["id"] for n in notes] == [action.id]
    assert audited(settings, "contract", f"contract/{contract.id}") == 1
