"""The keyed audit chain and its anchor: a cut, a cut-and-rewritten tail, a forged anchor or
the wrong key fail `verify`; the key never shows in the settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from advisor.cli import app
from advisor.orchestration.audit import AuditLog, canonical_json, entry_hash
from advisor.orchestration.audit_anchor import seal
from advisor.settings import Settings, get_settings
from portfolio_context.db import engine_for

KEY = b"audit-key-for-tests-0123456789abcdef"


def filled(url: str, secret: bytes | None = KEY, n: int = 6) -> AuditLog:
    """A log of n entries."""
    log = AuditLog(url, secret)
    for i in range(n):
        log.append("execution", f"action/a{i}", {"amount": f"{i}00.00"}, key=f"exec:a{i}")
    return log


def cut_tail(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_log WHERE seq > 4"))


def cut_and_rewrite(conn: Connection) -> None:
    """Cut the last two entries and chain a forged one on, hashed without the key."""
    cut_tail(conn)
    prev = conn.execute(text("SELECT hash, at FROM audit_log WHERE seq = 4")).one()
    at = conn.execute(text("SELECT at FROM audit_log WHERE seq = 1")).scalar_one()
    stamp = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
    payload = canonical_json({"amount": "1.00"})
    digest = entry_hash(prev[0], 5, stamp, "execution", "action/a4", payload)
    conn.execute(text(
        "INSERT INTO audit_log (seq, at, kind, subject, payload, prev_hash, hash) "
        "VALUES (5, :at, 'execution', 'action/a4', :p, :prev, :h)"
    ), {"at": stamp.isoformat(" "), "p": payload, "prev": prev[0], "h": digest})  # fmt: skip


def cut_and_move_anchor(conn: Connection) -> None:
    """Cut, then point the anchor at the new end with a seal made without the key."""
    cut_tail(conn)
    head = conn.execute(text("SELECT hash FROM audit_log WHERE seq = 4")).scalar_one()
    conn.execute(text("UPDATE audit_anchor SET seq = 4, hash = :h, seal = :s"),
                 {"h": head, "s": seal(None, 4, head)})  # fmt: skip


def drop_anchor(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_anchor"))


def reorder(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = 2"))
    conn.execute(text("UPDATE audit_log SET seq = 2 WHERE seq = 3"))
    conn.execute(text("UPDATE audit_log SET seq = 3 WHERE seq = -1"))


def edit(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_log SET payload = :p WHERE seq = 2"),
                 {"p": canonical_json({"amount": "9999.00"})})  # fmt: skip


CASES: list[tuple[str, Callable[[Connection], None], int, str]] = [
    ("truncated", cut_tail, 5, "cut off"),
    ("truncated and a tail rewritten without the key", cut_and_rewrite, 5, "another audit key"),
    ("truncated and the anchor moved without the key", cut_and_move_anchor, 4, "seal is wrong"),
    ("anchor deleted", drop_anchor, 1, "anchor is missing"),
    ("reordered", reorder, 2, "removed or reordered"),
    ("edited", edit, 2, "entry edited"),
]


@pytest.mark.parametrize(("tamper", "first_bad", "why"),
                         [pytest.param(t, b, w, id=n) for n, t, b, w in CASES])  # fmt: skip
def test_tampering_with_a_keyed_log_fails_verify(
    tmp_path: Path, tamper: Callable[[Connection], None], first_bad: int, why: str
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    log = filled(url)
    assert log.check() == (6, None)
    with engine_for(url).begin() as conn:
        tamper(conn)
    for checked in (log, AuditLog(url, KEY)):  # a fresh log too, as `advisor audit verify`
        finding = checked.check()[1]
        assert finding is not None and finding.seq == first_bad and why in finding.reason


def test_a_cut_log_whose_anchor_was_deleted_is_never_re_anchored_by_opening_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    filled(url)
    with engine_for(url).begin() as conn:
        cut_tail(conn)
        drop_anchor(conn)
    for _ in range(2):  # the first opening (a server start, the CLI) must not seal the cut
        assert AuditLog(url, KEY).verify() == 1


def test_another_key_fails_and_the_unkeyed_log_still_catches_a_careless_cut(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    filled(url)
    assert AuditLog(url, b"another key").verify() == 1
    plain = f"sqlite:///{tmp_path / 'b.db'}"
    filled(plain, secret=None)
    with engine_for(plain).begin() as conn:
        cut_tail(conn)
    assert AuditLog(plain).verify() == 5


def test_a_log_from_before_anchors_is_anchored_by_the_operator(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    filled(url, n=3)
    with engine_for(url).begin() as conn:
        conn.execute(text("DROP TABLE audit_anchor"))
    log = AuditLog(url, KEY)  # re-creates the table, anchors nothing by itself
    assert log.verify() == 1
    assert log.anchor_existing() == 3 and log.anchor_existing() == 0  # once
    assert log.check() == (3, None)
    log.append("nudge", "event/e", {}, key="n:e")
    assert log.check() == (4, None)


def test_the_key_is_never_shown_and_the_cli_fails_a_cut_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cret-audit-key-value"
    assert secret not in repr(Settings(audit_key=secret))
    url = f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.setenv("ADVISOR_DATABASE_URL", url)
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ADVISOR_AUDIT_KEY", secret)
    get_settings.cache_clear()
    try:
        filled(url, secret.encode())
        assert CliRunner().invoke(app, ["audit", "verify"]).exit_code == 0
        with engine_for(url).begin() as conn:
            cut_tail(conn)
        result = CliRunner().invoke(app, ["audit", "verify"])
        assert result.exit_code == 1 and "cut off" in result.output
        assert secret not in result.output
    finally:
        get_settings.cache_clear()
