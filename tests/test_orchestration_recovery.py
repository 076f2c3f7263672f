"""Recovery after a crash: an undispatched event is redone at launch (a bad row blocks
nothing), a lost nudge is sent on the rerun, and two paydays never sweep the same money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from dbos import DBOS

from advisor.orchestration import runtime
from advisor.orchestration.actions import Proposal
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.events import EventService
from advisor.orchestration.runtime import Orchestration
from advisor.orchestration.surplus import surplus
from advisor.orchestration.tables import BankEventRow
from advisor.settings import Settings
from portfolio_context.db import session_scope
from portfolio_context.view import load_ledger
from tests.orchestration_fixtures import orch_settings, template_bank  # noqa: F401  (fixtures)
from tests.orchestration_helpers import payroll, wait_for


class CrashingStarter:
    """A process that dies right after the event's commit, before its workflow starts."""

    def start(self, workflow: str, workflow_id: str, event_id: str) -> None:
        """Crash."""
        raise RuntimeError("killed before the workflow started")


def received(settings: Settings, event_id: str) -> int:
    """How many event_received entries the audit log holds for the event."""
    entries = AuditLog.from_settings(settings).entries()
    return sum(1 for e in entries if (e.kind, e.subject) == ("event_received", f"event/{event_id}"))


def add_bad_row(url: str) -> None:
    """An undispatched row whose type no release knows any more (its dispatch fails)."""
    with session_scope(url) as db:
        db.add(BankEventRow(
            id="aaa-bad", type="retired_type", customer_id="C0001", amount=Decimal(1),
            currency="USD", occurred_at=dt.datetime(2026, 11, 28), status="accepted",
            workflow_id="event:aaa-bad", dispatched=False,
        ))  # fmt: skip


def dispatched(url: str, event_id: str) -> bool:
    """Whether the event's after-commit tail finished."""
    with session_scope(url) as db:
        row = db.get(BankEventRow, event_id)
        return bool(row and row.dispatched)


def test_an_undispatched_event_is_recovered_at_launch_past_a_bad_row(
    orch_settings: Settings,  # noqa: F811
) -> None:
    url = orch_settings.resolved_database_url
    intake = EventService(url, CrashingStarter(), AuditLog(url))
    with pytest.raises(RuntimeError):
        intake.accept(payroll("rec-1"))
    add_bad_row(url)
    with runtime.running(orch_settings) as services:
        note = wait_for(lambda: services.notifications.for_customer("C0001"))
        assert note[0]["event_id"] == "rec-1"
        status = DBOS.get_workflow_status("event:rec-1")
        assert status is not None and status.status == "PENDING"  # waits for the decision
    assert dispatched(url, "rec-1") and not dispatched(url, "aaa-bad")
    assert received(orch_settings, "rec-1") == 1  # appended before the crash and on recovery


def offline(settings: Settings) -> tuple[Orchestration, EventService]:
    """The services without DBOS, and an intake that starts no workflow (steps run by hand)."""
    services = Orchestration.from_settings(settings)
    url = settings.resolved_database_url
    return services, EventService(url, None, AuditLog(url))


def test_a_nudge_lost_between_propose_and_notify_is_sent_on_the_rerun(
    orch_settings: Settings,  # noqa: F811
) -> None:
    services, intake = offline(orch_settings)
    intake.accept(payroll("pay-x"))
    action, _ = services.actions.propose(Proposal(  # the first run died right after this
        "C0001", "transfer", Decimal(100), "C0001-CHE", "C0001-SAV", "sweep:pay-x", 3600,
        "pay-x", "event:pay-x",
    ))  # fmt: skip
    for _ in range(2):
        assert services.sweeps.propose("pay-x") is not None
    notes = services.notifications.for_customer("C0001")
    assert [n["action"]["id"] for n in notes] == [action.id]
    kinds = [e.kind for e in AuditLog.from_settings(orch_settings).entries()]
    assert (kinds.count("nudge"), kinds.count("event_received")) == (1, 1)


def amount_of(services: Orchestration, proposed: dict[str, object] | None) -> Decimal:
    """The proposed transfer's amount (0 when nothing was proposed)."""
    if proposed is None:
        return Decimal(0)
    return services.actions.get("C0001", str(proposed["action_id"])).amount or Decimal(0)


def test_two_paydays_back_to_back_never_sweep_the_same_money(
    orch_settings: Settings,  # noqa: F811
) -> None:
    services, intake = offline(orch_settings)
    intake.accept(payroll("pay-a"))
    first = amount_of(services, services.sweeps.propose("pay-a"))
    intake.accept(payroll("pay-b"))
    second = amount_of(services, services.sweeps.propose("pay-b"))
    with session_scope(orch_settings.resolved_database_url) as db:
        _, books = load_ledger(db, "C0001", dt.date(2026, 11, 28))
    whole = surplus(books, services.sweeps.policy.buffer, "ACME CORP PAYROLL").amount
    assert first > 0 and second > 0
    assert first + second <= whole
    pending = {f["id"]: f for f in services.notifications.for_customer("C0001")[0]["facts"]}
    assert Decimal(str(pending["sweep.pending_sweeps"]["value"])) == first


def test_recover_answers_how_many_finished(orch_settings: Settings) -> None:  # noqa: F811
    services, _ = offline(orch_settings)
    add_bad_row(orch_settings.resolved_database_url)
    assert services.recover() == 0  # logged, not raised
