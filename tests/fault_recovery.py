"""How far a fault trial's workflow got (tests/fault_trials.py): whether it reached its
terminal state, and, when it did not, where it stands (DBOS's status and steps, the bank's
rows), so an unfinished trial says why instead of only failing an invariant."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbos import DBOS
from sqlalchemy import select

from advisor.orchestration.events import workflow_id_of
from advisor.orchestration.tables import ActionRow, BankEventRow, NotificationRow
from portfolio_context.db import session_scope

if TYPE_CHECKING:
    from tests.fault_trials import Trial

ENDED = frozenset({"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})


def workflow_of(url: str, trial: Trial) -> str | None:
    """The trial's workflow id: the payday's, or the credit offer's the client was answered."""
    if trial.workflow == "payroll":
        return workflow_id_of(f"pay-{trial.number}")
    if trial.offer_id is None:
        return None
    with session_scope(url) as db:
        row = db.get(ActionRow, trial.offer_id)
        return row.workflow_id if row else None


def dbos_status(workflow_id: str | None) -> str:
    """DBOS's status of the workflow ('absent' when DBOS never recorded it)."""
    if workflow_id is None:
        return "absent"
    status = DBOS.get_workflow_status(workflow_id)
    return status.status if status else "absent"


def ended(url: str, trial: Trial) -> bool:
    """Whether the workflow reached its terminal state in DBOS (and, for a payday, wrote its
    outcome on the event)."""
    if dbos_status(workflow_of(url, trial)) not in ENDED:
        return False
    if trial.workflow == "credit":
        return True
    with session_scope(url) as db:
        event = db.get(BankEventRow, f"pay-{trial.number}")
        return event is not None and event.outcome is not None


def where_it_stands(url: str, trial: Trial) -> str:
    """One line: DBOS's status, recovery attempts, executor and steps; the bank's rows."""
    workflow_id = workflow_of(url, trial)
    status = DBOS.get_workflow_status(workflow_id) if workflow_id else None
    if status is None:
        dbos = f"workflow {workflow_id} absent in DBOS"
    else:
        steps = [s["function_name"].rsplit(".", 1)[-1] for s in
                 DBOS.list_workflow_steps(workflow_id or "")]  # fmt: skip
        dbos = (f"{status.status}, recovery attempts {status.recovery_attempts}, executor "
                f"{status.executor_id}, queue {status.queue_name}, steps {steps}")  # fmt: skip
    return f"{dbos}; {_bank_rows(url, trial)}"


def _bank_rows(url: str, trial: Trial) -> str:
    """The event's dispatch and outcome, its action's status and whether it was nudged."""
    with session_scope(url) as db:
        if trial.workflow == "credit":
            action = db.get(ActionRow, trial.offer_id or "")
            return f"offer {action.status if action else 'absent'}"
        event = db.get(BankEventRow, f"pay-{trial.number}")
        query = select(ActionRow).where(ActionRow.event_id == f"pay-{trial.number}")
        action = db.scalars(query).first()
        nudged = db.scalar(select(NotificationRow.id)
                           .where(NotificationRow.event_id == f"pay-{trial.number}"))  # fmt: skip
    if event is None:
        return "event absent"
    return (
        f"event dispatched {event.dispatched}, outcome {event.outcome}, action "
        f"{action.status if action else 'absent'}, nudge {'sent' if nudged else 'absent'}"
    )
