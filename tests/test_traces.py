"""Decision traces: stored once, read back by their own customer only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from advisor.decisions.traces import STANDARD_KEYS, TraceStore


@pytest.fixture
def store(tmp_path: Path) -> TraceStore:
    """A trace store on a fresh SQLite file."""
    return TraceStore(f"sqlite:///{tmp_path / 'traces.db'}")


def test_record_and_read_back_own_trace(store: TraceStore) -> None:
    payload = {"scores": {"p": Decimal("0.25")}, "inputs": {"as_of": dt.date(2026, 11, 28)}}
    trace_id = store.record("C0001", "recommendation", payload)
    got = store.get(trace_id, "C0001")
    assert trace_id.startswith("tr_") and len(trace_id) == 35
    assert got is not None
    assert got["scores"] == {"p": 0.25}
    assert got["inputs"] == {"as_of": "2026-11-28"}
    assert got["kind"] == "recommendation" and got["customer_id"] == "C0001"
    assert set(STANDARD_KEYS) | {"created_at"} <= set(got)


@pytest.mark.parametrize(
    ("asker", "which"),
    [("C0002", "own-id-other-customer"), ("C0001", "unknown-id"), ("C0001", "empty-id")],
)
def test_other_customers_and_unknown_ids_are_none(
    store: TraceStore, asker: str, which: str
) -> None:
    own = store.record("C0001", "offer_score", {"scores": {"p": 0.1}})
    trace_id = {"own-id-other-customer": own, "unknown-id": "tr_" + "0" * 32, "empty-id": ""}
    assert store.get(trace_id[which], asker) is None


def test_record_many_keeps_order_and_ids_distinct(store: TraceStore) -> None:
    ids = store.record_many("C0003", "recommendation", [{"scores": {"i": i}} for i in range(3)])
    assert len(set(ids)) == 3
    assert [store.get(t, "C0003")["scores"]["i"] for t in ids] == [0, 1, 2]  # type: ignore[index]


def test_unserialisable_payload_is_refused_and_nothing_stored(store: TraceStore) -> None:
    with pytest.raises(TypeError):
        store.record("C0001", "recommendation", {"inputs": {"x": object()}})
