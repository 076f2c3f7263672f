"""Faults at a database commit: a process killed there, or one commit that raises.

Every state change of the orchestration is a committed transaction (the bank's, the audit
log's, DBOS's own checkpoints), so a crash anywhere in a run is a crash before one of its
writing commits: `kill_at(k)` fails the k-th writing commit and every commit after it (the
process is dead: nothing more reaches any database until it restarts), `raise_at(k)` fails
only the bank database's k-th one (a transient error its caller retries).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class Killed(Exception):
    """The process died before this commit."""


class TransientFault(Exception):
    """One commit failed; the caller retries."""


class FaultInjector:
    """Counts writing commits on every engine and fails the chosen one(s)."""

    def __init__(self, bank_path: str = "") -> None:
        self.bank_path = bank_path
        self.lock = threading.Lock()
        self.writes = self.bank_writes = 0
        self.kill_on: int | None = None
        self.raise_on: int | None = None
        self.killed = threading.Event()
        self.raised = False

    def arm(self, kill_on: int | None = None, raise_on: int | None = None) -> None:
        """Fail the `kill_on`-th writing commit and all after it, or only the `raise_on`-th."""
        with self.lock:
            self.writes = self.bank_writes = 0
            self.kill_on, self.raise_on = kill_on, raise_on
            self.killed.clear()
            self.raised = False

    def disarm(self) -> None:
        """The restarted process: nothing fails any more."""
        with self.lock:
            self.kill_on = self.raise_on = None
            self.killed.clear()

    def install(self) -> None:
        """Listen on every engine's statements and commits."""
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)
        event.listen(Engine, "rollback", self._rollback)

    def uninstall(self) -> None:
        """Stop listening."""
        event.remove(Engine, "before_cursor_execute", self._statement)
        event.remove(Engine, "commit", self._commit)
        event.remove(Engine, "rollback", self._rollback)

    def _statement(self, conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        """Mark the connection's transaction as writing."""
        if statement.lstrip()[:7].upper().startswith(WRITES):
            conn.info["fault_dirty"] = True

    def _rollback(self, conn: Connection) -> None:
        """A rolled back transaction wrote nothing."""
        conn.info.pop("fault_dirty", None)

    def _commit(self, conn: Connection) -> None:
        """Count a writing commit; fail it when it is the chosen one (or the process is dead)."""
        if not conn.info.pop("fault_dirty", False):
            return
        with self.lock:
            if self.killed.is_set():
                raise Killed("the process is dead")
            self.writes += 1
            if self.kill_on is not None and self.writes >= self.kill_on:
                self.killed.set()
                raise Killed(f"killed before writing commit {self.writes}")
            if not self._is_bank(conn):
                return
            self.bank_writes += 1
            if self.raise_on == self.bank_writes:
                self.raised = True
                raise TransientFault(f"the bank's writing commit {self.bank_writes} failed")

    def _is_bank(self, conn: Connection) -> bool:
        """Whether the connection is the bank's database (DBOS's own is left alone)."""
        return str(conn.engine.url.database or "").endswith(self.bank_path)
