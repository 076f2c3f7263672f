"""A chat session's PII vault in the database, sealed with AES-256-GCM under the vault key.

Any replica (or a restarted one) serves the session's next turn: it reads the vault at the
start of the turn and writes it back with the turn, so no process keeps a session's values.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import DateTime, LargeBinary, String, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from advisor.auth import signing_secret
from advisor.errors import AdvisorError
from advisor.rails.pii.vault import Vault
from advisor.settings import Settings
from advisor.store import utcnow
from portfolio_context.models import Base

log = logging.getLogger("advisor.chat.vaults")
FORMAT = b"\x01"  # AES-256-GCM, 12-byte nonce, the session id as associated data
NONCE_BYTES = 12
DEV_KEY_INFO = b"advisor-vault-v1"
# May derive a key (warned once); any other profile needs one. `default` stays: `advisor serve`,
# `advisor eval` (make eval-ci in .ci/run) and the benchmarks run it from a fresh clone.
DEV_PROFILES = ("default", "development", "test")
NEW_KEY = "python -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"


class VaultKeyError(AdvisorError):
    """The vault key is missing where one is required, or is not a 32-byte key."""


class ChatVault(Base):
    """One chat session's sealed vault (never the values in clear)."""

    __tablename__ = "chat_vaults"
    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


def decode_key(text: str) -> bytes:
    """A 32-byte key from URL-safe base64 (the key itself never appears in the error)."""
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        message = f"ADVISOR_VAULT_KEY is not URL-safe base64; make one with {NEW_KEY}"
        raise VaultKeyError(message) from None
    if len(key) != 32:
        raise VaultKeyError(f"ADVISOR_VAULT_KEY must hold 32 bytes, not {len(key)}: {NEW_KEY}")
    return key


def vault_keys(settings: Settings) -> list[bytes]:
    """The keys from `vault_key` (comma-separated: the first seals, every one opens), else a
    key derived from the signing secret in DEV_PROFILES (warned once); any other profile fails."""
    if settings.vault_key:
        return [decode_key(part) for part in settings.vault_key.split(",") if part.strip()]
    if settings.profile not in DEV_PROFILES:
        raise VaultKeyError(
            f"ADVISOR_VAULT_KEY is not set: the {settings.profile} profile seals each session's "
            f"PII vault under a key of its own (the same on every replica); make one with {NEW_KEY}"
        )
    warn_derived_key(settings.profile)
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=DEV_KEY_INFO)
    return [hkdf.derive(signing_secret(settings).encode())]


def warn_derived_key(profile: str) -> None:
    """Say once a process, loudly, that the vaults' key is derived: the default profile (what
    `advisor serve` and `advisor eval` run unless ADVISOR_PROFILE is set) must not serve real
    customers so; a production profile refuses to start without the key instead."""
    if profile in _warned:
        return
    _warned.add(profile)
    log.warning(
        "ADVISOR_VAULT_KEY is not set: the %s profile seals every session's PII vault under a "
        "key DERIVED FROM THE SIGNING SECRET (whoever holds it opens them). For local use only: "
        "before serving real customers set ADVISOR_VAULT_KEY (make one with %s); any profile "
        "but default, development and test (e.g. ADVISOR_PROFILE=production) refuses to start "
        "without it",
        profile, NEW_KEY,
    )  # fmt: skip


_warned: set[str] = set()  # profiles warn_derived_key has warned about in this process


class SessionVaults:
    """Loads and stores sealed vaults; a vault untouched for `ttl_s` is gone."""

    def __init__(self, keys: list[bytes], ttl_s: int) -> None:
        if not keys:
            raise VaultKeyError("ADVISOR_VAULT_KEY names no key")
        self.ciphers = [AESGCM(key) for key in keys]
        self.ttl = dt.timedelta(seconds=ttl_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionVaults:
        """The vaults under the configured key(s) and the rails' vault lifetime."""
        return cls(vault_keys(settings), settings.rails.vault_ttl_s)

    def seal(self, vault: Vault, session_id: str) -> bytes:
        """The vault encrypted under the first key, bound to its session."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.ciphers[0].encrypt(nonce, vault.to_json().encode(), session_id.encode())
        return FORMAT + nonce + sealed

    def unseal(self, blob: bytes, session_id: str) -> Vault | None:
        """The vault, or None when no key opens it (another key, or another session's row)."""
        if blob[:1] != FORMAT:
            return None
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        for cipher in self.ciphers:
            try:
                return Vault.from_json(cipher.decrypt(nonce, sealed, session_id.encode()).decode())
            except InvalidTag:
                continue
        return None

    def load(self, db: Session, session_id: str) -> Vault:
        """The session's vault (empty when new, expired or sealed under a key no longer held)."""
        row = db.get(ChatVault, session_id)
        if row is None or _aware(row.updated_at) < utcnow() - self.ttl:
            return Vault()
        vault = self.unseal(row.sealed, session_id)
        if vault is None:
            log.warning("session %s: its vault opens under none of the vault keys", session_id)
            return Vault()
        return vault

    def save(self, db: Session, session_id: str, vault: Vault) -> None:
        """Store the session's vault with its turn; expired vaults are deleted on the way."""
        now = utcnow()
        db.execute(delete(ChatVault).where(ChatVault.updated_at < now - self.ttl))
        row = db.get(ChatVault, session_id)
        if row is None and not len(vault):
            return
        if row is None:
            row = ChatVault(session_id=session_id)
            db.add(row)
        row.sealed, row.updated_at = self.seal(vault, session_id), now


def _aware(moment: dt.datetime) -> dt.datetime:
    """A stored time as UTC (SQLite gives it back without its zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
