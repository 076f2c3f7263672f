"""Reseeding the bank clears what the orchestration and the chat kept about its customers:
a reused event id is a new event (its own workflow, posting and audit entries), no old
notification, action or conversation is shown to the new customer with the old id."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from advisor.orchestration.audit import AuditLog
from advisor.orchestration.events import EventService
from advisor.orchestration.runtime import Orchestration
from advisor.orchestration.tables import BankEventRow, LedgerPosting
from advisor.store import ChatSession, ChatTurn
from portfolio_context.db import session_scope
from portfolio_context.seed import seed_bank
from tests.conftest import AS_OF, make_settings
from tests.orchestration_helpers import payroll


def count(url: str, model: type) -> int:
    """Rows in a model's table."""
    with session_scope(url) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_reseeding_clears_orchestration_and_chat_records(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    seed_bank(url, 4, 42, AS_OF)
    services = Orchestration.from_settings(make_settings(tmp_path, url))
    intake = EventService(url, None, AuditLog(url))  # the workflow's step is run by hand
    intake.accept(payroll("pay-1"))
    action_id = services.sweeps.propose("pay-1")["action_id"]  # type: ignore[index]
    services.actions.decide("C0001", action_id, "confirm", "k1")
    with session_scope(url) as db:
        db.add(ChatSession(id="s1", customer_id="C0001"))
        db.flush()
        db.add(ChatTurn(session_id="s1", turn_index=0, trace_id="t", user_text="hi",
                        answer_text="hello", grounding="model", finish_reason="stop"))  # fmt: skip
    seed_bank(url, 4, 43, AS_OF)
    assert services.actions.for_customer("C0001") == []
    assert services.notifications.for_customer("C0001") == []
    assert (count(url, ChatSession), count(url, ChatTurn), count(url, LedgerPosting)) == (0, 0, 0)
    assert AuditLog(url).entries() == []
    receipt = intake.accept(payroll("pay-1"))  # the same id on the new bank: a new event
    assert not receipt.replay and count(url, BankEventRow) == 1
    assert [e.subject for e in AuditLog(url).entries()] == ["event/pay-1"]
    assert AuditLog(url).verify() is None
