"""Runtime life-event scorer: the promoted `life-events` version, one calibrated Score per event.

Per event the model card says what is served: the LightGBM model, the GRU or their ensemble.
Contributions are exact LightGBM `pred_contrib` log-odds of the raw GBM (plus `bias`); for the
ensemble (mean of GBM and GRU log-odds) they are halved and `gru_sequence` holds the GRU's
half, so they sum to the ensemble's raw log-odds. PyTorch is imported only when a GRU is served.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import lightgbm as lgb
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from advisor.errors import NotFound
from advisor.predict.life_event_calibration import calibrate
from advisor.predict.life_event_features import (
    CREDIT_EVENTS,
    CREDIT_EXCLUDED_FEATURES,
    EVENTS,
    MIN_HISTORY,
    Rows,
    engineered,
    month_end,
    reference_month,
    sequences,
)
from advisor.predict.life_event_panel import Panel, PanelSpec, load_panel
from advisor.predict.registry import ModelVersion, Registry
from advisor.predict.score import Score
from portfolio_context.models import Customer

MODEL_NAME = "life-events"
USES_GBM = ("gbm", "ensemble")
USES_GRU = ("gru", "ensemble")


class LifeEventScorer:
    """Scores one customer for every life event with the promoted version's chosen models."""

    def __init__(self, version: ModelVersion) -> None:
        self.version = version
        self.meta = version.meta
        self.spec = PanelSpec.from_dict(self.meta["panel_spec"])
        self.chosen: dict[str, str] = self.meta["chosen"]
        self.boosters = {
            event: lgb.Booster(model_file=str(version.path / f"gbm_{event}.txt"))
            for event in EVENTS
            if self.chosen[event] in USES_GBM
        }
        self.gru = self._load_gru() if set(self.chosen.values()) & set(USES_GRU) else None
        self.withheld = {e for e in CREDIT_EVENTS if not self.credit_safe(e)}

    def credit_safe(self, event: str) -> bool:
        """Whether the event's served model leaves out every credit-excluded feature (age): a
        GBM with no split on it (a GRU reads age among its statics). Older versions are not."""
        booster = self.boosters.get(event)
        if self.chosen[event] != "gbm" or booster is None:
            return False
        gains = dict(zip(booster.feature_name(), booster.feature_importance(), strict=True))
        return all(gains.get(name, 0) == 0 for name in CREDIT_EXCLUDED_FEATURES)

    @classmethod
    def from_registry(cls, registry: Registry) -> LifeEventScorer | None:
        """The promoted version's scorer; None when nothing is registered."""
        version = registry.promoted(MODEL_NAME)
        return cls(version) if version is not None else None

    def _load_gru(self) -> Any:
        """The GRU with its trained weights (imports PyTorch)."""
        import torch

        from advisor.predict.life_events_net import LifeEventGRU

        torch.set_num_threads(1)
        hidden = int(self.meta["params"]["gru"]["hidden"])
        model = LifeEventGRU(
            self.meta["gru_channels"], self.meta["gru_statics"], len(EVENTS), hidden
        )
        state = torch.load(self.version.path / "gru.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        return model.eval()

    def score_customer(
        self, session: Session, customer_id: str, as_of: dt.date
    ) -> dict[str, Score]:
        """Calibrated probability per event for the 3 months after the last complete month."""
        if session.scalar(select(Customer.id).where(Customer.id == customer_id)) is None:
            raise NotFound(f"no customer {customer_id!r}")
        panel = load_panel(session, month_end(reference_month(as_of)), self.spec, [customer_id])
        rows = Rows(np.array([0]), np.array([len(panel.months) - 1]))
        features, names = engineered(panel, rows)
        if names != self.meta["features"]:
            raise RuntimeError("life-event features differ from the trained model's; retrain")
        gru_raw = self._gru_logits(panel, rows)
        defaults = _defaults_used(panel)
        return {
            event: self._score(k, event, features, names, gru_raw, defaults)
            for k, event in enumerate(EVENTS)
            if event not in self.withheld  # a credit action's score never rests on age
        }

    def _gru_logits(self, panel: Panel, rows: Rows) -> np.ndarray | None:
        """The GRU's raw logits per event, when a GRU is served."""
        if self.gru is None:
            return None
        from advisor.predict.life_events_net import logits

        seq, statics = sequences(panel, rows)
        return np.asarray(logits(self.gru, seq.astype(np.float32), statics)[0])

    def _score(
        self,
        k: int,
        event: str,
        features: np.ndarray,
        names: list[str],
        gru_raw: np.ndarray | None,
        defaults: tuple[str, ...],
    ) -> Score:
        """One event's Score from the chosen model."""
        chosen = self.chosen[event]
        contributions: dict[str, float] = {}
        if chosen in USES_GBM:
            booster = self.boosters[event]
            parts = np.asarray(booster.predict(features, pred_contrib=True, num_threads=1))[0]
            share = 0.5 if chosen == "ensemble" else 1.0
            contributions = {n: share * float(v) for n, v in zip(names, parts[:-1], strict=True)}
            contributions["bias"] = share * float(parts[-1])
        if chosen in USES_GRU:
            assert gru_raw is not None
            contributions["gru_sequence"] = (0.5 if chosen == "ensemble" else 1.0) * float(
                gru_raw[k]
            )
        raw = np.array([sum(contributions.values())])
        probability = float(calibrate(self.meta["calibration"][f"{event}/{chosen}"], raw)[0])
        return Score(probability, MODEL_NAME, self.version.version, contributions, defaults)


def _defaults_used(panel: Panel) -> tuple[str, ...]:
    """What the score had to assume: no transactions, or under MIN_HISTORY months of them."""
    history = len(panel.months) - int(panel.first_month[0])
    if history <= 0:
        return ("no_transactions",)
    return ("short_history",) if history < MIN_HISTORY else ()
