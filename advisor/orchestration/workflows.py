"""Durable workflows on DBOS Transact: decorated functions, started once per event id."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from dbos import DBOS, SetWorkflowID

from advisor.errors import NotFound

if TYPE_CHECKING:
    from advisor.orchestration.runtime import Orchestration

DECISION_TOPIC = "decision"
# Every step is idempotent (keyed rows, keyed audit entries), so a failed one is retried.
RETRIED: dict[str, Any] = {"retries_allowed": True, "max_attempts": 5, "backoff_rate": 2.0}
# name -> workflow function; events.yaml names the workflow an event type starts.
WORKFLOWS: dict[str, Callable[..., Any]] = {}
_services: list[Orchestration] = []  # the running orchestration the steps work with


def bind(services: Orchestration | None) -> None:
    """Give the steps their services (at launch, before DBOS recovers pending workflows)."""
    _services.clear()
    if services is not None:
        _services.append(services)


def services() -> Orchestration:
    """The services of the running orchestration."""
    if not _services:
        raise RuntimeError("orchestration is not running (advisor.orchestration.runtime)")
    return _services[0]


class Interrupted(BaseException):
    """DBOS stopped while the workflow ran or waited: not an outcome. A BaseException, so
    DBOS does not record it as the workflow's ERROR; the workflow stays PENDING and the next
    launch resumes it from its last finished step."""


def workflow(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a DBOS workflow under a stable name events.yaml can refer to."""

    def register(func: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
        wrapped = DBOS.workflow(name=name)(_interruptible(func))
        WORKFLOWS[name] = wrapped
        return wrapped

    return register


def _interruptible(
    func: Callable[..., Coroutine[Any, Any, Any]],
) -> Callable[..., Coroutine[Any, Any, Any]]:
    """The workflow, its cancellation by a stopping DBOS turned into Interrupted.

    A workflow run by DBOS's thread pool (started from sync code, or recovered through its
    queue) waits on DBOS's event loop; stopping DBOS cancels it there, the thread sees a
    concurrent.futures.CancelledError, an Exception, and DBOS wrote ERROR: a terminal state
    no launch recovers, so every payday waiting for its confirmation across a restart was
    lost (and, in the fault trials, a kill's stale thread could mark the recovered run)."""

    @functools.wraps(func)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await func(*args, **kwargs)
        except asyncio.CancelledError:
            raise Interrupted(func.__name__) from None

    return run


class DbosStarter:
    """Starts registered workflows on the launched DBOS; the id makes the start exactly-once."""

    def start(self, workflow: str, workflow_id: str, event_id: str) -> None:
        """Start `workflow` for the event with id `workflow_id` (DBOS returns the existing run
        for a known id)."""
        with SetWorkflowID(workflow_id):
            DBOS.start_workflow(WORKFLOWS[workflow], event_id)


def wake(workflow_id: str, action_id: str, status: str) -> None:
    """Deliver a decided action's status to the workflow waiting on it (once per action)."""
    DBOS.send(workflow_id, {"action_id": action_id, "status": status}, DECISION_TOPIC,
              idempotency_key=f"decision:{action_id}")  # fmt: skip


@DBOS.step(**RETRIED)
async def propose_sweep(event_id: str) -> dict[str, Any] | None:
    """Step: compute the surplus and propose the transfer (idempotent by the event id)."""
    return await asyncio.to_thread(services().sweeps.propose, event_id)


@DBOS.step(**RETRIED)
async def expire_action(action_id: str) -> str:
    """Step: the wait ran out; expire the action unless a decision got there first."""
    try:
        return (await asyncio.to_thread(services().actions.expire, action_id)).status
    except NotFound:  # reseeded away
        return "gone"


@DBOS.step(**RETRIED)
async def record_outcome(event_id: str, outcome: str) -> str:
    """Step: write how the event's workflow ended."""
    return await asyncio.to_thread(services().sweeps.record_outcome, event_id, outcome)


# Workflows are coroutines: a wait of days holds no thread, and stopping DBOS ends it at once.
@workflow("payroll_sweep")
async def payroll_sweep(event_id: str) -> str:
    """Payday -> surplus -> nudge and pending transfer -> durable wait for the decision."""
    proposed = await propose_sweep(event_id)
    if proposed is None:
        return await record_outcome(event_id, "no_surplus")
    message = await DBOS.recv_async(DECISION_TOPIC, timeout_seconds=proposed["wait_s"])
    status = message["status"] if message else await expire_action(proposed["action_id"])
    return await record_outcome(event_id, status)


@workflow("credit_offer")
async def credit_offer(action_id: str, wait_s: float) -> str:
    """Credit-limit offer -> durable wait for the customer's decision, else expiry."""
    message = await DBOS.recv_async(DECISION_TOPIC, timeout_seconds=wait_s)
    return str(message["status"]) if message else await expire_action(action_id)


async def start_credit_offer(workflow_id: str, action_id: str, wait_s: float) -> None:
    """Start the offer's wait once (the id makes a second start return the first run)."""
    with SetWorkflowID(workflow_id):
        await DBOS.start_workflow_async(credit_offer, action_id, wait_s)
