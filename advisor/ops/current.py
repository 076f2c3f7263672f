"""Today's scoring data per registry model: every customer of the bank scored now, with the
features the model saw and, where the bank records them, the outcomes (for calibration)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import lightgbm as lgb
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from advisor.predict.registry import ModelVersion
from portfolio_context.models import CreditProfile, Customer
from portfolio_context.view import bank_as_of

if TYPE_CHECKING:
    from advisor.predict.life_event_features import Rows
    from advisor.predict.life_event_panel import Panel
    from advisor.predict.life_events import LifeEventScorer


@dataclass(frozen=True)
class Current:
    """One model's current data: feature rows, their names, scores, outcomes if recorded.
    With `events`, probs has one column per event (life events: one score each)."""

    features: np.ndarray
    names: list[str]
    probs: np.ndarray
    labels: np.ndarray | None
    events: tuple[str, ...] = ()


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


def life_events(session: Session, model: ModelVersion) -> Current:
    """Life events: every customer's engineered features at the last complete month and the
    served (chosen, calibrated) score per event; outcomes lie in the future: none."""
    from advisor.predict.life_event_features import (
        EVENTS,
        Rows,
        engineered,
        month_end,
        reference_month,
    )
    from advisor.predict.life_event_panel import load_panel
    from advisor.predict.life_events import LifeEventScorer

    scorer = LifeEventScorer(model)
    until = month_end(reference_month(bank_as_of(session)))
    panel = load_panel(session, until, scorer.spec)
    count = len(panel.customers)
    rows = Rows(np.arange(count), np.full(count, len(panel.months) - 1))
    features, names = engineered(panel, rows)
    gru = _gru_logits(scorer, panel, rows)
    probs = np.column_stack(
        [_event_probs(scorer, e, k, features, gru) for k, e in enumerate(EVENTS)]
    )
    return Current(features.astype(np.float64), names, probs, None, EVENTS)


def _gru_logits(scorer: LifeEventScorer, panel: Panel, rows: Rows) -> np.ndarray | None:
    """The GRU's raw logits [customers, events] when a GRU is served."""
    if scorer.gru is None:
        return None
    from advisor.predict.life_event_features import sequences
    from advisor.predict.life_events_net import logits

    seq, statics = sequences(panel, rows)
    return np.asarray(logits(scorer.gru, seq.astype(np.float32), statics))


def _event_probs(
    scorer: LifeEventScorer, event: str, k: int, features: np.ndarray, gru: np.ndarray | None
) -> np.ndarray:
    """One event's calibrated probabilities from its chosen model (as the scorer serves it)."""
    from advisor.predict.life_event_calibration import calibrate

    chosen = scorer.chosen[event]
    parts = []
    if chosen in ("gbm", "ensemble"):
        parts.append(np.asarray(scorer.boosters[event].predict(features, raw_score=True)))
    if chosen in ("gru", "ensemble"):
        assert gru is not None
        parts.append(gru[:, k])
    raw = np.mean(parts, axis=0)
    return np.asarray(calibrate(scorer.meta["calibration"][f"{event}/{chosen}"], raw))


# Registry model name -> reader of its current data (a model not here is reported unread).
READERS: dict[str, Callable[[Session, ModelVersion], Current]] = {
    "credit-risk": credit_risk,
    "offer-response": offer_response,
    "life-events": life_events,
}
