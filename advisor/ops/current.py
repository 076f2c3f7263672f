"""Today's scoring data per registry model: every customer of the bank scored now, with the
features the model saw and, where the bank records them, the outcomes (for calibration)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from advisor.predict.registry import ModelVersion
from portfolio_context.models import CreditProfile, Customer
from portfolio_context.view import bank_as_of


@dataclass(frozen=True)
class Current:
    """One model's current data: feature rows, their names, scores, outcomes if recorded."""

    features: np.ndarray
    names: list[str]
    probs: np.ndarray
    labels: np.ndarray | None


def credit_risk(session: Session, model: ModelVersion) -> Current:
    """Credit risk: every customer's credit inputs and score; outcomes: delinquent_12m."""
    from advisor.predict.credit_features import load_credit_inputs
    from advisor.predict.credit_risk import CreditRiskScorer

    as_of, scorer = bank_as_of(session), CreditRiskScorer.from_version(model)
    ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
    inputs = [load_credit_inputs(session, cid, as_of) for cid in ids]
    rows = np.array([[i.values[n] for n in scorer.features] for i in inputs], dtype=np.float64)
    probs = np.array([scorer.score_inputs(i).probability for i in inputs])
    rows = rows.reshape(len(ids), len(scorer.features))
    recorded = select(CreditProfile.customer_id, CreditProfile.delinquent_12m)
    outcomes: dict[str, bool | None] = {cid: flag for cid, flag in session.execute(recorded)}
    known = [outcomes.get(cid) for cid in ids]
    labels = None if None in known else np.array(known, dtype=np.float64)
    return Current(rows, scorer.features, probs, labels)


def offer_response(session: Session, model: ModelVersion) -> Current:
    """Offer response: every customer's UCI-schema row and score; no outcomes recorded."""
    from advisor.predict.campaigns import encode, feature_names
    from advisor.predict.offer_response import OfferResponseScorer, customer_row

    as_of = bank_as_of(session)
    booster = lgb.Booster(model_file=str(model.path / "model.txt"))
    calibration = json.loads((model.path / "calibration.json").read_text(encoding="utf-8"))
    scorer = OfferResponseScorer(booster, calibration, model)
    customers = list(session.scalars(select(Customer).order_by(Customer.id)))
    rows = [customer_row(c, as_of)[0] for c in customers]
    return Current(encode(rows), feature_names(), np.array(scorer.score_rows(rows)), None)


# Registry model name -> reader of its current data (a model not here is reported unread).
READERS: dict[str, Callable[[Session, ModelVersion], Current]] = {
    "credit-risk": credit_risk,
    "offer-response": offer_response,
}
