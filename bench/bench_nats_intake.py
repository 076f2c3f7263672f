"""Event intake over NATS JetStream (one and two consumers) against accepting in-process and
against a plain insert of the event row (the floor).

    .venv/bin/python bench/bench_nats_intake.py --events 1000 --out BENCHMARKS.md

Needs the local NATS server (127.0.0.1:4222). Events are deposits (stored, posted to the
ledger, audited; no workflow), so this measures the intake, not the nudge after it. Latency
is publish -> accept returned, per event; "saturated" publishes everything at once (latency
includes the queue), "paced" publishes at a fixed rate below the capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.events import BankEvent, EventReceipt, EventService
from advisor.orchestration.nats_intake import IntakeConfig, NatsIntake, publish_event
from advisor.orchestration.tables import BankEventRow
from bench.report import replace_section
from portfolio_context.db import session_scope
from portfolio_context.seed import seed_bank

BEGIN, END = "<!-- bench_nats_intake:begin -->", "<!-- bench_nats_intake:end -->"
AS_OF = dt.date(2026, 11, 28)


@dataclass
class Clock:
    """Publish and accept times per event id."""

    published: dict[str, float] = field(default_factory=dict)
    accepted: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def result(self, label: str) -> dict[str, object]:
        """Events/s from the first publish to the last accept, and latency percentiles."""
        lat = sorted(1000 * (self.accepted[k] - self.published[k]) for k in self.accepted)
        span = max(self.accepted.values()) - min(self.published.values())
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return {"label": label, "n": len(lat), "rate": len(lat) / span,
                "p50": lat[len(lat) // 2], "p99": p99}  # fmt: skip


@dataclass
class Timed:
    """The EventService, stamping each accept."""

    service: EventService
    clock: Clock

    def accept(self, event: BankEvent) -> EventReceipt:
        receipt = self.service.accept(event)
        with self.clock.lock:
            self.clock.accepted[event.id] = time.perf_counter()
        return receipt


def events(n: int, tag: str) -> list[BankEvent]:
    """n deposits spread over the seeded customers."""
    return [BankEvent.model_validate({
        "id": f"{tag}-{i}", "type": "deposit", "customer_id": f"C{i % 8 + 1:04d}",
        "amount": Decimal("10.00") + i % 100, "currency": "USD",
        "occurred_at": dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC),
    }) for i in range(n)]  # fmt: skip


def floor(url: str, batch: list[BankEvent]) -> dict[str, object]:
    """A plain insert of each event row, one transaction each."""
    clock = Clock()
    for item in batch:
        clock.published[item.id] = time.perf_counter()
        with session_scope(url) as db:
            db.add(BankEventRow(
                id=item.id, type=item.type, customer_id=item.customer_id, amount=item.amount,
                currency=item.currency, occurred_at=item.occurred_at.replace(tzinfo=None),
                status="recorded", dispatched=True,
            ))  # fmt: skip
        clock.accepted[item.id] = time.perf_counter()
    return clock.result("plain insert of the event row (floor)")


def direct(service: EventService, batch: list[BankEvent]) -> dict[str, object]:
    """EventService.accept in-process, one after the other."""
    clock = Clock()
    timed = Timed(service, clock)
    for item in batch:
        clock.published[item.id] = time.perf_counter()
        timed.accept(item)
    return clock.result("EventService.accept in process")


async def over_nats(
    service: EventService, batch: list[BankEvent], consumers: int, rate: float | None
) -> dict[str, object]:
    """Publish to a fresh stream, consumed by `consumers` intakes; deleted afterwards."""
    tag, clock = uuid.uuid4().hex[:8], Clock()
    config = IntakeConfig("nats://127.0.0.1:4222", f"BENCH_{tag}", f"bench{tag}.events",
                          f"bench-{tag}", batch=16, fetch_timeout_s=0.2)  # fmt: skip
    intakes = [NatsIntake(config, Timed(service, clock), None) for _ in range(consumers)]
    for intake in intakes:
        await intake.start()
    client = await nats.connect(config.url)
    js = client.jetstream()
    for item in batch:
        clock.published[item.id] = time.perf_counter()
        await publish_event(js, item, config.subject_root)
        if rate:
            await asyncio.sleep(1 / rate)
    while len(clock.accepted) < len(batch):
        await asyncio.sleep(0.01)
    for intake in intakes:
        await intake.stop()
    await js.delete_stream(config.stream)
    await client.close()
    pace = f"paced {rate:.0f}/s" if rate else "saturated"
    return clock.result(f"NATS JetStream, {consumers} consumer(s), {pace}")


def run(n: int, paced: float) -> list[dict[str, object]]:
    """Every configuration on its own fresh bank."""
    results = []
    work = Path(tempfile.mkdtemp(prefix="bench-nats-"))
    for i, step in enumerate(["floor", "direct", "nats1", "nats2", "nats1p", "nats2p"]):
        url = f"sqlite:///{work / f'bank{i}.db'}"
        seed_bank(url, 8, 42, AS_OF)
        service, batch = EventService(url, None, AuditLog(url)), events(n, step)
        if step == "floor":
            results.append(floor(url, batch))
        elif step == "direct":
            results.append(direct(service, batch))
        else:
            consumers, rate = int(step[4]), paced if step.endswith("p") else None
            results.append(asyncio.run(over_nats(service, batch, consumers, rate)))
        print(results[-1])
    return results


def render(results: list[dict[str, object]], argv: list[str]) -> str:
    """The BENCHMARKS.md section."""
    lines = [
        BEGIN, "## Event intake over NATS JetStream (SQLite bank, 2 cores)", "",
        f"Command: `python bench/bench_nats_intake.py {' '.join(argv)}` ({dt.date.today()}, "
        f"{platform.machine()}, Python {platform.python_version()}). Deposit events: each is "
        "validated, stored once under its id, posted to the ledger and written to the audit "
        "log; acked on NATS after that. Latency is publish to accept returned.", "",
        "| path | events | events/s | p50 latency | p99 latency |", "|---|---|---|---|---|",
    ]  # fmt: skip
    for r in results:
        lines.append(f"| {r['label']} | {r['n']} | {r['rate']:.0f} | "
                     f"{r['p50']:.1f} ms | {r['p99']:.1f} ms |")  # fmt: skip
    lines += ["", "Measured on a machine shared with other work: read ratios, not absolutes.", END]
    return "\n".join(lines)


def main() -> None:
    """Parse, run, print and optionally write the section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--paced", type=float, default=10.0, help="events/s, below capacity")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    section = render(run(args.events, args.paced), sys.argv[1:])
    print(section)
    if args.out:
        replace_section(args.out, BEGIN, END, section)


if __name__ == "__main__":
    main()
