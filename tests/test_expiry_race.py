"""A confirmation racing the action's expiry: exactly one of them wins, the customer is told
which, and money moves only when the confirmation won."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import update

from advisor.orchestration import runtime
from advisor.orchestration.actions import ActionService, Proposal
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.tables import ActionRow, utcnow
from portfolio_context.db import session_scope
from tests.orchestration_fixtures import settings_on_copy, template_bank  # noqa: F401
from tests.orchestration_helpers import balance, outcome, payroll, postings, wait_for

RACES = 40


def expiring(actions: ActionService, n: int, in_s: float) -> ActionRow:
    """A pending $100 transfer that expires `in_s` seconds from now."""
    row, _ = actions.propose(Proposal("C0001", "transfer", Decimal(100), "C0001-CHE",
                                      "C0001-SAV", f"race:{n}", 3600))  # fmt: skip
    with session_scope(actions.url) as db:
        when = utcnow() + dt.timedelta(seconds=in_s)
        db.execute(update(ActionRow).where(ActionRow.id == row.id).values(expires_at=when))
    return row


def race(actions: ActionService, row: ActionRow, lead: str, by_s: float) -> tuple[str, str]:
    """Confirm and expire at once, `lead` given a head start of `by_s`: (what the confirmation
    answered, what the expiry saw)."""
    start, answers = threading.Barrier(2), {}

    def confirm() -> None:
        start.wait()
        time.sleep(by_s if lead == "expire" else 0)
        answers["confirm"] = actions.decide("C0001", row.id, "confirm", f"k-{row.id}").status

    def expire() -> None:
        start.wait()
        time.sleep(by_s if lead == "confirm" else 0)
        answers["expire"] = actions.expire(row.id).status

    workers = [threading.Thread(target=confirm), threading.Thread(target=expire)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return answers["confirm"], answers["expire"]


def test_confirm_and_expiry_racing_decide_once(tmp_path: Path, template_bank: Path) -> None:  # noqa: F811
    url = settings_on_copy(tmp_path, template_bank).resolved_database_url
    actions, rng = ActionService(url, AuditLog(url)), random.Random(5)
    before, won = balance(url, "C0001-CHE"), {"executed": 0, "expired": 0}
    for n in range(RACES):
        row = expiring(actions, n, rng.choice((-1.0, 30.0)))  # the timer fires at or before
        told, seen = race(actions, row, rng.choice(("confirm", "expire")), rng.uniform(0, 0.004))
        final = actions.get("C0001", row.id).status
        assert told == seen == final and final in won, (told, seen, final)
        assert postings(url, f"action:{row.id}:") == (2 if final == "executed" else 0)
        won[final] += 1
    assert won["executed"] and won["expired"], won  # the race was run both ways
    assert balance(url, "C0001-CHE") == before - 100 * won["executed"]
    assert AuditLog(url).verify() is None


def test_a_confirmation_at_the_workflows_expiry_ends_it_once(
    tmp_path: Path, template_bank: Path,  # noqa: F811
) -> None:  # fmt: skip
    settings = settings_on_copy(tmp_path, template_bank, action_ttl_s=1)
    url, rng = settings.resolved_database_url, random.Random(9)
    with runtime.running(settings) as services:
        for n in range(3):
            services.events.accept(payroll(f"race-{n}"))
            action = wait_for(lambda n=n: [a for a in services.actions.for_customer("C0001")
                                           if a.event_id == f"race-{n}"])[0]  # fmt: skip
            wait = (action.expires_at - utcnow()).total_seconds() + rng.uniform(-0.05, 0.05)
            time.sleep(max(wait, 0))
            told = services.actions.decide("C0001", action.id, "confirm", f"k{n}").status
            ended = wait_for(lambda n=n: outcome(url, f"race-{n}"))
            assert told == ended == services.actions.get("C0001", action.id).status
            assert postings(url, f"action:{action.id}:") == (2 if told == "executed" else 0)
