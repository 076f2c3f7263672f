"""The fault injector's kill (tests/fault_injection.py) is as final as a real crash: a thread
of the killed process that is still running after the restart writes nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.fault_injection import FaultInjector, Killed


def _write(engine: Engine, value: int) -> None:
    """One writing commit."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": value})


def _stale_write(engine: Engine, go: threading.Event, outcome: list[str]) -> None:
    """The killed process's thread: it writes once the restart has happened."""
    go.wait(5)
    try:
        _write(engine, 1)
        outcome.append("landed")
    except Killed:
        outcome.append("killed")


def test_a_killed_process_thread_writes_nothing_after_the_restart(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'bank.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v INTEGER)"))
    injector, go, outcome = FaultInjector(), threading.Event(), list[str]()
    injector.install()
    try:
        injector.arm(kill_on=1)
        stale = threading.Thread(target=_stale_write, args=(engine, go, outcome))
        stale.start()
        with pytest.raises(Killed):
            _write(engine, 0)  # the kill
        injector.disarm()  # the restart
        go.set()
        stale.join(5)
        _write(engine, 2)  # the restarted process writes as before
        with engine.connect() as conn:
            rows = list(conn.scalars(text("SELECT v FROM t")))
    finally:
        injector.uninstall()
        engine.dispose()
    assert outcome == ["killed"]
    assert rows == [2]
