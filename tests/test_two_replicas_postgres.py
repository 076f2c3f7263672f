"""Two service processes on one PostgreSQL database, each its own DBOS executor: an event
posted to both is taken once, and the workflow a SIGKILLed replica left waiting is adopted
by the other (runtime.adopt), which finishes it once when the customer confirms."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from portfolio_context.db import engine_for
from portfolio_context.seed import seed_bank
from tests.conftest import AS_OF
from tests.orchestration_helpers import outcome, postings, wait_for
from tests.pg import fresh_database

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[1]


class Replica:
    """A child service process spoken to line by line."""

    def __init__(self, var_dir: Path, url: str, executor: str) -> None:
        var_dir.mkdir()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.orchestration_replica", str(var_dir), url, executor],
            cwd=ROOT, env=os.environ | {"ADVISOR_PROFILE": "test"}, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.read() == "ready"

    def read(self) -> Any:
        """The next answer."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the replica died"
        return json.loads(line)

    def send(self, *command: str) -> None:
        """Send a command (read its answer with `read`)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(" ".join(command) + "\n")
        self.proc.stdin.flush()

    def ask(self, *command: str) -> Any:
        """Send a command and read its answer."""
        self.send(*command)
        return self.read()

    def stop(self) -> None:
        """Quit, or kill when it does not."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL bank (DBOS's state goes into the same database)."""
    with fresh_database("advisor_replicas") as url:
        seed_bank(url, 4, 42, AS_OF)
        yield url


def workflows(url: str, workflow_id: str) -> list[tuple[str, str]]:
    """DBOS's rows for a workflow id: (status, executor)."""
    with engine_for(url).connect() as conn:
        query = text("SELECT status, executor_id FROM dbos.workflow_status "
                     "WHERE workflow_uuid = :w")  # fmt: skip
        return [(r[0], r[1]) for r in conn.execute(query, {"w": workflow_id})]


def test_two_replicas_take_each_event_once_and_adopt_a_dead_ones_workflow(
    tmp_path: Path, bank: str
) -> None:
    a = Replica(tmp_path / "a", bank, "replica-a")
    b = Replica(tmp_path / "b", bank, "replica-b")
    try:
        for n, customer in enumerate(("C0001", "C0002", "C0001")):
            a.send("accept", f"both-{n}", customer)
            b.send("accept", f"both-{n}", customer)
            replays = sorted([a.read()["replay"], b.read()["replay"]])
            assert replays == [False, True]
            assert postings(bank, f"event:both-{n}") == 1
            assert len(workflows(bank, f"event:both-{n}")) == 1
        assert a.ask("accept", "orphan", "C0003")["replay"] is False
        wait_for(lambda: workflows(bank, "event:orphan") == [("PENDING", "replica-a")]
                 and postings(bank, "event:orphan"))  # fmt: skip
        a.proc.send_signal(signal.SIGKILL)
        adopted = b.ask("adopt", "replica-a")
        assert "event:orphan" in adopted
        assert b.ask("confirm", "orphan", "C0003") == "executed"
        assert wait_for(lambda: outcome(bank, "orphan"), timeout_s=30) == "executed"
        # DBOS records SUCCESS after the workflow function returns, a moment after its outcome
        ended = wait_for(
            lambda: [w for w in workflows(bank, "event:orphan") if w[0] != "PENDING"], timeout_s=30
        )
        assert ended == [("SUCCESS", "replica-b")]
        assert postings(bank, "action:") == 2  # the one confirmed transfer, once
    finally:
        a.stop()
        b.stop()
