"""The audit chain's anchor: the newest entry's seq and hash, sealed, kept apart from the log.

A hash chain shows an edited, removed or reordered entry, but not that its newest entries were
cut off (or cut off and rewritten): what is left still chains. Each append therefore moves the
anchor (table `audit_anchor`, one row) in the same transaction, and verification asks that
the chain end exactly where the anchor says. The seal is an HMAC-SHA256 under the audit key
(`ADVISOR_AUDIT_KEY`), so nobody without the key can move the anchor back after cutting the
log; without a key it is a plain SHA-256, which catches a careless cut but not a deliberate one.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portfolio_context.models import Base

ANCHOR_ID = 1


class AuditAnchor(Base):
    """Where the audit chain ends: its last seq and hash, sealed."""

    __tablename__ = "audit_anchor"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str] = mapped_column(String(64))


ANCHOR_TABLE = Base.metadata.tables[AuditAnchor.__tablename__]


def seal(secret: bytes | None, seq: int, head: str) -> str:
    """HMAC-SHA256 of '<seq>:<hash>' under the audit key (SHA-256 without one), hex."""
    message = f"anchor:{seq}:{head}".encode()
    if secret:
        return hmac.new(secret, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def advance(db: Session, seq: int, head: str, secret: bytes | None) -> None:
    """Move the anchor to a new last entry (inside the append's transaction)."""
    anchor = db.get(AuditAnchor, ANCHOR_ID) or AuditAnchor(id=ANCHOR_ID)
    anchor.seq, anchor.hash, anchor.seal = seq, head, seal(secret, seq, head)
    db.add(anchor)


def adopt_head(db: Session, seq: int, head: str, secret: bytes | None) -> bool:
    """Anchor a log written before anchors existed at its current end (once): whether it did."""
    if db.get(AuditAnchor, ANCHOR_ID) is not None or seq == 0:
        return False
    advance(db, seq, head, secret)
    return True


def anchor_fault(db: Session, seq: int, head: str, secret: bytes | None) -> tuple[int, str] | None:
    """(the first seq that is missing or wrong, why) when the chain does not end at the anchor."""
    anchor = db.scalars(select(AuditAnchor).where(AuditAnchor.id == ANCHOR_ID)).first()
    if anchor is None:
        return None if seq == 0 else (1, "the log's anchor is missing (deleted)")
    if not hmac.compare_digest(anchor.seal, seal(secret, anchor.seq, anchor.hash)):
        return (anchor.seq, "the anchor's seal is wrong (anchor forged, or another audit key)")
    if seq < anchor.seq:
        return (seq + 1, f"the log ends at seq {seq} but its anchor records {anchor.seq} "
                         "(entries cut off)")  # fmt: skip
    if seq > anchor.seq or head != anchor.hash:
        return (anchor.seq, "the log's last entries differ from what its anchor records "
                            "(entries rewritten or appended outside the log)")  # fmt: skip
    return None
