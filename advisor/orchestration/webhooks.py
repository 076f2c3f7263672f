"""Signed webhooks to a bank's push service: HMAC-SHA256, bounded retries, a delivery log.

Each request carries `X-Advisor-Timestamp` (unix seconds), `X-Advisor-Signature`
(`v1=` + hex HMAC-SHA256 of `<timestamp>.<body>` under the shared secret), `X-Advisor-Delivery`
(the delivery's idempotency key: the same key is sent on every retry, and a key delivered
once is never sent again) and `X-Advisor-Kind`. Delivery is at least once: receivers drop a
delivery id they have already seen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from advisor.orchestration.audit import canonical_json
from portfolio_context.db import engine_for, session_scope
from portfolio_context.models import Base

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)
TIMESTAMP_HEADER = "X-Advisor-Timestamp"
SIGNATURE_HEADER = "X-Advisor-Signature"
DELIVERY_HEADER = "X-Advisor-Delivery"
KIND_HEADER = "X-Advisor-Kind"
RETRYABLE_STATUS = frozenset({408, 425, 429})  # and every 5xx
Status = Literal["delivered", "failed", "skipped", "duplicate"]
_background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webhooks")


class WebhookDelivery(Base):
    """The delivery log: one row per delivery key, its outcome and how many attempts."""

    __tablename__ = "webhook_deliveries"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), index=True)  # delivered | failed
    attempts: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC, naive


DELIVERY_TABLE = Base.metadata.tables[WebhookDelivery.__tablename__]


@dataclass(frozen=True)
class DeliveryResult:
    """What one `deliver` call came to."""

    key: str
    status: Status
    attempts: int
    http_status: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter, bounded in attempts and in each wait."""

    max_attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 8.0
    timeout_s: float = 5.0

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds before retry number `retry` (1-based): uniform in [0, min(cap, base*2^(n-1))]."""
        return rng.uniform(0, min(self.cap_s, self.base_s * 2 ** (retry - 1)))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: v1=<hex HMAC-SHA256 of '<timestamp>.<body>'>."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_signature(
    secret: str, headers: dict[str, str], body: bytes, tolerance_s: int = 300,
    now: float | None = None,
) -> bool:  # fmt: skip
    """Receiver side: the signature matches and the timestamp is recent (no replays)."""
    try:
        stamp = int(headers[TIMESTAMP_HEADER])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - stamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), headers.get(SIGNATURE_HEADER, ""))


class WebhookSender:
    """Posts signed JSON to the configured URL; a no-op when no URL is set."""

    def __init__(
        self, url: str | None, secret: str | None, database_url: str,
        policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        if url and not secret:
            raise ValueError("ADVISOR_WEBHOOK_SECRET must be set when ADVISOR_WEBHOOK_URL is")
        self.url, self.secret, self.db_url = url, secret or "", database_url
        self.policy, self.sleep, self.rng = policy or RetryPolicy(), sleep, random.Random()
        if url:
            Base.metadata.create_all(engine_for(database_url), tables=[DELIVERY_TABLE])

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookSender:
        """The sender for ADVISOR_WEBHOOK_URL and ADVISOR_WEBHOOK_SECRET."""
        policy = RetryPolicy(max_attempts=max(1, settings.webhook_max_attempts))
        return cls(
            settings.webhook_url, settings.webhook_secret, settings.resolved_database_url, policy
        )

    def deliver(self, kind: str, payload: dict[str, Any], key: str | None = None) -> DeliveryResult:
        """Sign and post once per key, retrying transient failures; logged in webhook_deliveries."""
        key = key or f"{kind}:{uuid.uuid4().hex}"
        if not self.url:
            return DeliveryResult(key, "skipped", 0)
        if self._delivered(key):
            return DeliveryResult(key, "duplicate", 0)
        stamp = dt.datetime.now(dt.UTC).isoformat()
        body = canonical_json({"id": key, "kind": kind, "sent_at": stamp, "data": payload}).encode()
        result = self._attempts(kind, key, body)
        self._log(result, kind, body)
        return result

    def _attempts(self, kind: str, key: str, body: bytes) -> DeliveryResult:
        """Post until delivered, a permanent failure, or the attempts run out."""
        outcome: tuple[int | None, str | None] = (None, None)
        with httpx.Client(timeout=self.policy.timeout_s, trust_env=False) as client:
            for attempt in range(1, self.policy.max_attempts + 1):
                if attempt > 1:
                    self.sleep(self.policy.delay(attempt - 1, self.rng))
                outcome = self._post(client, kind, key, body)
                code = outcome[0]
                if code is not None and 200 <= code < 300:
                    return DeliveryResult(key, "delivered", attempt, code)
                if code is not None and code < 500 and code not in RETRYABLE_STATUS:
                    return DeliveryResult(key, "failed", attempt, code, outcome[1])
        return DeliveryResult(key, "failed", self.policy.max_attempts, *outcome)

    def _post(
        self, client: httpx.Client, kind: str, key: str, body: bytes
    ) -> tuple[int | None, str | None]:
        """One signed POST: (HTTP status or None, error text or None)."""
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json", TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(self.secret, stamp, body), DELIVERY_HEADER: key,
            KIND_HEADER: kind,
        }  # fmt: skip
        try:
            response = client.post(str(self.url), content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300]
        error = None if response.is_success else f"HTTP {response.status_code}"
        return response.status_code, error

    def _delivered(self, key: str) -> bool:
        """This key was delivered before."""
        with session_scope(self.db_url) as db:
            row = db.get(WebhookDelivery, key)
            return row is not None and row.status == "delivered"

    def _log(self, result: DeliveryResult, kind: str, body: bytes) -> None:
        """Record the outcome under its key (a later call for a failed key updates it)."""
        with session_scope(self.db_url) as db:
            row = db.get(WebhookDelivery, result.key) or WebhookDelivery(key=result.key, attempts=0)
            row.kind, row.url, row.status = kind, str(self.url)[:512], result.status
            row.attempts += result.attempts
            row.http_status, row.error = result.http_status, result.error
            row.body_sha256 = hashlib.sha256(body).hexdigest()
            row.updated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            db.add(row)

    def log_entry(self, key: str) -> WebhookDelivery | None:
        """The delivery log's row for a key."""
        with session_scope(self.db_url) as db:
            return db.get(WebhookDelivery, key)


def undelivered(db_url: str, keys: list[str]) -> list[str]:
    """The keys no delivery reached yet that are worth another try: never attempted (the
    process died first) or failed on an error a retry can cure (5xx, 408, 425, 429, no answer)."""
    Base.metadata.create_all(engine_for(db_url), tables=[DELIVERY_TABLE])
    with session_scope(db_url) as db:
        rows = {r.key: r for r in db.scalars(select(WebhookDelivery)
                                             .where(WebhookDelivery.key.in_(keys)))}  # fmt: skip
    return [k for k in keys if k not in rows or _retryable(rows[k])]


def _retryable(row: WebhookDelivery) -> bool:
    """A failed delivery another attempt may get through."""
    code = row.http_status
    return row.status == "failed" and (code is None or code >= 500 or code in RETRYABLE_STATUS)


def notification_hook(settings: Settings) -> Callable[[dict[str, Any]], None] | None:
    """A NotificationService hook posting each new notification in the background; None
    without ADVISOR_WEBHOOK_URL. The notification's id is the delivery key."""
    if not settings.webhook_url:
        return None
    sender = WebhookSender.from_settings(settings)

    def hook(notification: dict[str, Any]) -> None:
        key = f"notification:{notification.get('id')}"
        _background.submit(sender.deliver, "notification", notification, key)

    return hook
