"""A synthetic credit table with a known risk, for fast tests of the credit-risk model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
from sqlalchemy import delete, select, update

from advisor.predict.credit_features import FEATURES
from advisor.training.credit_risk_data import CreditTable
from portfolio_context.db import session_scope
from portfolio_context.models import Account, CreditProfile, Customer, Transaction
from portfolio_context.seed import seed_bank

AS_OF = dt.date(2026, 11, 28)
GOOD, HARDSHIP, DELINQUENT, NO_CARD = "C0004", "C0002", "C0003", "C0005"


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


def prepare_bank(url: str) -> None:
    """A tiny bank with a good customer, one in hardship, one delinquent, one without a card."""
    seed_bank(url, 8, 42, AS_OF)
    with session_scope(url) as db:
        db.execute(update(Customer).values(hardship=False, in_default=False))
        db.execute(update(Customer).where(Customer.id == HARDSHIP).values(hardship=True))
        good = CreditProfile.customer_id == GOOD
        db.execute(update(CreditProfile).where(good).values(score=820, inquiries_6m=0))
        db.execute(update(CreditProfile).values(delinquencies_24m=0))
        delinquent = CreditProfile.customer_id == DELINQUENT
        db.execute(update(CreditProfile).where(delinquent).values(delinquencies_24m=2))
        card = (Account.customer_id == GOOD) & (Account.type == "credit_card")
        db.execute(update(Account).where(card).values(credit_limit=Decimal(5000), balance=200))
        gone = select(Account.id).where(
            Account.customer_id == NO_CARD, Account.type == "credit_card"
        )
        db.execute(delete(Transaction).where(Transaction.account_id.in_(gone)))
        db.execute(delete(Account).where(Account.id.in_(gone)))
