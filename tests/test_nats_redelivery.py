"""A valid event is never dropped: unlimited redelivery with a growing, capped delay, also on a
consumer an older release created with a delivery limit."""

from __future__ import annotations

import uuid
from dataclasses import replace

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from advisor.orchestration.audit import AuditLog
from advisor.orchestration.events import EventService
from advisor.orchestration.nats_intake import (
    IntakeConfig,
    NatsIntake,
    consumer_config,
    ensure_stream,
    redelivery_delay,
)
from tests.test_nats_intake import (  # noqa: F401  (fixtures)
    Recorder,
    bank,
    config,
    event,
    publish,
    run,
    stored,
    until,
)


@pytest.mark.parametrize(
    ("delivered", "delay"), [(0, 2.0), (1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0),
                             (10_000, 60.0)],
)  # fmt: skip
def test_the_nak_delay_doubles_up_to_the_cap(delivered: int, delay: float) -> None:
    assert redelivery_delay(IntakeConfig("nats://unused"), delivered) == delay


def test_the_consumer_redelivers_without_limit() -> None:
    assert consumer_config(IntakeConfig("nats://unused")).max_deliver == -1


async def _old_consumer(intake: IntakeConfig, max_deliver: int) -> None:
    """The consumer as an older release made it: a delivery limit."""
    client = await nats.connect(intake.url)
    js = client.jetstream()
    await ensure_stream(js, intake)
    old = ConsumerConfig(durable_name=intake.durable, ack_policy=AckPolicy.EXPLICIT,
                         max_deliver=max_deliver, filter_subject=intake.subjects)  # fmt: skip
    await js.add_consumer(intake.stream, old)
    await client.close()


async def _max_deliver(intake: IntakeConfig) -> int | None:
    """The server's max_deliver of the intake's consumer."""
    client = await nats.connect(intake.url)
    info = await client.jetstream().consumer_info(intake.stream, intake.durable)
    await client.close()
    limit: int | None = info.config.max_deliver
    return limit


@pytest.mark.nats
def test_an_outage_longer_than_the_old_limit_loses_nothing(
    bank: str,  # noqa: F811
    config: IntakeConfig,  # noqa: F811
) -> None:
    tag = uuid.uuid4().hex[:8]
    quick = replace(config, nak_delay_s=0.05, max_nak_delay_s=0.2)
    recorder = Recorder(EventService(bank, None, AuditLog(bank)), failures=5)

    async def scenario() -> None:
        await _old_consumer(quick, max_deliver=3)
        intake = NatsIntake(quick, recorder, None)
        await intake.start()
        assert await _max_deliver(quick) == -1
        await publish(quick, [event(tag, 4)])
        await until(lambda: intake.handled["acked"] == 1)
        assert intake.handled == {"acked": 1, "nakked": 5, "termed": 0}
        await intake.stop()

    run(scenario)
    assert stored(bank, tag) == (1, 1)
