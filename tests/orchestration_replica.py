"""A service replica for the two-process test, driven line by line on stdin:
`accept ID CUSTOMER`, `confirm ID CUSTOMER` (the event's action), `adopt EXECUTOR`, `quit`;
each answers one JSON line. Started with the bank's PostgreSQL URL and its executor id."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from advisor.orchestration import runtime
from advisor.orchestration.runtime import Orchestration
from advisor.settings import Settings
from tests.orchestration_helpers import payroll, wait_for


def handle(services: Orchestration, command: list[str]) -> Any:
    """One command's answer."""
    if command[0] == "accept":
        receipt = services.events.accept(payroll(command[1], command[2]))
        return {"replay": receipt.replay, "workflow_id": receipt.workflow_id}
    if command[0] == "confirm":
        action = wait_for(lambda: [a for a in services.actions.for_customer(command[2])
                                   if a.event_id == command[1]])[0]  # fmt: skip
        return services.actions.decide(command[2], action.id, "confirm", f"k-{action.id}").status
    if command[0] == "adopt":
        return runtime.adopt([command[1]])
    raise ValueError(command)


def main(var_dir: str, url: str, executor: str) -> None:
    """Serve commands until `quit`."""
    settings = Settings(var_dir=Path(var_dir), database_url=url, jwt_secret="x" * 40,
                        workflow_executor_id=executor)  # fmt: skip
    with runtime.running(settings) as services:
        print(json.dumps("ready"), flush=True)
        for line in sys.stdin:
            command = line.split()
            if command == ["quit"]:
                break
            print(json.dumps(handle(services, command)), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
