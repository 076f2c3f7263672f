"""Life-event training rows: reference months, 3-month labels and leak-free splits.

A row is (customer, reference month r). Features see only months <= r; the label of event e is
1 when an event of type e falls after the end of month r and by the end of month r + 3. Only
label windows that end by the bank's as-of date are used (later truth would not be known).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from advisor.errors import AdvisorError
from advisor.predict.life_event_features import (
    EVENTS,
    HORIZON_MONTHS,
    MIN_HISTORY,
    Rows,
    month_end,
    reference_month,
)
from advisor.predict.life_event_panel import Panel, load_panel
from portfolio_context.models import BankMeta, LifeEvent, Transaction

NON_RECURRING = ("retirement",)  # no reference months after one has happened
SPLIT_SHARES = {"train": 0.70, "calibration": 0.10, "test": 0.20}
LATER_WINDOW_MONTHS = 3  # the latest reference months form the later time window


class LifeEventDataError(AdvisorError):
    """The bank cannot train the life-event models (empty, no history or no events)."""


@dataclass(frozen=True)
class Dataset:
    """Rows, labels (NaN where a row does not count for an event) and split masks."""

    panel: Panel
    rows: Rows
    labels: np.ndarray  # [rows, len(EVENTS)]
    split: dict[str, np.ndarray]  # name -> boolean mask over rows
    as_of: dt.date


def bank_as_of(session: Session) -> dt.date:
    """The seeded bank's as-of date (its latest transaction when none is recorded)."""
    value = session.scalar(select(BankMeta.value).where(BankMeta.key == "as_of"))
    if value:
        return dt.date.fromisoformat(value)
    latest = session.scalar(select(Transaction.posted).order_by(Transaction.posted.desc()))
    if latest is None:
        raise LifeEventDataError("the bank has no transactions")
    return latest


def customer_bucket(customer_id: str) -> str:
    """A stable split for a customer (all of its rows share it)."""
    digest = hashlib.sha256(f"life-events:{customer_id}".encode()).digest()
    draw, edge = int.from_bytes(digest[:8], "big") / 2**64, 0.0
    for name, share in SPLIT_SHARES.items():
        edge += share
        if draw < edge:
            return name
    return "test"


def event_months(session: Session, panel: Panel) -> pd.DataFrame:
    """True events with the panel month index they fall in (may lie beyond the panel)."""
    stmt = select(LifeEvent.customer_id, LifeEvent.event_type, LifeEvent.event_date)
    frame = pd.DataFrame(session.execute(stmt).all(), columns=["cid", "event", "day"])
    index = {c: i for i, c in enumerate(panel.customers)}
    frame = frame[frame["cid"].isin(index) & frame["event"].isin(EVENTS)]
    base = int(panel.months[0][:4]) * 12 + int(panel.months[0][5:7]) - 1
    days = pd.to_datetime(frame["day"])
    frame = frame.assign(
        c=frame["cid"].map(index).astype(np.int64),
        m=(days.dt.year * 12 + days.dt.month - 1 - base).astype(np.int64),
        k=frame["event"].map({e: k for k, e in enumerate(EVENTS)}).astype(np.int64),
    )
    return frame[["c", "m", "k", "day"]]


def candidate_rows(panel: Panel, last_ref: int, stride: int) -> Rows:
    """Reference months from MIN_HISTORY months into each history up to `last_ref`."""
    cs, rs = [], []
    for c, first in enumerate(panel.first_month.tolist()):
        refs = np.arange(first + MIN_HISTORY - 1, last_ref + 1)
        refs = refs[(last_ref - refs) % stride == 0]
        cs.append(np.full(len(refs), c, np.int64))
        rs.append(refs.astype(np.int64))
    return Rows(np.concatenate(cs), np.concatenate(rs))


def label_rows(rows: Rows, events: pd.DataFrame) -> np.ndarray:
    """[rows, events] labels: 1 when the event falls in months r+1..r+3; NaN when excluded."""
    labels = np.zeros((len(rows.c), len(EVENTS)), np.float32)
    frame = pd.DataFrame({"row": np.arange(len(rows.c)), "c": rows.c, "r": rows.r})
    pairs = frame.merge(events[["c", "m", "k"]], on="c")
    ahead = pairs["m"] - pairs["r"]
    hits = pairs[(ahead > 0) & (ahead <= HORIZON_MONTHS)]
    labels[hits["row"].to_numpy(), hits["k"].to_numpy()] = 1.0
    gone = pairs[(ahead <= 0) & pairs["k"].isin([EVENTS.index(e) for e in NON_RECURRING])]
    labels[gone["row"].to_numpy(), gone["k"].to_numpy()] = np.nan
    return labels


def splits(panel: Panel, rows: Rows, later_from: int) -> dict[str, np.ndarray]:
    """Customer splits on earlier rows (label windows end by `later_from`) and the later window.

    The later window holds every non-calibration customer's rows with r >= later_from; training
    rows' label windows all end by then, so no outcome of the later window is seen in training.
    """
    bucket = np.array([customer_bucket(c) for c in panel.customers])[rows.c]
    earlier = rows.r + HORIZON_MONTHS <= later_from
    masks = {name: (bucket == name) & earlier for name in SPLIT_SHARES}
    masks["later"] = (bucket != "calibration") & (rows.r >= later_from)
    return masks


def build_dataset(session: Session, stride: int = 2) -> Dataset:
    """Load the bank's panel, rows, labels and splits; a clear error when it cannot train."""
    as_of = bank_as_of(session)
    last_month = reference_month(as_of)
    try:
        panel = load_panel(session, month_end(last_month))
    except ValueError as exc:
        raise LifeEventDataError(str(exc)) from None
    last_ref = len(panel.months) - 1 - HORIZON_MONTHS
    rows = candidate_rows(panel, last_ref, stride)
    if len(rows.c) == 0:
        raise LifeEventDataError(
            f"no reference month has {MIN_HISTORY} months of history and 3 months of outcome"
        )
    labels = label_rows(rows, event_months(session, panel))
    later_from = last_ref - LATER_WINDOW_MONTHS + 1
    dataset = Dataset(panel, rows, labels, splits(panel, rows, later_from), as_of)
    _check(dataset)
    return dataset


def _check(dataset: Dataset) -> None:
    """Every event needs positives in training and calibration to learn anything."""
    for name in ("train", "calibration"):
        positives = np.nansum(dataset.labels[dataset.split[name]], axis=0)
        missing = [e for e, n in zip(EVENTS, positives, strict=True) if n < 2]
        if missing:
            raise LifeEventDataError(
                f"too few {', '.join(missing)} events in the {name} split "
                f"({int(dataset.split[name].sum())} rows): seed more customers"
            )
