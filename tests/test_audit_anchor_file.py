"""Audit heads published outside the database (ADVISOR_AUDIT_ANCHOR_FILE): a log cut with an
older, validly sealed anchor row put back passes the database's own check but fails against
the file; an untouched log passes; without the file `verify` says the check was skipped; two
processes appending at once keep the file whole."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from advisor.cli import app
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.audit_heads import Head, HeadFile, retire
from advisor.settings import get_settings
from portfolio_context.db import engine_for

KEY = b"audit-key-for-tests-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'a.db'}"


@pytest.fixture
def heads(tmp_path: Path) -> Path:
    return tmp_path / "published" / "audit-heads.log"


def append(log: AuditLog, start: int, n: int) -> None:
    """n keyed entries."""
    for i in range(start, start + n):
        log.append("execution", f"action/a{i}", {"amount": f"{i}00.00"}, key=f"exec:a{i}")


def anchor_row(url: str) -> dict[str, object]:
    with engine_for(url).begin() as conn:
        return dict(conn.execute(text("SELECT * FROM audit_anchor")).mappings().one())


def cut_and_restore_anchor(url: str, keep: int, saved: dict[str, object]) -> None:
    """The attack: cut the log after `keep` and put back the anchor row sealed at that time."""
    with engine_for(url).begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq > :k"), {"k": keep})
        conn.execute(text("UPDATE audit_anchor SET seq = :seq, hash = :hash, seal = :seal"),
                     saved)  # fmt: skip


def test_a_cut_with_the_old_anchor_row_put_back_fails_only_against_the_file(
    url: str, heads: Path
) -> None:
    heads.parent.mkdir()
    log = AuditLog(url, KEY, heads)
    append(log, 0, 4)
    saved = anchor_row(url)
    append(log, 4, 3)
    assert log.report().finding is None and log.report().heads == 7
    cut_and_restore_anchor(url, 4, saved)
    assert AuditLog(url, KEY).check() == (4, None)  # the database's own anchor is fooled
    report = AuditLog(url, KEY, heads).report()
    assert report.finding is not None
    assert (report.finding.seq, report.finding.kind) == (5, "anchor_file")
    assert "ends at seq 4 but seq 7 was published" in report.finding.reason
    assert "cut off" in report.finding.reason


def test_an_untouched_log_passes_with_one_sealed_line_per_append(url: str, heads: Path) -> None:
    heads.parent.mkdir()
    log = AuditLog(url, KEY, heads)
    append(log, 0, 5)
    append(log, 0, 5)  # keyed repeats append nothing, so publish nothing
    lines = list(HeadFile(heads, KEY).heads())
    assert [h.seq for h in lines if isinstance(h, Head)] == [1, 2, 3, 4, 5]
    assert [h.hash for h in lines if isinstance(h, Head)] == [e.hash for e in log.entries()]
    report = log.report()
    assert (report.entries, report.finding, report.heads, report.newest_head) == (5, None, 5, 5)


def test_a_rewritten_entry_a_forged_line_and_a_torn_line_are_named(url: str, heads: Path) -> None:
    heads.parent.mkdir()
    log = AuditLog(url, KEY, heads)
    append(log, 0, 3)
    original = heads.read_bytes()
    heads.write_bytes(original + b"9\t" + b"a" * 64 + b"\t" + b"b" * 64 + b"\t2026-01-01Z\n")
    finding = log.report().finding
    assert finding is not None and "line 4" in finding.reason and "wrong seal" in finding.reason
    heads.write_bytes(original + b"4\tabc")
    finding = log.report().finding
    assert finding is not None and "line 4" in finding.reason and "torn" in finding.reason
    heads.write_bytes(original)
    with engine_for(url).begin() as conn:  # the whole tail rewritten: chain and anchor agree
        conn.execute(text("UPDATE audit_log SET hash = :h WHERE seq = 3"), {"h": "c" * 64})
        conn.execute(text("UPDATE audit_anchor SET hash = :h"), {"h": "c" * 64})
    finding = log.report().finding
    assert finding is not None and finding.seq == 3


def test_a_deleted_file_fails_and_the_operator_can_publish_the_head(url: str, heads: Path) -> None:
    heads.parent.mkdir()
    append(AuditLog(url, KEY), 0, 3)  # written before the file was set
    log = AuditLog(url, KEY, heads)
    finding = log.report().finding
    assert finding is not None and "no head was published" in finding.reason
    assert log.anchor_existing() == 3 and log.anchor_existing() == 0  # once
    assert log.report().finding is None and log.report().heads == 1


@pytest.fixture
def cli_env(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ADVISOR_DATABASE_URL", url)
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ADVISOR_AUDIT_KEY", KEY.decode())
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_cli_without_the_file_says_the_check_was_skipped(cli_env: str) -> None:
    append(AuditLog(cli_env, KEY), 0, 2)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0 and "2 entries verified" in result.output
    assert "external anchor check skipped" in result.output
    strict = CliRunner().invoke(app, ["audit", "verify", "--require-anchor-file"])
    assert strict.exit_code == 1 and "skipped" in strict.output


def test_cli_with_the_file_passes_then_names_the_cut(
    cli_env: str, heads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    heads.parent.mkdir()
    monkeypatch.setenv("ADVISOR_AUDIT_ANCHOR_FILE", str(heads))
    get_settings.cache_clear()
    log = AuditLog.from_settings(get_settings())
    append(log, 0, 2)
    saved = anchor_row(cli_env)
    append(log, 2, 2)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "4 entries verified; 4 heads published" in result.output
    cut_and_restore_anchor(cli_env, 2, saved)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "broken at seq 3 (anchor_file" in result.output
    assert "cut off" in result.output


WRITER = """
import sys
from pathlib import Path
from advisor.orchestration.audit import AuditLog
log = AuditLog(sys.argv[1], sys.argv[2].encode(), Path(sys.argv[3]))
for i in range(int(sys.argv[5])):
    log.append("event_received", sys.argv[4], {"i": i})
"""


def writer(url: str, heads: Path, name: str, each: int) -> subprocess.Popen[bytes]:
    """A separate process appending `each` entries under its name."""
    args = [url, KEY.decode(), str(heads), name, str(each)]
    return subprocess.Popen([sys.executable, "-c", WRITER, *args], cwd=ROOT)


def test_two_processes_appending_at_once_keep_the_file_whole(url: str, heads: Path) -> None:
    heads.parent.mkdir()
    AuditLog(url, KEY, heads)  # the tables, before both processes race to create them
    each = 40
    writers = [writer(url, heads, name, each) for name in ("P1", "P2")]
    assert [w.wait(timeout=240) for w in writers] == [0, 0]
    lines = list(HeadFile(heads, KEY).heads())
    assert all(isinstance(h, Head) for h in lines)
    assert Counter(h.seq for h in lines) == Counter(range(1, 2 * each + 1))
    log = AuditLog(url, KEY, heads)
    assert Counter(e.subject for e in log.entries()) == {"P1": each, "P2": each}
    assert log.report().finding is None and log.report().heads == 2 * each


def test_a_reseed_sets_the_old_chains_heads_aside(url: str, heads: Path) -> None:
    heads.parent.mkdir()
    append(AuditLog(url, KEY, heads), 0, 2)
    kept = retire(heads)
    assert kept is not None and kept.name.startswith("audit-heads.log.before-reseed-")
    assert not heads.exists() and len(kept.read_text().splitlines()) == 2
    assert retire(heads) is None and retire(None) is None


def test_advisor_seed_retires_the_heads_of_the_chain_it_clears(
    cli_env: str, heads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    heads.parent.mkdir()
    monkeypatch.setenv("ADVISOR_AUDIT_ANCHOR_FILE", str(heads))
    get_settings.cache_clear()
    append(AuditLog.from_settings(get_settings()), 0, 2)
    result = CliRunner().invoke(app, ["seed", "--customers", "2", "--as-of", "2026-11-28"])
    assert result.exit_code == 0, result.output
    assert not heads.exists() and len(list(heads.parent.glob("*.before-reseed-*"))) == 1
    log = AuditLog.from_settings(get_settings())
    assert log.report().finding is None  # a new chain, no old heads against it
    append(log, 0, 1)
    assert log.report().heads == 1
