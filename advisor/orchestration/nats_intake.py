"""Events from a NATS JetStream stream: one durable pull consumer shared by every instance.

Each message is acked only after EventService.accept succeeded (accept is idempotent on the
event's id, so a redelivery after a crash is answered as a replay and starts nothing). A
transient failure is nak'ed with a delay (JetStream redelivers); a malformed or invalid event
is terminated (never redelivered) and leaves an `event_rejected` entry in the audit log.
A valid event is never dropped: redelivery is unlimited, each nak waiting longer (capped).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, PubAck, StreamConfig
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from advisor.errors import BackendUnavailable, InvalidInput
from advisor.orchestration.events import AuditSink, BankEvent, EventReceipt

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)
Outcome = Literal["acked", "nakked", "termed"]


@dataclass(frozen=True)
class IntakeConfig:
    """Where the events come from and how patiently they are handled."""

    url: str
    stream: str = "ADVISOR_EVENTS"
    subject_root: str = "advisor.events"
    durable: str = "advisor-intake"
    batch: int = 16
    fetch_timeout_s: float = 1.0
    ack_wait_s: float = 30.0
    nak_delay_s: float = 2.0  # the first redelivery's delay; doubled each time, up to the max
    max_nak_delay_s: float = 60.0
    max_deliver: int = -1  # unlimited: a valid event waits out any outage, never dropped
    duplicate_window_s: float = 120.0

    @property
    def subjects(self) -> str:
        """The stream's subject filter, e.g. advisor.events.>."""
        return f"{self.subject_root}.>"

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeConfig | None:
        """The configured intake; None when ADVISOR_NATS_URL is not set."""
        if not settings.nats_url:
            return None
        return cls(
            settings.nats_url, settings.nats_stream, settings.nats_subject_root,
            settings.nats_durable,
        )  # fmt: skip


class Acceptor(Protocol):
    """Takes one validated event (advisor/orchestration/events.py EventService)."""

    def accept(self, event: BankEvent) -> EventReceipt:
        """Store the event once and start its workflow; idempotent on event.id."""


async def connect(url: str) -> Client:
    """A NATS connection (BackendUnavailable after a few tries at start-up); once connected
    it reconnects without limit. The caller closes it."""
    try:
        client = await nats.connect(
            url, name="advisor-intake", connect_timeout=2, max_reconnect_attempts=2,
            reconnect_time_wait=0.5, error_cb=_log_error,
        )  # fmt: skip
    except (OSError, nats.errors.Error) as exc:
        raise BackendUnavailable(f"NATS at {url} is unreachable ({exc})") from exc
    client.options["max_reconnect_attempts"] = -1  # nats-py reads it on each reconnect
    return client


async def _log_error(exc: Exception) -> None:
    """One log line per connection error (nats-py's default prints a traceback)."""
    log.warning("NATS: %s: %s", type(exc).__name__, exc)


async def ensure_stream(js: JetStreamContext, config: IntakeConfig) -> None:
    """Create the stream when it does not exist yet (every instance may try)."""
    try:
        await js.stream_info(config.stream)
    except NotFoundError:
        stream = StreamConfig(
            name=config.stream, subjects=[config.subjects],
            duplicate_window=config.duplicate_window_s,
        )  # fmt: skip
        await js.add_stream(stream)


def consumer_config(config: IntakeConfig) -> ConsumerConfig:
    """The durable pull consumer: explicit acks, unlimited redeliveries."""
    return ConsumerConfig(
        name=config.durable, durable_name=config.durable, ack_policy=AckPolicy.EXPLICIT,
        ack_wait=config.ack_wait_s, max_deliver=config.max_deliver,
        filter_subject=config.subjects,
    )  # fmt: skip


async def ensure_consumer(js: JetStreamContext, config: IntakeConfig) -> None:
    """Create the consumer, or update one made by an older release (e.g. max_deliver 50)."""
    await js.add_consumer(config.stream, consumer_config(config))


def redelivery_delay(config: IntakeConfig, delivered: int) -> float:
    """The nak delay after the `delivered`-th failed delivery: doubling, capped."""
    doublings = min(max(delivered - 1, 0), 30)
    return min(config.nak_delay_s * 2.0**doublings, config.max_nak_delay_s)


async def publish_event(
    js: JetStreamContext, event: BankEvent, subject_root: str = "advisor.events",
    dedupe: bool = True,
) -> PubAck:
    """Publish one event on <root>.<type>; `dedupe` lets JetStream drop a re-publish by id."""
    headers = {"Nats-Msg-Id": event.id} if dedupe else None
    body = event.model_dump_json().encode()
    return await js.publish(f"{subject_root}.{event.type}", body, headers=headers)


class NatsIntake:
    """Consumes the stream in the background of one service instance."""

    def __init__(self, config: IntakeConfig, acceptor: Acceptor, audit: AuditSink | None) -> None:
        self.config, self.acceptor, self.audit = config, acceptor, audit
        self.handled: dict[Outcome, int] = {"acked": 0, "nakked": 0, "termed": 0}
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def running(self) -> bool:
        """The consuming loop is alive (False once stopped or crashed)."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Connect, make sure the stream and consumer exist, start consuming."""
        self._client = await connect(self.config.url)
        js = self._client.jetstream()
        await ensure_stream(js, self.config)
        await ensure_consumer(js, self.config)
        subscription = await js.pull_subscribe(
            self.config.subjects, durable=self.config.durable, stream=self.config.stream,
            config=consumer_config(self.config),
        )  # fmt: skip
        self._task = asyncio.create_task(self._consume(subscription))

    async def stop(self) -> None:
        """Finish the message in hand, then close; unacked messages go to another instance."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, self.config.fetch_timeout_s + 10)
            except TimeoutError:
                self._task.cancel()
            except BaseException:  # the loop died (a crash in a test): close all the same
                log.warning("NATS intake loop ended with an error", exc_info=True)
        if self._client is not None and not self._client.is_closed:
            await self._client.close()

    async def _consume(self, subscription: JetStreamContext.PullSubscription) -> None:
        """Fetch batches until stopped."""
        while not self._stopping.is_set():
            try:
                messages = await subscription.fetch(self.config.batch, self.config.fetch_timeout_s)
            except TimeoutError:  # nats-py raises its own or asyncio's: nothing arrived
                continue
            except Exception:
                log.warning("NATS fetch failed; retrying", exc_info=True)
                await asyncio.sleep(self.config.fetch_timeout_s)
                continue
            for message in messages:
                try:
                    self.handled[await self.handle(message)] += 1
                except Exception:  # e.g. the ack was lost: JetStream redelivers, accept replays
                    log.warning("NATS message not settled; it will be redelivered", exc_info=True)

    async def handle(self, message: Msg) -> Outcome:
        """Accept one message: ack on success, nak on a transient error, term on bad input."""
        try:
            event = BankEvent.model_validate_json(message.data)
        except ValidationError as exc:
            return await self._reject(message, None, _validation_summary(exc))
        try:
            await asyncio.to_thread(self.acceptor.accept, event)
        except InvalidInput as exc:
            return await self._reject(message, event.id, str(exc))
        except Exception:
            delay = redelivery_delay(self.config, message.metadata.num_delivered)
            log.warning("event %s not accepted yet; redelivery in %.1f s", event.id, delay,
                        exc_info=True)  # fmt: skip
            await message.nak(delay=delay)
            return "nakked"
        await message.ack_sync()
        return "acked"

    async def _reject(self, message: Msg, event_id: str | None, reason: str) -> Outcome:
        """Terminate the message (no redelivery) and audit why."""
        if self.audit is not None:
            entry = _rejection(message, event_id, reason)
            await asyncio.to_thread(self.audit.append, "event_rejected", entry.pop("where"), entry)
        await message.term()
        return "termed"


def _rejection(message: Msg, event_id: str | None, reason: str) -> dict[str, Any]:
    """The audit entry of a rejected message: where, why and the body's hash (not the body)."""
    meta = message.metadata
    return {
        "where": f"nats/{meta.stream}/{meta.sequence.stream}", "subject": message.subject,
        "event_id": event_id, "reason": reason[:500], "deliveries": meta.num_delivered,
        "body_sha256": hashlib.sha256(message.data).hexdigest(),
    }  # fmt: skip


def _validation_summary(exc: ValidationError) -> str:
    """`field: message` for each problem, or the JSON error."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()]
    return "; ".join(parts)


async def start_from_settings(
    settings: Settings, acceptor: Acceptor | None = None
) -> NatsIntake | None:
    """Start the intake for the app's lifespan when ADVISOR_NATS_URL is set; else None.

    `acceptor`: the app's EventService (default: one built from the settings).
    """
    config = IntakeConfig.from_settings(settings)
    if config is None:
        return None
    from advisor.orchestration.audit import AuditLog
    from advisor.orchestration.events import EventService

    events = acceptor or EventService.from_settings(settings)
    intake = NatsIntake(config, events, AuditLog.from_settings(settings))
    await intake.start()
    return intake


async def stop_quietly(intake: NatsIntake | None) -> None:
    """Stop the intake if there is one (the app's shutdown)."""
    if intake is not None:
        with contextlib.suppress(Exception):
            await intake.stop()
