"""Event -> nudge on the embedded default (SQLite bank, DBOS on SQLite), in process.

For N payroll events (one per customer, sequential): the time `EventService.accept` takes, and
the time from the call until the nudge is in the customer's notifications; the floor is the
same accept with no audit and no workflow (insert + ledger posting only).

    .venv/bin/python -m bench.bench_event_nudge --customers 40
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from advisor.orchestration import runtime
from advisor.orchestration.events import BankEvent, EventService
from advisor.settings import RailsSettings, Settings
from portfolio_context.seed import seed_bank


def event(event_id: str, customer: str) -> BankEvent:
    """A payroll deposit."""
    return BankEvent.model_validate({
        "id": event_id, "type": "payroll_deposit", "customer_id": customer,
        "amount": "2500.00", "currency": "USD", "occurred_at": "2026-11-28T09:00:00Z",
        "description": "ACME CORP PAYROLL",
    })  # fmt: skip


def pct(values: list[float], q: float) -> float:
    """The q-quantile in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(customers: int) -> None:
    """Measure and print."""
    var = Path(tempfile.mkdtemp(prefix="bench_event_nudge_"))
    url = f"sqlite:///{var / 'bank.db'}"
    seed_bank(url, customers, 42, dt.date(2026, 11, 28))
    settings = Settings(var_dir=var, database_url=url, jwt_secret="x" * 40,
                        rails=RailsSettings(enabled=False))  # fmt: skip
    floor = EventService(url, None, None)
    plain = [_timed(lambda c=c: floor.accept(event(f"floor-{c}", c))) for c in _ids(customers)]
    accept, nudge = [], []
    with runtime.running(settings) as services:
        start = time.perf_counter()
        for cid in _ids(customers):
            t0 = time.perf_counter()
            services.events.accept(event(f"pay-{cid}", cid))
            accept.append(time.perf_counter() - t0)
            while not services.notifications.for_customer(cid):
                time.sleep(0.002)
            nudge.append(time.perf_counter() - t0)
        total = time.perf_counter() - start
    for name, values in (("plain insert", plain), ("accept", accept), ("event->nudge", nudge)):
        print(f"{name:13s} n={len(values)} p50={pct(values, 0.5):.1f} ms "
              f"p99={pct(values, 0.99):.1f} ms mean={1000 * statistics.mean(values):.1f} ms")
    print(f"sequential throughput: {customers / total:.1f} events/s to nudge")


def _ids(customers: int) -> list[str]:
    """C0001.. customer ids."""
    return [f"C{i:04d}" for i in range(1, customers + 1)]


def _timed(call: object) -> float:
    """Seconds one call takes."""
    t0 = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - t0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=40)
    run(parser.parse_args().customers)
