"""Faults at a database commit: a process killed there, or one commit that raises.

Every state change of the orchestration is a committed transaction (the bank's, the audit
log's, DBOS's own checkpoints), so a crash anywhere in a run is a crash before one of its
writing commits: `kill_at(k)` fails the k-th writing commit and every commit after it (the
process is dead: nothing more reaches any database until it restarts), `raise_at(k)` fails
only the bank database's k-th one (a transient error its caller retries). Unlike a real
crash, the killed process's threads keep running here: any still alive at the restart stays
dead, so a late write of theirs (DBOS recording the kill's exception as the workflow's ERROR
after the restart) cannot land, as it could not in production.
"""

from __future__ import annotations

import threading
import weakref
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
        self.dead: weakref.WeakSet[threading.Thread] = weakref.WeakSet()  # the killed's threads

    def arm(self, kill_on: int | None = None, raise_on: int | None = None) -> None:
        """Fail the `kill_on`-th writing commit and all after it, or only the `raise_on`-th."""
        with self.lock:
            self.writes = self.bank_writes = 0
            self.kill_on, self.raise_on = kill_on, raise_on
            self.killed.clear()
            self.raised = False

    def disarm(self) -> None:
        """The restarted process: nothing fails any more, but the threads the killed process
        left running (all but the caller's) stay dead."""
        with self.lock:
            if self.killed.is_set():
                caller = threading.current_thread()
                self.dead.update(t for t in threading.enumerate() if t is not caller)
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
            if self.killed.is_set() or threading.current_thread() in self.dead:
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
