"""The audit chain's heads published outside the database: an append-only anchor file.

The sealed anchor row (audit_anchor.py) lives in the same database as the log, so whoever can
cut the log can also put back an older anchor row, sealed when it was current, and the cut
passes. Each append therefore also publishes the new head to a file the database cannot
touch (`ADVISOR_AUDIT_ANCHOR_FILE`; keep it on another volume, append-only with
`chattr +a`, or shipped off the host): one line per head, `seq<TAB>hash<TAB>seal<TAB>time`,
written after the commit with O_APPEND under an exclusive lock and fsynced. Verification
asks that every published head is still in the log: a log shorter than a published head
was cut, a different hash there was rewritten. Lines may come out of seq order (concurrent
writers publish after their own commits) and the file may lag the log by the appends a
crash interrupted; neither is a finding.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
FIELDS = 4


@dataclass(frozen=True)
class Head:
    """One published head: the entry `seq` had hash `hash` at `at`; `line` in the file."""

    line: int
    seq: int
    hash: str
    at: str


@dataclass(frozen=True)
class HeadFault:
    """A published head the log contradicts (or a line that is not a sealed head)."""

    seq: int
    reason: str


def head_seal(secret: bytes | None, seq: int, head: str, at: str) -> str:
    """HMAC-SHA256 of 'head:<seq>:<hash>:<time>' under the audit key (SHA-256 without), hex."""
    message = f"head:{seq}:{head}:{at}".encode()
    if secret:
        return hmac.new(secret, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


class HeadFile:
    """The append-only file the chain's heads are published to."""

    def __init__(self, path: Path, secret: bytes | None) -> None:
        self.path, self.secret = path, secret

    def publish(self, seq: int, head: str) -> None:
        """Append one sealed head line (atomic under the lock) and fsync it."""
        at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        line = f"{seq}\t{head}\t{head_seal(self.secret, seq, head, at)}\t{at}\n".encode()
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            written = os.write(fd, line)
            if written != len(line):  # a full disk: never leave half a line behind silently
                raise OSError(f"short write to {self.path}: {written} of {len(line)} bytes")
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock
        if created:
            _fsync_dir(self.path.parent)

    def try_publish(self, seq: int, head: str) -> None:
        """Publish; a failure is logged, not raised: the entry is committed already, and an
        append retried on it would write the entry twice (the file then lags the log)."""
        try:
            self.publish(seq, head)
        except OSError:
            log.exception("could not publish audit head %d to %s", seq, self.path)

    def heads(self) -> Iterator[Head | HeadFault]:
        """Each line as a head, or as a fault when it is malformed or its seal is wrong."""
        with self.path.open("rb") as file:
            for number, raw in enumerate(file, start=1):
                yield self._parse(number, raw)

    def _parse(self, number: int, raw: bytes) -> Head | HeadFault:
        """One line: four fields, a sealed head."""
        where = f"line {number} of the anchor file {self.path}"
        fields = raw.decode("utf-8", "replace").rstrip("\n").split("\t")
        if not raw.endswith(b"\n") or len(fields) != FIELDS or not fields[0].isdigit():
            return HeadFault(0, f"{where} is not a published head (torn or edited)")
        seq, head, sealed, at = int(fields[0]), fields[1], fields[2], fields[3]
        if not hmac.compare_digest(sealed, head_seal(self.secret, seq, head, at)):
            return HeadFault(seq, f"{where} has a wrong seal (forged, or another audit key)")
        return Head(number, seq, head, at)


def _fsync_dir(folder: Path) -> None:
    """Make a newly created file's directory entry durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HeadCheck:
    """Checks the log's entries, walked in seq order, against every published head."""

    def __init__(self, heads: HeadFile) -> None:
        """Read the whole file; the first line that is no sealed head is kept as `bad`."""
        self.path = heads.path
        self.by_seq: dict[int, list[Head]] = {}
        self.bad: HeadFault | None = None
        self.count = 0
        for item in heads.heads() if heads.path.exists() else iter(()):
            if isinstance(item, HeadFault):
                self.bad = self.bad or item
                continue
            self.by_seq.setdefault(item.seq, []).append(item)
            self.count += 1

    def entry(self, seq: int, digest: str) -> HeadFault | None:
        """A head published for this seq with another hash: the entry was rewritten."""
        for head in self.by_seq.get(seq, ()):
            if not hmac.compare_digest(head.hash, digest):
                return HeadFault(seq, f"entry {seq} differs from its head published at "
                                      f"{head.at} (line {head.line} of the anchor file "
                                      f"{self.path}): entries rewritten")  # fmt: skip
        return None

    def end(self, last: int) -> HeadFault | None:
        """A head published beyond the log's end (cut), or none at all for a log with entries."""
        if not self.by_seq:
            if last == 0:
                return None
            return HeadFault(1, f"no head was published to the anchor file {self.path} "
                                f"although the log holds {last} entries (file deleted or "
                                "emptied; a log from before the file: `advisor audit "
                                "anchor`)")  # fmt: skip
        top = max(self.by_seq)
        if top <= last:
            return None
        head = self.by_seq[top][0]
        return HeadFault(last + 1, f"the log ends at seq {last} but seq {top} was published to "
                                   f"the anchor file {self.path} at {head.at} (entries cut "
                                   "off)")  # fmt: skip

    @property
    def newest(self) -> int:
        """The highest seq published (0: none)."""
        return max(self.by_seq, default=0)


def retire(path: Path | None) -> Path | None:
    """Set a reseeded bank's old heads aside (the log starts a new chain): the file renamed
    to '<name>.before-reseed-<UTC time>', kept as evidence; where it went (None: no file)."""
    if path is None or not path.exists():
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    kept = path.with_name(f"{path.name}.before-reseed-{stamp}")
    path.rename(kept)
    return kept
