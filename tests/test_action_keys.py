"""Idempotency keys are each customer's own; an executor's conflict is no key reuse; audit
entries of a decision are appended once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from advisor.errors import InvalidInput
from advisor.orchestration import executors
from advisor.orchestration.actions import ActionService, Proposal
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.cards import freeze_card, is_frozen
from advisor.orchestration.tables import ActionRow, CardFreezeRow, utcnow
from portfolio_context.db import session_scope
from tests.orchestration_fixtures import settings_on_copy, template_bank  # noqa: F401


@pytest.fixture
def bank(tmp_path: Path, template_bank: Path) -> str:  # noqa: F811
    """This test's own copy of the seeded bank."""
    return settings_on_copy(tmp_path, template_bank).resolved_database_url


def freeze(service: ActionService, customer: str, source: str, kind: str = "card_freeze") -> str:
    """A pending freeze of the customer's card; its id."""
    proposal = Proposal(customer, kind, None, f"{customer}-CRE", None, source, 3600)
    return service.propose(proposal)[0].id


def test_two_customers_may_send_the_same_key(bank: str) -> None:
    service = ActionService(bank)
    mine, theirs = freeze(service, "C0001", "f1"), freeze(service, "C0002", "f2")
    assert service.decide("C0001", mine, "confirm", "same-key").status == "executed"
    assert service.decide("C0002", theirs, "decline", "same-key").status == "declined"
    assert service.decide("C0002", theirs, "decline", "same-key").status == "declined"
    another = freeze(service, "C0001", "f3")
    with pytest.raises(InvalidInput, match="already used"):
        service.decide("C0001", another, "confirm", "same-key")


def test_an_executors_conflict_is_decided_again_not_called_key_reuse(
    bank: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def late_freeze(db: Session, row: ActionRow) -> str | None:
        """The first time, freeze as if the check ran before a concurrent freeze committed."""
        calls.append(row.id)
        if len(calls) > 1:
            return freeze_card(db, row)
        db.add(CardFreezeRow(account_id=row.from_account, customer_id=row.customer_id,
                             action_id=row.id, frozen_at=utcnow()))  # fmt: skip
        return None

    monkeypatch.setitem(executors.EXECUTORS, "late_freeze", late_freeze)
    service = ActionService(bank)
    first, second = freeze(service, "C0001", "a"), freeze(service, "C0001", "b", "late_freeze")
    assert service.decide("C0001", first, "confirm", "k1").status == "executed"
    done = service.decide("C0001", second, "confirm", "k2")
    assert (done.status, calls) == ("executed", [second, second])
    with session_scope(bank) as db:
        assert is_frozen(db, "C0001-CRE")


def test_a_decisions_audit_entries_are_appended_once(bank: str) -> None:
    audit = AuditLog(bank)
    service = ActionService(bank, audit)
    action = freeze(service, "C0003", "f")
    row = service.decide("C0003", action, "confirm", "k")
    service._after_decision(row, "confirm")  # the after-commit tail run again (a rerun)
    kinds = [e.kind for e in audit.entries() if e.subject == f"action/{action}"]
    assert kinds == ["confirmation", "execution"]
    assert audit.verify() is None
