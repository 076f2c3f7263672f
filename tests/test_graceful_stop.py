"""A graceful stop (runtime.stop, as at a server's shutdown) while a payday's workflow waits for
the customer's confirmation leaves it PENDING, so the next launch resumes it: DBOS recorded the
cancellation as the workflow's ERROR, a terminal state no launch recovers, and the confirmation
after the restart then woke nothing (no outcome, no expiry)."""

from __future__ import annotations

import time
from pathlib import Path

from dbos import DBOS

from advisor.orchestration import runtime
from tests.orchestration_fixtures import settings_on_copy, template_bank  # noqa: F401
from tests.orchestration_helpers import outcome, payroll, wait_for

WORKFLOW = "event:pay-1"


def test_a_waiting_workflow_survives_a_graceful_restart(
    tmp_path: Path,
    template_bank: Path,  # noqa: F811
) -> None:
    settings = settings_on_copy(tmp_path, template_bank)
    url = settings.resolved_database_url
    with runtime.running(settings) as services:
        services.events.accept(payroll("pay-1"))
        action = wait_for(lambda: next(iter(services.actions.for_customer("C0001")), None))
        wait_for(lambda: services.notifications.for_customer("C0001"))
    time.sleep(1.0)  # the stopped DBOS's threads finish handling the cancellation
    with runtime.running(settings) as services:
        status = DBOS.get_workflow_status(WORKFLOW)
        assert status is not None and status.status in ("PENDING", "ENQUEUED")
        decided = services.actions.decide("C0001", action.id, "confirm", "after-restart")
        assert decided.status == "executed"
        assert wait_for(lambda: outcome(url, "pay-1")) == "executed"
        assert wait_for(lambda: getattr(DBOS.get_workflow_status(WORKFLOW), "status", "")
                        == "SUCCESS")  # fmt: skip
