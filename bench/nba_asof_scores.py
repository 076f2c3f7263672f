"""Every propensity of the policy for customers on a past decision date, with the promoted
models and only what the bank held on that date (bench/nba_asof.py).

Life events are scored in one panel per date (the serving scorer's own per-event code, row by
row); credit risk and offer response read the customer's ledger and accounts on the date, not
the bank's as-of ones (a mortgage opened after the date is not held on it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import numpy as np
from sqlalchemy.orm import Session

from advisor.decisions.policy import Policy
from advisor.decisions.propensity import Propensities, Propensity, propensity
from advisor.predict.credit_features import credit_inputs
from advisor.predict.credit_risk import CreditRiskScorer
from advisor.predict.life_event_features import (
    EVENTS,
    Rows,
    engineered,
    month_end,
    reference_month,
    sequences,
)
from advisor.predict.life_event_panel import Panel, load_panel
from advisor.predict.life_events import LifeEventScorer
from advisor.predict.offer_response import OfferResponseScorer, customer_row
from advisor.predict.score import Score
from bench.nba_asof import CustomerOn
from portfolio_context.analytics import Ledger
from portfolio_context.models import Customer

Scored = dict[str, Any]  # registry model -> its result (a Score, or a Score per event)


def life_events_on(
    scorer: LifeEventScorer, session: Session, ids: list[str], day: dt.date
) -> dict[str, dict[str, Score]]:
    """Customer -> event -> the served model's calibrated score on `day`."""
    panel = load_panel(session, month_end(reference_month(day)), scorer.spec, ids)
    n = len(panel.customers)
    rows = Rows(np.arange(n), np.full(n, len(panel.months) - 1))
    features, names = engineered(panel, rows)
    if names != scorer.meta["features"]:
        raise RuntimeError("life-event features differ from the trained model's; retrain")
    gru = gru_logits(scorer, panel, rows)
    return {
        str(cid): {
            event: scorer._score(k, event, features[i : i + 1], names,
                                 None if gru is None else gru[i], ())
            for k, event in enumerate(EVENTS)
            if event not in scorer.withheld
        }
        for i, cid in enumerate(panel.customers)
    }  # fmt: skip


def gru_logits(scorer: LifeEventScorer, panel: Panel, rows: Rows) -> np.ndarray | None:
    """The GRU's raw logits per customer and event, when a GRU is served."""
    if scorer.gru is None:
        return None
    from advisor.predict.life_events_net import logits

    seq, statics = sequences(panel, rows)
    return np.asarray(logits(scorer.gru, seq.astype(np.float32), statics))


def credit_risk_on(scorer: CreditRiskScorer, customer: Customer, ledger: Ledger) -> Score:
    """The credit-risk score from the ledger on the decision date."""
    return scorer.score_inputs(credit_inputs(customer, ledger))


def offer_on(scorer: OfferResponseScorer, customer: Customer, ledger: Ledger) -> Score:
    """The offer-response score with the accounts and age on the decision date."""
    proxy = cast(Customer, CustomerOn(customer, list(ledger.accounts)))
    row, defaults = customer_row(proxy, ledger.as_of)
    probability = scorer.score_rows([row])[0]
    return Score(probability, "offer-response", scorer.model.version, {}, defaults)


def propensities_on(
    models: Propensities,
    customer: Customer,
    ledger: Ledger,
    life: dict[str, Score] | None,
) -> dict[str, Propensity]:
    """Every propensity of the policy for one customer on the ledger's date."""
    results: Scored = {"life-events": life}
    reasons = {"life-events": "" if life is not None else "no life-events scores"}
    credit, reasons["credit-risk"] = models.scorer("credit-risk")
    offer, reasons["offer-response"] = models.scorer("offer-response")
    if isinstance(credit, CreditRiskScorer):
        results["credit-risk"] = credit_risk_on(credit, customer, ledger)
    if isinstance(offer, OfferResponseScorer):
        results["offer-response"] = offer_on(offer, customer, ledger)
    policy: Policy = models.policy
    return {
        name: propensity(source, results.get(source.model), reasons.get(source.model, ""))
        for name, source in policy.propensities.items()
    }
