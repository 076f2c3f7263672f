"""NATS JetStream intake against the local server: exactly once, redelivery, shared work."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import func, select

from advisor.errors import BackendUnavailable
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.events import BankEvent, EventReceipt, EventService
from advisor.orchestration.nats_intake import IntakeConfig, NatsIntake, publish_event
from advisor.orchestration.tables import BankEventRow, LedgerPosting
from portfolio_context.db import session_scope
from portfolio_context.seed import seed_bank

pytestmark = pytest.mark.nats
AS_OF = dt.date(2026, 11, 28)
NATS_URL = os.environ.get("ADVISOR_TEST_NATS_URL", "nats://127.0.0.1:4222")


class Crash(BaseException):
    """A process dying mid-message: nothing in the intake catches it."""


@dataclass
class Recorder:
    """The real EventService, remembering every receipt; may crash once, or fail a few times."""

    service: EventService
    crash: str | None = None  # "before" or "after" the accept, once
    failures: int = 0  # transient errors before accepting
    delay_s: float = 0.0
    receipts: list[EventReceipt] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, event: BankEvent) -> EventReceipt:
        """Accept through the real service (or crash / fail as told)."""
        time.sleep(self.delay_s)
        with self.lock:
            crash, self.crash = self.crash, None
            failing, self.failures = self.failures > 0, max(self.failures - 1, 0)
        if failing:
            raise RuntimeError("database briefly unavailable")
        if crash == "before":
            raise Crash
        receipt = self.service.accept(event)
        if crash == "after":
            raise Crash
        with self.lock:
            self.receipts.append(receipt)
        return receipt


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A seeded bank of its own (the intake posts to its ledger)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('natsbank') / 'bank.db'}"
    seed_bank(url, 8, 42, AS_OF)
    return url


@pytest.fixture
def config() -> Iterator[IntakeConfig]:
    """A stream and subjects of this test's own, deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    made = IntakeConfig(
        NATS_URL, stream=f"ADVISOR_EVENTS_T{tag}", subject_root=f"advisor.test{tag}.events",
        durable=f"intake-{tag}", batch=4, fetch_timeout_s=0.2, ack_wait_s=1.0, nak_delay_s=0.2,
    )  # fmt: skip
    try:
        asyncio.run(_ping(NATS_URL))
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"NATS not reachable at {NATS_URL}: {exc}")
    yield made
    asyncio.run(_delete_stream(made))


async def _ping(url: str) -> None:
    """Connect once (fails fast when no server listens)."""
    client = await nats.connect(
        url, connect_timeout=1, max_reconnect_attempts=0, allow_reconnect=False
    )
    await client.close()


async def _delete_stream(config: IntakeConfig) -> None:
    """Remove the test's stream."""
    client = await nats.connect(config.url)
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await client.jetstream().delete_stream(config.stream)
    await client.close()


def event(tag: str, n: int, **changes: object) -> BankEvent:
    """A deposit for one of the seeded customers."""
    body = {
        "id": f"{tag}-{n}", "type": "deposit", "customer_id": f"C000{n % 8 + 1}",
        "amount": Decimal("10.00") + n, "currency": "USD",
        "occurred_at": dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC), "description": "TRANSFER IN",
    } | changes  # fmt: skip
    return BankEvent.model_validate(body)


async def publish(config: IntakeConfig, events: list[BankEvent], dedupe: bool = False) -> int:
    """Publish events; how many the stream kept (JetStream drops duplicates by id with dedupe)."""
    client = await nats.connect(config.url)
    js = client.jetstream()
    kept = 0
    for item in events:
        ack = await publish_event(js, item, config.subject_root, dedupe)
        kept += not ack.duplicate
    await client.close()
    return kept


async def until(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    """Wait until `check` holds (fail the test after the timeout)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def stored(url: str, tag: str) -> tuple[int, int]:
    """(event rows, ledger postings) of this test's events."""
    with session_scope(url) as db:
        rows = db.scalar(select(func.count()).where(BankEventRow.id.like(f"{tag}-%")))
        posts = db.scalar(select(func.count()).where(LedgerPosting.key.like(f"event:{tag}-%")))
    return int(rows or 0), int(posts or 0)


def _json(item: BankEvent) -> bytes:
    """An event's JSON body."""
    return item.model_dump_json().encode()


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run one async scenario."""
    asyncio.run(scenario())


def test_duplicates_are_accepted_exactly_once(bank: str, config: IntakeConfig) -> None:
    tag, recorder = uuid.uuid4().hex[:8], Recorder(EventService(bank, None, AuditLog(bank)))
    originals = [event(tag, n) for n in range(20)]

    async def scenario() -> None:
        intake = NatsIntake(config, recorder, None)
        await intake.start()
        kept = await publish(config, originals + originals[:10])  # duplicates delivered
        kept += await publish(config, originals[10:15], dedupe=True)  # delivered once more
        kept += await publish(config, originals[10:15], dedupe=True)  # dropped by the stream
        assert kept == 35
        await until(lambda: intake.handled["acked"] == 35)
        await intake.stop()

    run(scenario)
    assert sorted(r.replay for r in recorder.receipts) == [False] * 20 + [True] * 15
    assert stored(bank, tag) == (20, 20)


@pytest.mark.parametrize(("crash", "replayed"), [("before", False), ("after", True)])
def test_a_consumer_crash_before_the_ack_redelivers(
    bank: str, config: IntakeConfig, crash: str, replayed: bool
) -> None:
    tag = uuid.uuid4().hex[:8]
    service = EventService(bank, None, AuditLog(bank))
    crashing, survivor = Recorder(service, crash=crash), Recorder(service)

    async def scenario() -> None:
        first = NatsIntake(config, crashing, None)
        await first.start()
        await publish(config, [event(tag, 1)])
        await until(lambda: not first.running)
        await first.stop()
        second = NatsIntake(config, survivor, None)
        await second.start()
        await until(lambda: second.handled["acked"] == 1)
        await second.stop()

    run(scenario)
    assert [r.replay for r in survivor.receipts] == [replayed]
    assert stored(bank, tag) == (1, 1)


def test_two_consumers_share_the_work_without_duplicates(bank: str, config: IntakeConfig) -> None:
    tag = uuid.uuid4().hex[:8]
    service = EventService(bank, None, AuditLog(bank))
    left, right = Recorder(service, delay_s=0.02), Recorder(service, delay_s=0.02)
    shared = replace(config, batch=2)

    async def scenario() -> None:
        intakes = [NatsIntake(shared, left, None), NatsIntake(shared, right, None)]
        for intake in intakes:
            await intake.start()
        await publish(config, [event(tag, n) for n in range(40)])
        await until(lambda: sum(i.handled["acked"] for i in intakes) == 40)
        for intake in intakes:
            await intake.stop()

    run(scenario)
    assert left.receipts and right.receipts
    ids = sorted(r.id for r in left.receipts + right.receipts)
    assert ids == sorted(f"{tag}-{n}" for n in range(40))
    assert not any(r.replay for r in left.receipts + right.receipts)
    assert stored(bank, tag) == (40, 40)


def test_a_transient_error_is_nakked_and_redelivered(bank: str, config: IntakeConfig) -> None:
    tag = uuid.uuid4().hex[:8]
    recorder = Recorder(EventService(bank, None, AuditLog(bank)), failures=2)

    async def scenario() -> None:
        intake = NatsIntake(config, recorder, None)
        await intake.start()
        await publish(config, [event(tag, 3)])
        await until(lambda: intake.handled["acked"] == 1)
        assert intake.handled == {"acked": 1, "nakked": 2, "termed": 0}
        await intake.stop()

    run(scenario)
    assert stored(bank, tag) == (1, 1)


def test_malformed_and_invalid_events_are_terminated_and_audited(
    bank: str, config: IntakeConfig, tmp_path: Path
) -> None:
    tag, audit = uuid.uuid4().hex[:8], AuditLog(f"sqlite:///{tmp_path / 'audit.db'}")
    recorder = Recorder(EventService(bank, None, audit))
    bad_event = event(tag, 1, customer_id="C9999")
    bodies: list[bytes] = [b"not json", b'{"id": "x", "type": "deposit"}', _json(bad_event)]

    async def scenario() -> None:
        intake = NatsIntake(config, recorder, audit)
        await intake.start()
        client = await nats.connect(config.url)
        for body in bodies:
            await client.jetstream().publish(f"{config.subject_root}.deposit", body)
        await client.close()
        await publish(config, [event(tag, 2)])
        await until(lambda: sum(intake.handled.values()) == 4)
        await asyncio.sleep(1.5)  # past ack_wait: nothing terminated comes back
        assert intake.handled == {"acked": 1, "nakked": 0, "termed": 3}
        await intake.stop()

    run(scenario)
    rejected = [e for e in audit.entries() if e.kind == "event_rejected"]
    assert len(rejected) == 3
    assert "Invalid JSON" in rejected[0].payload
    assert "amount: Field required" in rejected[1].payload
    assert "no customer 'C9999'" in rejected[2].payload
    assert audit.verify() is None
    assert stored(bank, tag) == (1, 1)


def test_the_app_consumes_the_stream_while_it_runs(
    bank: str, config: IntakeConfig, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from advisor.api.app import create_app
    from tests.conftest import make_settings
    from tests.fakes import FakeBackend

    tag = uuid.uuid4().hex[:8]
    settings = make_settings(
        tmp_path, bank, nats_url=config.url, nats_stream=config.stream,
        nats_subject_root=config.subject_root, nats_durable=config.durable,
    )  # fmt: skip
    with TestClient(create_app(settings, backend=FakeBackend())):
        asyncio.run(publish(config, [event(tag, n) for n in range(3)]))
        deadline = time.monotonic() + 15
        while stored(bank, tag) != (3, 3):
            assert time.monotonic() < deadline, "the app did not take the events"
            time.sleep(0.05)
    assert stored(bank, tag) == (3, 3)


def test_an_unreachable_server_is_a_clear_error_at_start(bank: str) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = IntakeConfig(f"nats://127.0.0.1:{port}")
    intake = NatsIntake(config, Recorder(EventService(bank, None, None)), None)
    with pytest.raises(BackendUnavailable, match=f"NATS at {config.url} is unreachable"):
        asyncio.run(intake.start())
