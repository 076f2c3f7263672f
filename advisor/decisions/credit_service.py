"""The credit-limit service: score, decide under the policy, store the trace."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.decisions.credit import CreditDecision, decide
from advisor.decisions.credit_rules import (
    POLICY_FILE,
    REASONS_FILE,
    CreditPolicy,
    ReasonCodes,
    load_policy,
    load_reason_codes,
)
from advisor.decisions.traces import TraceStore
from advisor.errors import BackendUnavailable, InvalidInput, NotFound
from advisor.ops.metrics import scored
from advisor.predict.credit_features import CreditInputs, load_credit_inputs
from advisor.predict.credit_risk import MODEL_NAME, CreditRiskScorer
from advisor.predict.registry import Registry, data_hash
from advisor.predict.score import Score
from portfolio_context.db import session_scope
from portfolio_context.view import CustomerNotFound, bank_as_of

if TYPE_CHECKING:
    from advisor.settings import Settings

TRACE_KIND = "credit_decision"


class NoCreditCard(NotFound):
    """The customer holds no credit card whose limit could change."""


@dataclass(frozen=True)
class CreditOutcome:
    """A decision and the id of its stored trace."""

    decision: CreditDecision
    trace_id: str


class CreditService:
    """Decides credit-limit requests with the promoted credit-risk model and the policy."""

    def __init__(
        self,
        database_url: str,
        registry: Registry,
        traces: TraceStore,
        files: tuple[Path, Path] = (POLICY_FILE, REASONS_FILE),
    ) -> None:
        self.url, self.registry, self.traces = database_url, registry, traces
        self.rules: tuple[CreditPolicy, ReasonCodes] = (
            load_policy(files[0]),
            load_reason_codes(files[1]),
        )
        self.rules_digest = data_hash(files[0].read_bytes() + files[1].read_bytes())
        self._scorer: CreditRiskScorer | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> CreditService:
        """The service on the settings' bank, registry and trace store."""
        url = settings.resolved_database_url
        return cls(url, Registry.from_settings(settings), TraceStore(url))

    @property
    def policy(self) -> CreditPolicy:
        """The credit policy in force."""
        return self.rules[0]

    def scorer(self) -> CreditRiskScorer:
        """The promoted credit-risk model (reloaded when another version is promoted)."""
        promoted = self.registry.promoted(MODEL_NAME)
        if promoted is None:
            raise BackendUnavailable(
                "no credit-risk model is trained: run `advisor train credit-risk`"
            )
        with self._lock:
            if self._scorer is None or self._scorer.version != promoted.version:
                self._scorer = CreditRiskScorer.from_version(promoted)
            return self._scorer

    def check_requested(self, requested: Decimal | None) -> None:
        """InvalidInput for a requested limit that is not positive or above the policy's maximum."""
        if requested is None:
            return
        if not requested.is_finite() or requested <= 0:
            raise InvalidInput("requested_limit must be a positive amount")
        if requested > self.policy.max_requested_limit:
            raise InvalidInput(f"requested_limit may be at most {self.policy.max_requested_limit}")

    def request(
        self, customer_id: str, requested: Decimal | None = None, trigger: str = "request"
    ) -> CreditOutcome:
        """Decide one customer's credit-limit request (or, with trigger `spending_change`, a
        review the bank started) and store its trace, which names the trigger."""
        self.check_requested(requested)
        inputs, as_of = self._inputs(customer_id)
        current = inputs.current_limit
        if current is None:
            raise NoCreditCard(
                "you hold no credit card with us, so there is no limit to change; "
                "a new card is a separate application"
            )
        if requested is not None and requested <= current:
            raise InvalidInput(f"requested_limit must be above your current limit of {current}")
        score = self.scorer().score_inputs(inputs)
        scored([score])  # served: the app's model-score histogram (advisor/ops)
        decision = decide(inputs, current, score, requested, self.rules)
        payload = self._payload(inputs, as_of, requested, score, decision) | {"trigger": trigger}
        return CreditOutcome(decision, self.traces.record(customer_id, TRACE_KIND, payload))

    def _inputs(self, customer_id: str) -> tuple[CreditInputs, dt.date]:
        """The customer's credit inputs as of the bank's date (NotFound when unknown)."""
        try:
            with session_scope(self.url) as session:
                as_of = bank_as_of(session)
                return load_credit_inputs(session, customer_id, as_of), as_of
        except CustomerNotFound as exc:
            raise NotFound(f"unknown customer {exc.args[0]!r}") from exc

    def _payload(
        self,
        inputs: CreditInputs,
        as_of: dt.date,
        requested: Decimal | None,
        score: Score,
        decision: CreditDecision,
    ) -> dict[str, Any]:
        """What the trace stores: enough to replay the decision."""
        scorer = self.scorer()
        return {
            "inputs": {
                "features": inputs.values, "as_of": as_of.isoformat(),
                "requested_limit": None if requested is None else str(requested),
                "current_limit": str(inputs.current_limit),
                "monthly_income": str(inputs.monthly_income),
                "current_apr": None if inputs.current_apr is None else str(inputs.current_apr),
                "hardship": inputs.hardship, "in_default": inputs.in_default,
            },
            "model_versions": {MODEL_NAME: score.version},
            "scores": {MODEL_NAME: score.probability},
            "contributions": {MODEL_NAME: score.contributions},
            "base_log_odds": {MODEL_NAME: scorer.base_of(score)},
            "rules_fired": [{"policy": POLICY_FILE.name, "rules": list(decision.rules_fired)}],
            "defaults_used": [f"{MODEL_NAME}:{name}" for name in score.defaults_used],
            "policy_digest": self.rules_digest,
            "decision": decision.to_json(),
        }  # fmt: skip
