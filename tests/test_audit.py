"""The hash-chained audit log: appends, concurrent writers, every kind of tampering caught."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from advisor.cli import app
from advisor.orchestration.audit import AuditLog, canonical_json, entry_hash
from advisor.settings import get_settings
from portfolio_context.db import engine_for
from tests.pg import fresh_database

Tamper = Callable[[Connection], None]


def filled(url: str, n: int = 6) -> AuditLog:
    """An audit log with n entries of varied kinds."""
    log = AuditLog(url)
    kinds = ["event_received", "decision", "nudge", "confirmation", "execution", "contract"]
    for i in range(n):
        log.append(kinds[i % len(kinds)], f"C000{i % 3 + 1}", {"n": i, "amount": f"{i}00.00"})
    return log


def _row(conn: Connection, seq: int) -> dict[str, object]:
    """One audit row as a dict."""
    query = text("SELECT * FROM audit_log WHERE seq = :s")
    return dict(conn.execute(query, {"s": seq}).mappings().one())


def _stamp(conn: Connection, seq: int) -> dt.datetime:
    """An entry's time as the ORM reads it (SQLite hands raw SQL a string)."""
    value = _row(conn, seq)["at"]
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def _shift_up(conn: Connection, start: int) -> None:
    """Renumber entries from `start` one up (top first, so keys never collide)."""
    top = conn.execute(text("SELECT max(seq) FROM audit_log")).scalar_one()
    for seq in range(top, start - 1, -1):
        conn.execute(text("UPDATE audit_log SET seq = seq + 1 WHERE seq = :s"), {"s": seq})


def _forge(conn: Connection, seq: int, prev: str, rehash: bool) -> str:
    """Insert a forged entry at `seq`; with `rehash` its own hash is made to fit."""
    at = _stamp(conn, 1)
    payload = canonical_json({"amount": "5000.00"})
    digest = entry_hash(prev, seq, at, "execution", "C0009", payload) if rehash else "f" * 64
    conn.execute(
        text(
            "INSERT INTO audit_log (seq, at, kind, subject, payload, prev_hash, hash) "
            "VALUES (:seq, :at, 'execution', 'C0009', :p, :prev, :h)"
        ),
        {"seq": seq, "at": at.isoformat(" "), "p": payload, "prev": prev, "h": digest},
    )
    return digest


def edit_payload(conn: Connection) -> None:
    forged = canonical_json({"amount": "9999.00", "n": 2})
    conn.execute(text("UPDATE audit_log SET payload = :p WHERE seq = 3"), {"p": forged})


def edit_subject(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_log SET subject = 'C0007' WHERE seq = 3"))


def edit_and_rehash(conn: Connection) -> None:
    row = _row(conn, 3)
    payload = canonical_json({"amount": "9999.00", "n": 2})
    prev, kind, subject = str(row["prev_hash"]), str(row["kind"]), str(row["subject"])
    digest = entry_hash(prev, 3, _stamp(conn, 3), kind, subject, payload)
    query = text("UPDATE audit_log SET payload = :p, hash = :h WHERE seq = 3")
    conn.execute(query, {"p": payload, "h": digest})


def delete_middle(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))


def delete_and_renumber(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    for seq in range(4, 7):
        conn.execute(text("UPDATE audit_log SET seq = seq - 1 WHERE seq = :s"), {"s": seq})


def swap_seqs(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = 2"))
    conn.execute(text("UPDATE audit_log SET seq = 2 WHERE seq = 3"))
    conn.execute(text("UPDATE audit_log SET seq = 3 WHERE seq = -1"))


def swap_contents(conn: Connection) -> None:
    two, three = _row(conn, 2), _row(conn, 3)
    for seq, row in ((2, three), (3, two)):
        conn.execute(
            text("UPDATE audit_log SET kind = :k, subject = :s, payload = :p WHERE seq = :q"),
            {"k": row["kind"], "s": row["subject"], "p": row["payload"], "q": seq},
        )


def insert_crude(conn: Connection) -> None:
    _shift_up(conn, 3)
    _forge(conn, 3, "a" * 64, rehash=False)


def insert_relinked(conn: Connection) -> None:
    _shift_up(conn, 3)
    old_prev = str(_row(conn, 4)["prev_hash"])
    conn.execute(text("UPDATE audit_log SET prev_hash = :x WHERE seq = 4"), {"x": "b" * 64})
    forged = _forge(conn, 3, old_prev, rehash=True)
    conn.execute(text("UPDATE audit_log SET prev_hash = :h WHERE seq = 4"), {"h": forged})


def append_forged(conn: Connection) -> None:
    _forge(conn, 7, "e" * 64, rehash=True)


def add_key(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_log SET dedupe_key = 'forged' WHERE seq = 4"))


def garble_payload(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_log SET payload = 'not json' WHERE seq = 5"))


TAMPER_CASES: list[tuple[str, Tamper, int]] = [
    ("edited payload", edit_payload, 3),
    ("edited subject", edit_subject, 3),
    ("edited and its hash recomputed", edit_and_rehash, 4),
    ("deleted row", delete_middle, 4),
    ("deleted row, later ones renumbered", delete_and_renumber, 3),
    ("reordered seqs", swap_seqs, 2),
    ("reordered contents", swap_contents, 2),
    ("inserted row, crude hash", insert_crude, 3),
    ("inserted row, chain relinked around it", insert_relinked, 4),
    ("appended row off the chain", append_forged, 7),
    ("payload not JSON", garble_payload, 5),
    ("dedupe key added", add_key, 4),
]
TAMPERS = [pytest.param(tamper, bad, id=name) for name, tamper, bad in TAMPER_CASES]


@pytest.fixture
def lite_url(tmp_path: Path) -> str:
    """A fresh SQLite database."""
    return f"sqlite:///{tmp_path / 'audit.db'}"


def test_appends_number_from_one_and_verify(lite_url: str) -> None:
    log = filled(lite_url)
    assert [e.seq for e in log.entries()] == [1, 2, 3, 4, 5, 6]
    assert log.entries()[0].prev_hash == "0" * 64
    assert log.verify() is None
    assert log.check() == (6, None)


def test_payload_is_stored_canonical(lite_url: str) -> None:
    log = AuditLog(lite_url)
    log.append("decision", "C0001", {"b": 1, "a": {"z": [1, 2], "y": None}})
    assert log.entries()[0].payload == '{"a":{"y":null,"z":[1,2]},"b":1}'


def test_unknown_kind_is_refused_and_nothing_written(lite_url: str) -> None:
    log = AuditLog(lite_url)
    with pytest.raises(ValueError, match="unknown audit kind 'payment'"):
        log.append("payment", "C0001", {})
    assert log.entries() == []


@pytest.mark.parametrize(("tamper", "first_bad"), TAMPERS)
def test_tampering_names_the_first_bad_entry(
    lite_url: str, tamper: Tamper, first_bad: int
) -> None:
    log = filled(lite_url)
    with engine_for(lite_url).begin() as conn:
        tamper(conn)
    assert log.verify() == first_bad


def test_a_keyed_append_happens_once(lite_url: str) -> None:
    log = filled(lite_url, 2)
    first = log.append("execution", "action/a1", {"amount": "500.00"}, key="exec:a1")
    again = log.append("execution", "action/a1", {"amount": "500.00"}, key="exec:a1")
    assert first == again == 3
    assert [e.seq for e in log.entries()] == [1, 2, 3]
    assert log.append("execution", "action/a2", {}, key="exec:a2") == 4
    assert log.verify() is None


def test_concurrent_keyed_appends_keep_one_entry(lite_url: str) -> None:
    log, seqs = AuditLog(lite_url), list[int]()
    workers = [
        threading.Thread(target=lambda: seqs.append(log.append("nudge", "e/1", {}, key="n:1")))
        for _ in range(6)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert seqs == [1] * 6 and len(log.entries()) == 1


def test_a_table_from_before_dedupe_keys_gets_the_column(lite_url: str) -> None:
    with engine_for(lite_url).begin() as conn:
        conn.execute(text(
            "CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, at DATETIME, kind VARCHAR(32), "
            "subject VARCHAR(128), payload TEXT, prev_hash VARCHAR(64) UNIQUE, "
            "hash VARCHAR(64) UNIQUE)"
        ))  # fmt: skip
    log = AuditLog(lite_url)
    seqs = [log.append("decision", "C0001", {}, key="d:1") for _ in range(2)]
    assert seqs == [1, 1] and log.verify() is None


def _concurrent_appends(url: str, threads: int, each: int) -> AuditLog:
    """Append from several threads at once (each with its own AuditLog)."""
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            log = AuditLog(url)
            for i in range(each):
                log.append("event_received", name, {"i": i})
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(f"W{t}",)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    return AuditLog(url)


def test_concurrent_writers_on_sqlite_keep_one_chain(lite_url: str) -> None:
    log = _concurrent_appends(lite_url, threads=6, each=15)
    assert [e.seq for e in log.entries()] == list(range(1, 91))
    assert log.verify() is None


@pytest.fixture
def cli_db(lite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The CLI pointed at a fresh database."""
    monkeypatch.setenv("ADVISOR_DATABASE_URL", lite_url)
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield lite_url
    get_settings.cache_clear()


def test_cli_verify_passes_then_names_the_tampered_entry(cli_db: str) -> None:
    runner = CliRunner()
    filled(cli_db)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "6 entries verified" in result.output
    with engine_for(cli_db).begin() as conn:
        edit_payload(conn)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "broken at seq 3 (nudge C0003)" in result.output
    assert "entry edited" in result.output


def test_cli_verify_on_an_empty_log(cli_db: str) -> None:
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0
    assert "0 entries verified" in result.output


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh, empty database on the local PostgreSQL server, dropped afterwards."""
    with fresh_database("advisor_audit") as url:
        yield url


def _clear(url: str) -> None:
    """Empty the audit table (the PostgreSQL database is shared by the module)."""
    AuditLog(url)
    with engine_for(url).begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


@pytest.mark.postgres
def test_concurrent_writers_on_postgres_keep_one_chain(pg_url: str) -> None:
    _clear(pg_url)
    log = _concurrent_appends(pg_url, threads=6, each=15)
    assert [e.seq for e in log.entries()] == list(range(1, 91))
    assert log.verify() is None


@pytest.mark.postgres
@pytest.mark.parametrize(("tamper", "first_bad"), TAMPERS)
def test_tampering_on_postgres(pg_url: str, tamper: Tamper, first_bad: int) -> None:
    _clear(pg_url)
    log = filled(pg_url)
    with engine_for(pg_url).begin() as conn:
        tamper(conn)
    assert log.verify() == first_bad
