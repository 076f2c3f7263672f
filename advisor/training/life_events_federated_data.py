"""Federated life-event data: training customers split into regional data holders with
different mixes (age-skewed), and one common held-out customer set every model is scored on.

Each holder keeps only its own customers' monthly sequences (a file of its own in the
simulation); the held-out customers are the training bank's customer-disjoint test split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from advisor.predict.life_event_features import (
    EVENTS,
    HORIZON_MONTHS,
    Rows,
    month_end,
    padded_log_panel,
    reference_month,
    sequence_statics,
)
from advisor.predict.life_event_panel import Panel, load_panel
from advisor.training.life_events_data import (
    LATER_WINDOW_MONTHS,
    LifeEventDataError,
    bank_as_of,
    candidate_rows,
    event_months,
    label_rows,
    splits,
)
from portfolio_context.db import session_scope
from portfolio_context.models import Customer

HOME_SHARE = 0.75  # a customer of age band k lives with holder k this often, else elsewhere
PARTITION_SEED = 11


@dataclass(frozen=True)
class HolderData:
    """One data holder's rows: its customers' padded sequences, row index, statics, labels."""

    name: str
    padded: np.ndarray  # [customers, months + SEQ_MONTHS, channels] signed-log values
    rows: Rows  # c indexes `padded`
    statics: np.ndarray  # [rows, statics]
    labels: np.ndarray  # [rows, events], NaN where a row does not count

    @property
    def customers(self) -> int:
        """How many customers the holder has."""
        return int(self.padded.shape[0])

    def save(self, path: Path) -> None:
        """Write the holder's arrays to one .npz file (its own data store)."""
        np.savez(path, name=self.name, padded=self.padded, c=self.rows.c, r=self.rows.r,
                 statics=self.statics, labels=self.labels)  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> HolderData:
        """Read a holder written by save()."""
        with np.load(path) as z:
            rows = Rows(z["c"], z["r"])
            return cls(str(z["name"]), z["padded"], rows, z["statics"], z["labels"])

    def mix(self, ages: np.ndarray) -> dict[str, object]:
        """What the holder looks like: customers, rows, median age, event rates per row."""
        rates = np.nanmean(self.labels, axis=0)
        return {
            "name": self.name,
            "customers": self.customers,
            "rows": len(self.rows.c),
            "median_age": round(float(np.median(ages)), 1),
            "event_rates": {e: round(float(v), 4) for e, v in zip(EVENTS, rates, strict=True)},
        }


@dataclass(frozen=True)
class FederatedData:
    """The holders, the pooled training rows (centralised baseline) and the held-out set."""

    holders: list[HolderData]
    pooled: HolderData
    heldout: HolderData
    mixes: list[dict[str, object]]
    customers: int


PanelRows = tuple[Panel, Rows, np.ndarray, dict[str, np.ndarray]]


def load_panel_rows(database_url: str, customers: int, stride: int) -> PanelRows:
    """The first `customers` customers' panel, rows, labels and splits (as in training)."""
    try:
        with session_scope(database_url) as session:
            as_of = bank_as_of(session)
            ids = _first_customers(session, customers)
            panel = load_panel(session, month_end(reference_month(as_of)), customer_ids=ids)
            last_ref = len(panel.months) - 1 - HORIZON_MONTHS
            rows = candidate_rows(panel, last_ref, stride)
            labels = label_rows(rows, event_months(session, panel))
    except SQLAlchemyError as exc:
        raise LifeEventDataError(f"cannot read a bank at {database_url}: {exc.args[0]}") from None
    except ValueError as exc:
        raise LifeEventDataError(str(exc)) from None
    return panel, rows, labels, splits(panel, rows, last_ref - LATER_WINDOW_MONTHS + 1)


def _first_customers(session: Session, customers: int) -> list[str]:
    """The ids of the bank's first `customers` customers (by id)."""
    stmt = select(Customer.id).order_by(Customer.id).limit(customers)
    return [str(c) for c in session.scalars(stmt)]


def age_skewed_holders(ages: np.ndarray, holders: int, seed: int = PARTITION_SEED) -> np.ndarray:
    """Holder index per customer: age band k (quantiles) goes to holder k with HOME_SHARE,
    otherwise to one of the other holders at random, so every holder has a different mix."""
    edges = np.quantile(ages, np.linspace(0, 1, holders + 1)[1:-1])
    band = np.searchsorted(edges, ages, side="right")
    rng = np.random.default_rng(seed)
    away = rng.random(len(ages)) >= HOME_SHARE
    other = (band + rng.integers(1, holders, len(ages))) % holders
    return np.where(away, other, band).astype(np.int64)


def build_federated(
    database_url: str, holders: int, customers: int, stride: int = 2
) -> FederatedData:
    """Holders from the training split, the pooled training rows and the held-out test split."""
    panel, rows, labels, split = load_panel_rows(database_url, customers, stride)
    padded = padded_log_panel(panel)
    statics = sequence_statics(panel, rows)
    ages = float(panel.months[-1][:4]) - panel.birth_year
    train_c = np.unique(rows.c[split["train"]])
    home = np.full(len(panel.customers), -1, np.int64)
    home[train_c] = age_skewed_holders(ages[train_c], holders)
    mine = [split["train"] & (home[rows.c] == k) for k in range(holders)]
    parts = [
        _holder(f"region-{k + 1}", padded, rows, statics, labels, m) for k, m in enumerate(mine)
    ]
    pooled = _holder("pooled", padded, rows, statics, labels, split["train"])
    heldout = _holder("held-out", padded, rows, statics, labels, split["test"])
    _check(parts, heldout)
    mixes = [p.mix(ages[home == k]) for k, p in enumerate(parts)]
    return FederatedData(parts, pooled, heldout, mixes, len(panel.customers))


def _holder(
    name: str,
    padded: np.ndarray,
    rows: Rows,
    statics: np.ndarray,
    labels: np.ndarray,
    mask: np.ndarray,
) -> HolderData:
    """The rows under `mask` with their customers' sequences only (indexes remapped)."""
    owners, local_c = np.unique(rows.c[mask], return_inverse=True)
    local = Rows(local_c.astype(np.int64), rows.r[mask])
    return HolderData(name, padded[owners], local, statics[mask], labels[mask])


def _check(parts: list[HolderData], heldout: HolderData) -> None:
    """Every holder needs rows; the held-out set needs both outcomes for some event."""
    for part in [*parts, heldout]:
        if len(part.rows.c) == 0:
            raise LifeEventDataError(f"{part.name} has no rows: seed more customers")
    positives = np.nansum(heldout.labels, axis=0)
    if not positives.any():
        raise LifeEventDataError("the held-out customers have no life events: seed more customers")
