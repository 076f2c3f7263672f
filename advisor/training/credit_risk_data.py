"""The credit-risk training table: observable features and the hidden 12-month delinquency label."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from advisor.predict.credit_features import FEATURES, load_credit_inputs
from advisor.predict.registry import data_hash
from advisor.training.router_data import TrainingDataError
from portfolio_context.db import session_scope
from portfolio_context.models import CreditProfile
from portfolio_context.view import CustomerNotFound, bank_as_of

Say = Callable[[str], None]
SPLIT_BUCKETS = {"train": range(0, 60), "calibration": range(60, 80), "test": range(80, 100)}


@dataclass(frozen=True)
class CreditTable:
    """One row per customer: ids, the feature matrix (FEATURES order) and 0/1 labels."""

    ids: list[str]
    rows: np.ndarray
    labels: np.ndarray
    as_of: dt.date

    def digest(self) -> str:
        """sha256 of the table's content (ids, features, labels, as-of date)."""
        head = json.dumps({"ids": self.ids, "as_of": self.as_of.isoformat(), "f": FEATURES})
        return data_hash(head.encode() + self.rows.tobytes() + self.labels.tobytes())

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows and labels of one split (train, calibration, test) by customer."""
        mask = np.array([customer_bucket(cid) in SPLIT_BUCKETS[name] for cid in self.ids])
        return self.rows[mask], self.labels[mask]


def customer_bucket(customer_id: str) -> int:
    """A stable 0..99 bucket per customer: every customer lies in exactly one split."""
    return int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) % 100


def load_table(url: str, say: Say = lambda _m: None, limit: int | None = None) -> CreditTable:
    """Features and labels of the labelled customers (the first `limit` by id, else all);
    TrainingDataError when there are none."""
    try:
        with session_scope(url) as session:
            as_of = bank_as_of(session)
            labelled = session.execute(
                select(CreditProfile.customer_id, CreditProfile.delinquent_12m)
                .where(CreditProfile.delinquent_12m.is_not(None))
                .order_by(CreditProfile.customer_id)
                .limit(limit)
            ).all()
            rows = []
            for done, (cid, _label) in enumerate(labelled, 1):
                values = load_credit_inputs(session, cid, as_of).values
                rows.append([values[name] for name in FEATURES])
                if done % 500 == 0:
                    say(f"features of {done}/{len(labelled)} customers")
    except CustomerNotFound as exc:
        raise TrainingDataError(f"the training bank at {url} is not seeded") from exc
    if not labelled:
        raise TrainingDataError(f"no customer in {url} has a delinquent_12m label")
    ids = [str(cid) for cid, _ in labelled]
    labels = np.array([1 if label else 0 for _, label in labelled], dtype=np.int8)
    return CreditTable(ids, np.array(rows, dtype=float), labels, as_of)
