"""Append-only, hash-chained audit log: one entry per state change, verifiable end to end."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Engine, Integer, String, Text, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from advisor.orchestration.audit_anchor import ANCHOR_TABLE, adopt_head, advance, anchor_fault
from advisor.orchestration.audit_heads import HeadCheck, HeadFault, HeadFile
from portfolio_context.db import engine_for, session_scope
from portfolio_context.models import Base

if TYPE_CHECKING:
    from advisor.settings import Settings

GENESIS = "0" * 64
KINDS = frozenset({
    "event_received", "event_rejected", "decision", "nudge", "confirmation", "execution",
    "contract", "webhook",
})  # fmt: skip
APPEND_ATTEMPTS = 40
PG_LOCK_KEY = 0x61756469  # "audi": one advisory lock serialises appends on PostgreSQL


class AuditEntry(Base):
    """One audit entry; `hash` chains it to the entry before (`prev_hash`)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC, naive
    kind: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(128), index=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON: sorted keys, no whitespace
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The caller's idempotency key: a step that runs again appends nothing new.
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True, nullable=True)


AUDIT_TABLE = Base.metadata.tables[AuditEntry.__tablename__]


@dataclass(frozen=True)
class Finding:
    """The first entry that breaks the chain, and why."""

    seq: int
    kind: str
    subject: str
    reason: str


@dataclass(frozen=True)
class Verification:
    """What verifying found: entries checked, the first bad one, and the published heads
    checked (None: no anchor file is set, so that check was skipped)."""

    entries: int
    finding: Finding | None
    heads: int | None = None
    newest_head: int = 0


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace; Decimal, dates and the like as strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(
    prev_hash: str, seq: int, at: dt.datetime, kind: str, subject: str, payload: str,
    key: str | None = None, secret: bytes | None = None,
) -> str:  # fmt: skip
    """HMAC-SHA256 under the audit key (sha256 without one) of prev_hash + canonical entry,
    hex; the entry names its idempotency key only when it has one."""
    stamp = at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    body = {"seq": seq, "at": stamp, "kind": kind, "subject": subject}
    body["payload"] = json.loads(payload)
    if key is not None:
        body["key"] = key
    message = (prev_hash + canonical_json(body)).encode()
    if secret:
        return hmac.new(secret, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


class AuditLog:
    """The audit log on the advisor's database (SQLite or PostgreSQL)."""

    def __init__(
        self, database_url: str, secret: bytes | None = None, anchor_file: Path | None = None
    ) -> None:
        """Use (and create when missing) the audit_log table at this URL; `secret` keys the
        chain and its anchor (never logged); heads are published to `anchor_file` when set."""
        self.url, self.secret = database_url, secret
        self.heads = HeadFile(anchor_file, secret) if anchor_file else None
        _ensure_table(database_url)

    def anchor_existing(self) -> int:
        """Anchor a log written before anchors (or before the anchor file) existed at its
        current end, once, on an operator's command (`advisor audit anchor`); never on its own,
        or a log cut and its anchor deleted would be re-anchored at the cut. The seq anchored
        (0: already was, or the log is empty)."""
        with session_scope(self.url) as db:
            last = _last(db)
            seq, head = (last.seq, last.hash) if last else (0, GENESIS)
            anchored = adopt_head(db, seq, head, self.secret)
        if seq and self.heads is not None and (anchored or not self.report().heads):
            self.heads.publish(seq, head)  # the file holds no head yet
            anchored = True
        return seq if anchored else 0

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditLog:
        """The audit log on the configured database, keyed by ADVISOR_AUDIT_KEY when set, its
        heads published to ADVISOR_AUDIT_ANCHOR_FILE when set."""
        key = settings.audit_key
        return cls(settings.resolved_database_url, key.encode() if key else None,
                   settings.audit_anchor_file)  # fmt: skip

    def append(
        self, kind: str, subject: str, payload: dict[str, Any], key: str | None = None
    ) -> int:
        """Append one entry and return its seq; concurrent writers are serialised. With a
        `key`, an entry already appended under it is answered (its seq) instead."""
        if kind not in KINDS:
            raise ValueError(f"unknown audit kind {kind!r}; one of {sorted(KINDS)}")
        body = canonical_json(payload)
        for attempt in range(APPEND_ATTEMPTS):
            try:
                with session_scope(self.url) as db:
                    seq, digest = self._append_in(db, kind, subject, body, key)
            except (IntegrityError, OperationalError):
                if attempt == APPEND_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
                continue
            if digest is not None and self.heads is not None:  # after the commit, never before
                self.heads.try_publish(seq, digest)
            return seq
        raise AssertionError("unreachable")

    def _append_in(
        self, db: Session, kind: str, subject: str, body: str, key: str | None
    ) -> tuple[int, str | None]:
        """Lock, read the last entry, insert the next one (one transaction): its seq and hash
        (no hash when the key was appended before)."""
        _lock_for_append(db)
        if key is not None:
            done = db.scalar(select(AuditEntry.seq).where(AuditEntry.dedupe_key == key))
            if done is not None:
                return done, None
        last = _last(db)
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        digest = entry_hash(prev, seq, at, kind, subject, body, key, self.secret)
        entry = AuditEntry(
            seq=seq, at=at, kind=kind, subject=subject, payload=body, prev_hash=prev,
            hash=digest, dedupe_key=key,
        )  # fmt: skip
        db.add(entry)
        db.flush()
        advance(db, seq, digest, self.secret)
        return seq, digest

    def entries(self, after: int = 0, limit: int = 1000) -> list[AuditEntry]:
        """Entries with seq > `after`, in order."""
        with session_scope(self.url) as db:
            query = select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
            return list(db.scalars(query.limit(limit)))

    def check(self) -> tuple[int, Finding | None]:
        """Walk the chain, then check it ends at its anchor: (entries checked, the first bad
        entry or None)."""
        report = self.report()
        return report.entries, report.finding

    def report(self) -> Verification:
        """Walk the chain against the published heads (when an anchor file is set), then check
        it ends at its anchor and at or past the newest published head."""
        published = HeadCheck(self.heads) if self.heads is not None else None
        if published is not None and published.bad is not None:
            return self._verified(0, self._file_finding(published.bad), published)
        expected_seq, expected_prev, count = 1, GENESIS, 0
        with session_scope(self.url) as db:
            for row in db.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
                reason = _fault(row, expected_seq, expected_prev, self.secret)
                if reason:
                    return self._verified(count, Finding(row.seq, row.kind, row.subject, reason),
                                          published)  # fmt: skip
                rewritten = published.entry(row.seq, row.hash) if published else None
                if rewritten:
                    return self._verified(count, self._file_finding(rewritten), published)
                expected_seq, expected_prev, count = row.seq + 1, row.hash, count + 1
            cut = anchor_fault(db, expected_seq - 1, expected_prev, self.secret)
        beyond = published.end(expected_seq - 1) if published else None
        found = [Finding(cut[0], "anchor", "audit_anchor", cut[1])] if cut else []
        found += [self._file_finding(beyond)] if beyond else []
        first = min(found, key=lambda f: f.seq) if found else None  # the anchor row on a tie
        return self._verified(count, first, published)

    def _file_finding(self, fault: HeadFault) -> Finding:
        """A published head the log contradicts, as a finding."""
        return Finding(fault.seq, "anchor_file", str(self.heads.path if self.heads else ""),
                       fault.reason)  # fmt: skip

    @staticmethod
    def _verified(count: int, found: Finding | None, published: HeadCheck | None) -> Verification:
        """The verification, with how many published heads there were (None: no file)."""
        if published is None:
            return Verification(count, found)
        return Verification(count, found, published.count, published.newest)

    def verify(self) -> int | None:
        """The seq of the first bad entry, or None when the whole chain holds."""
        finding = self.check()[1]
        return finding.seq if finding else None


def _last(db: Session) -> AuditEntry | None:
    """The newest entry."""
    return db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()


def _fault(
    row: AuditEntry, expected_seq: int, expected_prev: str, secret: bytes | None
) -> str | None:
    """Why this row breaks the chain, or None."""
    if row.seq != expected_seq:
        return f"expected seq {expected_seq}, found {row.seq} (entry missing or inserted)"
    if row.prev_hash != expected_prev:
        return "prev_hash does not match the previous entry's hash (entry removed or reordered)"
    try:
        digest = entry_hash(
            row.prev_hash, row.seq, row.at, row.kind, row.subject, row.payload,
            row.dedupe_key, secret,
        )  # fmt: skip
    except ValueError:
        return "payload is not valid JSON"
    if digest != row.hash:
        return "hash does not match the entry's content (entry edited, or another audit key)"
    return None


def _ensure_table(url: str) -> None:
    """Create audit_log when missing; another process creating it at the same time is fine."""
    engine = engine_for(url)
    for table in (AUDIT_TABLE, ANCHOR_TABLE):
        try:
            Base.metadata.create_all(engine, tables=[table])
        except DBAPIError:
            if not inspect(engine).has_table(table.name):
                raise
    _add_dedupe_key(engine)


def _add_dedupe_key(engine: Engine) -> None:
    """Give a table made before `dedupe_key` existed the column and its unique index."""
    if "dedupe_key" in {c["name"] for c in inspect(engine).get_columns(AUDIT_TABLE.name)}:
        return
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_log ADD COLUMN dedupe_key VARCHAR(160)"))
            conn.execute(text(
                "CREATE UNIQUE INDEX IF NOT EXISTS uq_audit_log_dedupe_key "
                "ON audit_log (dedupe_key)"
            ))  # fmt: skip
    except DBAPIError:  # another process added it first
        if "dedupe_key" not in {c["name"] for c in inspect(engine).get_columns("audit_log")}:
            raise


def _lock_for_append(db: Session) -> None:
    """Take the database's write lock before reading the last entry."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
    elif dialect == "sqlite":
        # A write that changes nothing still takes SQLite's write lock (waits on busy_timeout).
        db.execute(text("UPDATE audit_log SET seq = seq WHERE 0"))
