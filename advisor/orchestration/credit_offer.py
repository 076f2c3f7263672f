"""The credit-limit offer: a decision is audited; a raise gets its contract, a pending
`credit_limit_change` action and a notification. Every step is idempotent by the decision's
trace id, so repeating it (a retry, a recovered workflow) adds nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from advisor.orchestration import ledger
from advisor.orchestration.actions import ActionService, Proposal
from advisor.orchestration.contracts import Contract, ContractService, rendered
from advisor.orchestration.credit_limit import KIND, source_key
from advisor.orchestration.events import AuditSink
from advisor.orchestration.notifications import NewNotification, NotificationService
from advisor.orchestration.tables import utcnow
from portfolio_context.db import session_scope
from portfolio_context.facts import Fact, say_date

if TYPE_CHECKING:
    from advisor.decisions.credit import CreditDecision
    from advisor.decisions.credit_service import CreditOutcome
    from advisor.orchestration.tables import ActionRow
    from advisor.settings import Settings

WORDING: dict[str, Any] = yaml.safe_load((Path(__file__).with_suffix(".yaml")).read_text())


@dataclass(frozen=True)
class Offer:
    """What a decision led to: a contract and a pending action for a raise, else neither."""

    contract: Contract | None = None
    action: ActionRow | None = None
    workflow_id: str | None = None
    yielded: bool = False  # a bank-started raise not offered: another offer waits

    @property
    def waits(self) -> bool:
        """Whether the action still waits for the customer's answer."""
        return self.action is not None and self.action.status == "pending"

    @property
    def wait_s(self) -> float:
        """Seconds until the action expires (0 without one)."""
        if self.action is None:
            return 0.0
        return max((self.action.expires_at - utcnow()).total_seconds(), 0.0)


@dataclass(frozen=True)
class OfferContext:
    """Why a decision was made: asked for (`request`: the API or chat), or a proactive review
    (`spending_change`) whose notification opens with `lead`, its figures in `facts`."""

    trigger: str = "request"
    lead: str = ""
    facts: tuple[Fact, ...] = ()
    audit: dict[str, Any] = field(default_factory=dict)


ASKED = OfferContext()


def workflow_id_of(trace_id: str) -> str:
    """The DBOS workflow that waits for the customer's answer to this decision's offer."""
    return f"credit_offer:{trace_id}"


def offer_facts(made: CreditDecision, contract: Contract, expires: dt.date) -> tuple[Fact, ...]:
    """The figures the notification states, each a fact with an id."""
    source = f"credit decision {contract.trace_id}"
    apr = f"{made.apr:.2f}%" if made.apr is not None else ""
    return (
        Fact.number("credit.current_limit", "current credit card limit", made.current_limit,
                    "USD", "the card account's limit today"),
        Fact.number("credit.new_limit", "new credit card limit", made.new_limit or 0, "USD",
                    source),
        Fact("credit.apr", "purchase APR", apr, "text", source),
        Fact("credit.contract", "the contract to read", contract.url, "text",
             f"contract {contract.id}, SHA-256 {contract.sha256}"),
        Fact.date("credit.offer_expires", "confirm or decline by", expires,
                  f"offers stay open {WORDING['ttl_days']} days"),
    )  # fmt: skip


class CreditOffers:
    """Turns a credit decision into its audit entry, contract, action and notification."""

    def __init__(
        self, contracts: ContractService, actions: ActionService,
        notifications: NotificationService, audit: AuditSink | None = None,
    ) -> None:  # fmt: skip
        self.contracts, self.actions = contracts, actions
        self.notifications, self.audit = notifications, audit
        self.ttl_s = int(WORDING["ttl_days"]) * 86400

    @classmethod
    def from_settings(
        cls, settings: Settings, actions: ActionService, notifications: NotificationService
    ) -> CreditOffers:
        """Offers on the settings' bank with the running orchestration's actions and
        notifications (so a confirmation wakes the offer's workflow)."""
        from advisor.orchestration.audit import AuditLog

        audit = AuditLog.from_settings(settings)
        contracts = ContractService(settings.resolved_database_url, audit)
        return cls(contracts, actions, notifications, audit)

    def offer(
        self, customer_id: str, outcome: CreditOutcome, context: OfferContext = ASKED
    ) -> Offer:
        """Audit the decision; for a raise, the contract, the pending action and the nudge
        (a keep or a decline notifies nobody: an asked-for one is answered where it was asked
        with its reasons, an unasked one is no application, so in the audit and trace only)."""
        self._audit_decision(customer_id, outcome, context)
        made, trace_id = outcome.decision, outcome.trace_id
        terms = self.contracts.terms_for(customer_id, made, trace_id)  # NotFound: no card
        proposal = self._proposal(customer_id, made, trace_id)
        if terms is None or proposal is None:
            return Offer()
        drafted, stored = rendered(terms), []  # the PDF rendered before taking the lock
        # One transaction under the customer's lock stores the contract with the action it goes
        # with: an asked-for offer replaces older ones; a bank-started one is not made at all
        # while another offer waits, and then leaves no contract either.
        action = self.actions.propose_replacing(
            proposal, yield_to_pending=context.trigger != ASKED.trigger,
            along=lambda db: stored.append(self.contracts.store_in(db, drafted)),
        )  # fmt: skip
        if action is None:
            return Offer(yielded=True)
        self.contracts.audit_issued(stored[0], terms)
        # Always: a crash between proposing and notifying must not leave the offer unsent (the
        # notification is created once per decision, by its source key).
        self._notify(customer_id, made, stored[0], action, context)
        return Offer(stored[0], action, workflow_id_of(trace_id))

    def _proposal(self, customer_id: str, made: CreditDecision, trace_id: str) -> Proposal | None:
        """The pending limit change a raise proposes (None for a keep, a decline, no card)."""
        if made.decision != "raise" or made.new_limit is None:
            return None
        with session_scope(self.contracts.url) as db:
            card = ledger.account_of(db, customer_id, "credit_card")
        if card is None:  # terms_for says so (NotFound)
            return None
        return Proposal(customer_id, KIND, made.new_limit, None, card.id, source_key(trace_id),
                        self.ttl_s, workflow_id=workflow_id_of(trace_id))  # fmt: skip

    def _notify(
        self, customer_id: str, made: CreditDecision, contract: Contract, action: ActionRow,
        context: OfferContext,
    ) -> None:  # fmt: skip
        """The offer's notification, once per decision, with the action to confirm."""
        facts = offer_facts(made, contract, action.expires_at.date())
        shown = {f.id.removeprefix("credit."): f.display for f in facts}
        body = WORDING["body"].format(expires=say_date(action.expires_at.date()),
                                      contract_url=contract.url, **shown)  # fmt: skip
        self.notifications.create(NewNotification(
            customer_id, WORDING["notification_kind"], WORDING["title"].format(**shown),
            f"{context.lead} {body}" if context.lead else body,
            f"credit_offer:{contract.trace_id}", (*context.facts, *facts), None, action.id,
        ))  # fmt: skip

    def _audit_decision(
        self, customer_id: str, outcome: CreditOutcome, context: OfferContext
    ) -> None:
        """One `decision` entry per decision (keyed by its trace id)."""
        if self.audit is None:
            return
        made = outcome.decision.to_json()
        payload = {"customer_id": customer_id, "trace_id": outcome.trace_id, **made,
                   "trigger": context.trigger, **context.audit}  # fmt: skip
        payload["reasons"] = [r["code"] for r in made["reasons"]]
        self.audit.append("decision", f"trace/{outcome.trace_id}", payload,
                          key=f"decision:{outcome.trace_id}")  # fmt: skip
