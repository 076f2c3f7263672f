"""Proactive credit-limit reviews: a spending-pattern change -> risk re-scored -> decision ->
contract, action, notification -> confirm changes the limit once; the blocks; the nightly scan
and `advisor credit scan`."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS, WorkflowHandleAsync
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from advisor.cli import app as cli
from advisor.decisions.traces import TraceStore
from advisor.orchestration import credit_scan, ledger, runtime
from advisor.orchestration.actions import ActionService, Proposal
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.credit_limit import KIND
from advisor.orchestration.credit_review import CreditReviewRow, CreditReviews, review_id_of
from advisor.orchestration.events import BankEvent
from advisor.orchestration.notifications import NewNotification, NotificationService
from advisor.orchestration.tables import ActionRow, NotificationRow, utcnow
from advisor.predict.registry import Registry
from advisor.settings import RailsSettings, Settings, get_settings
from advisor.training.credit_risk_train import register_model
from portfolio_context.db import engine_for, session_scope
from portfolio_context.models import Account, CreditProfile, Customer
from tests.conftest import make_settings
from tests.credit_fixtures import AS_OF, GOOD, prepare_bank, synthetic_table
from tests.orchestration_helpers import outcome, wait_for

CARD = f"{GOOD}-CRE"
NO_FILE = "C0006"  # its bureau file is deleted: any decision on it is a decline
REVIEW = review_id_of(GOOD, AS_OF)
SPEND = Decimal("-400.00")  # a few of these on AS_OF make GOOD's spending surge
runner = CliRunner()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepared tiny bank (one customer without a bureau file) and a small credit model."""
    root = tmp_path_factory.mktemp("credit_review")
    register_model(Registry(root / "models" / "registry"), synthetic_table(), 0.0)
    url = f"sqlite:///{root / 'bank.db'}"
    prepare_bank(url)
    with session_scope(url) as db:
        db.execute(delete(CreditProfile).where(CreditProfile.customer_id == NO_FILE))
    engine_for(url).dispose()
    return root


@pytest.fixture
def settings(tmp_path: Path, template: Path) -> Settings:
    """Settings on this test's own copy of the bank and registry."""
    shutil.copy(template / "bank.db", tmp_path / "bank.db")
    shutil.copytree(template / "models", tmp_path / "models")
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'bank.db'}",
                         rails=RailsSettings(enabled=False))  # fmt: skip


@pytest.fixture
def reviews(settings: Settings) -> CreditReviews:
    """The review service without DBOS (claims and reviews are plain calls)."""
    url = settings.resolved_database_url
    return CreditReviews.from_settings(settings, ActionService(url), NotificationService(url))


@pytest.fixture
def orch(settings: Settings) -> Iterator[runtime.Orchestration]:
    with runtime.running(settings) as services:
        yield services


def spend(event_id: str, customer: str = GOOD, amount: Decimal = SPEND) -> BankEvent:
    return BankEvent.model_validate({
        "id": event_id, "type": "card_transaction", "customer_id": customer,
        "amount": str(amount), "currency": "USD", "occurred_at": f"{AS_OF}T12:00:00Z",
        "description": "BIG BOX ELECTRONICS",
    })  # fmt: skip


def post_spend(settings: Settings, customer: str, total: Decimal, key: str = "burst") -> None:
    """Card spend on AS_OF straight on the ledger (no event, no workflow)."""
    with session_scope(settings.resolved_database_url) as db:
        card = ledger.account_of(db, customer, "credit_card")
        assert card is not None
        ledger.post(db, ledger.Posting(f"test:{key}", card.id, -total, "BIG BOX", "Shopping",
                                       AS_OF))  # fmt: skip


def audited(settings: Settings, kind: str) -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in AuditLog.from_settings(settings).entries()
            if e.kind == kind]  # fmt: skip


def notifications(settings: Settings, customer: str) -> list[dict[str, Any]]:
    return NotificationService(settings.resolved_database_url).for_customer(customer)


def card_limit(settings: Settings) -> Decimal | None:
    with session_scope(settings.resolved_database_url) as db:
        found = db.get(Account, CARD)
        assert found is not None
        return found.credit_limit


def _all_ended(url: str, event_ids: list[str]) -> list[str] | None:
    found = [outcome(url, event_id) for event_id in event_ids]
    return [o for o in found if o] if all(found) else None


def test_a_burst_of_card_spending_starts_one_review_and_one_offer(
    orch: runtime.Orchestration, settings: Settings
) -> None:
    url = settings.resolved_database_url
    receipts = [orch.events.accept(spend(f"tx-{i}")) for i in range(4)]
    assert [(r.status, r.workflow_id) for r in receipts] == [
        ("accepted", f"event:tx-{i}") for i in range(4)]  # fmt: skip
    ended: list[str] = wait_for(lambda: _all_ended(url, [f"tx-{i}" for i in range(4)]))
    assert ended.count("started") == 1 and set(ended) <= {"started", "joined", "no_change"}
    wait_for(lambda: getattr(DBOS.get_workflow_status(REVIEW), "status", "") == "SUCCESS")
    assert DBOS.retrieve_workflow(REVIEW).get_result() == "raise"
    [note] = notifications(settings, GOOD)
    facts = {f["id"]: f for f in note["facts"]}
    assert note["kind"] == "credit_limit_offer" and note["action"]["status"] == "pending"
    assert {"spending.card_recent", "spending.card_usual", "credit.new_limit"} <= set(facts)
    assert note["body"].startswith(
        f"Your card spending came to {facts['spending.card_recent']['display']} in the last 30 "
        f"days, against a usual {facts['spending.card_usual']['display']}"
    )
    assert facts["credit.new_limit"]["display"] in note["title"]
    [decision] = [a for a in audited(settings, "decision") if a["trace_id"] == note["trace_id"]]
    assert decision["trigger"] == "spending_change" and decision["review_id"] == REVIEW
    trace = TraceStore(url).get(note["trace_id"], GOOD)
    assert trace is not None and trace["trigger"] == "spending_change"
    offer = f"credit_offer:{note['trace_id']}"
    assert getattr(DBOS.get_workflow_status(offer), "status", "") == "PENDING"
    action_id = note["action"]["id"]
    for key in ("k-1", "k-2"):
        assert orch.actions.decide(GOOD, action_id, "confirm", key).status == "executed"
    assert card_limit(settings) == Decimal(str(facts["credit.new_limit"]["value"]))
    with session_scope(url) as db:
        assert db.scalar(select(func.count()).select_from(CreditReviewRow)) == 1


def test_a_refund_or_a_quiet_card_starts_nothing(
    orch: runtime.Orchestration, settings: Settings
) -> None:
    url = settings.resolved_database_url
    orch.events.accept(spend("refund-1", amount=Decimal("25.00")))
    orch.events.accept(spend("coffee-1", amount=Decimal("-4.50")))
    assert wait_for(lambda: outcome(url, "refund-1")) == "not_spend"
    assert wait_for(lambda: outcome(url, "coffee-1")) == "no_change"
    assert notifications(settings, GOOD) == []


def _contacted(days: int) -> Any:
    def apply(settings: Settings) -> None:
        NotificationService(settings.resolved_database_url).create(NewNotification(
            GOOD, "credit_limit_offer", "t", "b", f"credit_offer:old-{days}"))  # fmt: skip
        with session_scope(settings.resolved_database_url) as db:
            db.execute(update(NotificationRow).values(
                created_at=utcnow() - dt.timedelta(days=days)))  # fmt: skip

    return apply


def _pending(settings: Settings) -> None:
    ActionService(settings.resolved_database_url).propose(Proposal(
        GOOD, KIND, Decimal(6000), None, CARD, "credit_limit:tr_old", 3600))  # fmt: skip


def _decided(settings: Settings) -> None:
    TraceStore(settings.resolved_database_url).record(GOOD, "credit_decision", {})


def _sql(statement: Any) -> Any:
    def apply(settings: Settings) -> None:
        with session_scope(settings.resolved_database_url) as db:
            db.execute(statement)

    return apply


BLOCKS = [
    ("hardship", _sql(update(Customer).where(Customer.id == GOOD).values(hardship=True)),
     "blocked:hardship"),
    ("default", _sql(update(Customer).where(Customer.id == GOOD).values(in_default=True)),
     "blocked:in_default"),
    ("delinquency", _sql(update(CreditProfile).where(CreditProfile.customer_id == GOOD)
                         .values(delinquencies_24m=1)), "blocked:recent_delinquency"),
    ("pending offer", _pending, "blocked:pending_offer"),
    ("offer sent 10 days ago", _contacted(10), "blocked:contacted"),
    ("offer sent 100 days ago", _contacted(100), "started"),
    ("decided 0 days ago", _decided, "blocked:decided"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "change", "expected"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_the_blocks_keep_a_review_from_starting(
    reviews: CreditReviews, settings: Settings, case: str, change: Any, expected: str
) -> None:
    post_spend(settings, GOOD, Decimal(1600))
    change(settings)
    claim = reviews.claim(GOOD, AS_OF, "test")
    assert claim.outcome == expected, case
    assert claim.fired == ("spend_surge",)
    assert (claim.review_id is not None) is (expected == "started")


def test_a_review_on_another_day_within_the_cooldown_is_blocked(
    reviews: CreditReviews, settings: Settings
) -> None:
    post_spend(settings, GOOD, Decimal(1600))
    assert reviews.claim(GOOD, AS_OF, "a").outcome == "started"
    assert reviews.claim(GOOD, AS_OF, "b").outcome == "joined"
    later = reviews.claim(GOOD, AS_OF + dt.timedelta(days=1), "c")
    assert later.outcome == "blocked:reviewed"


def test_an_unasked_decline_is_audited_and_traced_but_never_sent(
    reviews: CreditReviews, settings: Settings
) -> None:
    post_spend(settings, NO_FILE, Decimal(4000))
    claim = reviews.claim(NO_FILE, AS_OF, "test")
    assert claim.outcome == "started", claim
    made = reviews.review(review_id_of(NO_FILE, AS_OF))
    assert made["decision"] == "decline" and made["action_id"] is None
    assert reviews.review(review_id_of(NO_FILE, AS_OF))["trace_id"] == made["trace_id"]  # rerun
    assert notifications(settings, NO_FILE) == []
    [entry] = [a for a in audited(settings, "decision") if a["customer_id"] == NO_FILE]
    assert entry["trigger"] == "spending_change" and entry["reasons"][0] == "no_credit_file"
    trace = TraceStore(settings.resolved_database_url).get(made["trace_id"], NO_FILE)
    assert trace is not None and trace["decision"]["decision"] == "decline"


def test_a_scan_rerun_on_the_same_day_claims_nothing_new(
    reviews: CreditReviews, settings: Settings
) -> None:
    post_spend(settings, GOOD, Decimal(1600))
    first = {c.customer_id: c.outcome for c in reviews.scan(AS_OF)}
    again = {c.customer_id: c.outcome for c in reviews.scan(AS_OF)}
    assert first[GOOD] == "started"
    assert again == {k: "joined" if v == "started" else v for k, v in first.items()}
    with session_scope(settings.resolved_database_url) as db:
        assert db.scalar(select(func.count()).select_from(CreditReviewRow)) == sum(
            1 for v in first.values() if v == "started")  # fmt: skip


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI pointed at this test's bank and var dir."""
    monkeypatch.setenv("ADVISOR_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("ADVISOR_JWT_SECRET", str(settings.jwt_secret))
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--as-of", "2026-13-01"], "is not a date"),
        (["--as-of", "yesterday"], "is not a date"),
        (["--as-of", "2999-01-01"], "is in the future"),
    ],
)
def test_the_scan_refuses_a_bad_day(cli_env: Settings, args: list[str], says: str) -> None:
    result = runner.invoke(cli, ["credit", "scan", *args])
    assert result.exit_code == 2 and says in result.output
    assert "Traceback" not in result.output


def test_the_scan_without_a_model_says_how_to_train_one(cli_env: Settings) -> None:
    shutil.rmtree(cli_env.var_dir / "models")
    result = runner.invoke(cli, ["credit", "scan"])
    assert result.exit_code == 2 and "advisor train credit-risk" in result.output


def test_the_scan_cli_offers_once_and_reruns_idempotently(cli_env: Settings) -> None:
    post_spend(cli_env, GOOD, Decimal(1600))
    first = runner.invoke(cli, ["credit", "scan", "--as-of", str(AS_OF), "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    [review] = [r for r in report["reviews"] if r["customer_id"] == GOOD]
    assert (review["outcome"], review["review_id"], review["decision"]) == (
        "started", REVIEW, "raise")  # fmt: skip
    again = json.loads(runner.invoke(cli, ["credit", "scan", "--json"]).output)
    assert again["as_of"] == str(AS_OF)  # the bank's as-of date by default
    assert {r["review_id"]: r["outcome"] for r in again["reviews"]} == {
        r["review_id"]: "joined" for r in report["reviews"]}  # fmt: skip
    notes = notifications(cli_env, GOOD)
    assert len(notes) == 1 and notes[0]["action"]["status"] == "pending"
    with session_scope(cli_env.resolved_database_url) as db:
        pending = select(func.count()).where(ActionRow.status == "pending", ActionRow.kind == KIND)
        assert db.scalar(pending) == sum(1 for r in report["reviews"] if r["decision"] == "raise")


def test_the_server_scans_on_schedule_only_when_set(settings: Settings) -> None:
    post_spend(settings, GOOD, Decimal(1600))
    scheduled = settings.model_copy(update={"credit_scan_interval_s": 3600.0})

    async def run() -> str:
        with runtime.running(scheduled) as services:
            assert (
                credit_scan.schedule(dataclasses.replace(services, settings=settings)) is None
            )  # off
            task = credit_scan.schedule(services)
            assert task is not None
            try:
                await asyncio.to_thread(wait_for, lambda: _review_row(settings))
                await asyncio.to_thread(wait_for, lambda: DBOS.get_workflow_status(REVIEW))
                handle: WorkflowHandleAsync[str] = await DBOS.retrieve_workflow_async(REVIEW)
                return str(await handle.get_result(polling_interval_sec=0.1))
            finally:
                await credit_scan.unschedule(task)

    assert asyncio.run(run()) == "raise"


def _review_row(settings: Settings) -> bool:
    with session_scope(settings.resolved_database_url) as db:
        return db.get(CreditReviewRow, REVIEW) is not None
