"""A service process for the crash test: `accept` posts a payday and waits to be killed;
`recover` launches again (DBOS recovers the workflow), confirms and prints what the bank holds."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from advisor.orchestration import runtime
from advisor.orchestration.tables import BankEventRow, LedgerPosting, NotificationRow
from advisor.settings import Settings
from portfolio_context.db import session_scope
from tests.orchestration_helpers import payroll, wait_for

EVENT = "crash-1"


def summary(url: str) -> dict[str, object]:
    """What the bank holds after the run."""
    with session_scope(url) as db:
        event = db.get(BankEventRow, EVENT)
        return {
            "outcome": event.outcome if event else None,
            "notifications": db.scalar(select(func.count()).select_from(NotificationRow)),
            "postings": sorted(db.scalars(select(LedgerPosting.key))),
        }


def main(var_dir: str, url: str, mode: str) -> None:
    """Run one side of the crash test."""
    settings = Settings(var_dir=Path(var_dir), database_url=url, jwt_secret="x" * 40)
    with runtime.running(settings) as services:
        if mode == "accept":
            services.events.accept(payroll(EVENT))
            print("accepted", flush=True)
            time.sleep(60)  # killed before this ends
            return
        action = wait_for(lambda: next(iter(services.actions.for_customer("C0001")), None))
        services.actions.decide("C0001", action.id, "confirm", "after-crash")
        wait_for(lambda: summary(url)["outcome"])
        actions = services.actions.for_customer("C0001")
        print(json.dumps(summary(url) | {"actions": [a.status for a in actions]}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
