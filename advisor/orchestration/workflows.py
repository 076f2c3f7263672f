"""Durable workflows on DBOS Transact: decorated functions, started once per event id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dbos import DBOS, SetWorkflowID

# name -> workflow function; filled by the modules that define workflows (see sweep.py).
WORKFLOWS: dict[str, Callable[..., Any]] = {}


def workflow(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a DBOS workflow under a stable name events.yaml can refer to."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = DBOS.workflow(name=name)(func)
        WORKFLOWS[name] = wrapped
        return wrapped

    return register


class DbosStarter:
    """Starts registered workflows on the launched DBOS; the id makes the start exactly-once."""

    def start(self, workflow: str, workflow_id: str) -> None:
        """Start `workflow` with id `workflow_id` (DBOS returns the existing run for a known id)."""
        from advisor.orchestration import sweep  # noqa: F401  registers the workflows

        func = WORKFLOWS[workflow]
        with SetWorkflowID(workflow_id):
            DBOS.start_workflow(func, workflow_id)
