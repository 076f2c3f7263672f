"""A synthetic credit table with a known risk, for fast tests of the credit-risk model."""

from __future__ import annotations

import datetime as dt

import numpy as np

from advisor.predict.credit_features import FEATURES
from advisor.training.credit_risk_data import CreditTable

AS_OF = dt.date(2026, 11, 28)


def synthetic_table(n: int = 1500, seed: int = 3) -> CreditTable:
    """Features drawn at random and a label from a known logistic risk (fast to train on)."""
    rng = np.random.default_rng(seed)
    cols = {
        "card_utilization": rng.uniform(0, 100, n),
        "debt_to_income": rng.uniform(0, 60, n),
        "bureau_score": rng.uniform(560, 830, n),
        "delinquencies_24m": rng.poisson(0.3, n).astype(float),
        "in_default": (rng.random(n) < 0.03).astype(float),
        "inquiries_6m": rng.poisson(1.0, n).astype(float),
        "open_tradelines": rng.integers(1, 12, n).astype(float),
        "monthly_income": rng.uniform(2000, 12000, n),
        "income_variability": rng.uniform(0, 0.6, n),
        "months_on_book": rng.uniform(1, 120, n),
        "deposit_balance": rng.uniform(0, 50000, n),
    }
    logit = (
        -2.6 + 0.03 * (cols["card_utilization"] - 40) + 0.04 * (cols["debt_to_income"] - 25)
        - 0.015 * (cols["bureau_score"] - 700) + 0.8 * cols["delinquencies_24m"]
        + 0.35 * cols["inquiries_6m"] - 0.0002 * (cols["monthly_income"] - 6000)
    )  # fmt: skip
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    rows = np.column_stack([cols[name] for name in FEATURES])
    return CreditTable([f"S{i:05d}" for i in range(n)], rows, labels, AS_OF)
