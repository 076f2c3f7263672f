"""The chat provider for `credit_limit_request` (a factory of advisor/chat/decision_facts.py).

The decision is made by the credit service and offered by the credit offers, as on
`POST /v1/credit-limit/requests`: stored with its trace, audited, and a raise gets its contract,
pending `credit_limit_change` action and notification (the stream announces the action). Asking
again in the same chat session while that offer is pending restates it (no new decision,
action or notification), and so does asking again after a keep or decline (that decision);
asking in another session, or for another amount, decides anew and
the newer offer supersedes the older one (one live offer). Chat states it from facts
(credit.decision, credit.current_limit, credit.new_limit, credit.apr, credit.reason_1..4,
credit.offer_expires) in a deterministic draft.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from advisor.chat.decision_facts import DecisionDraft, Provider
from advisor.context_service import ContextService
from advisor.decisions.credit import CreditDecision
from advisor.decisions.credit_rules import Reason
from advisor.decisions.credit_service import (
    TRACE_KIND,
    CreditOutcome,
    CreditService,
    NoCreditCard,
)
from advisor.errors import BackendUnavailable, InvalidInput
from advisor.orchestration.actions import ActionService, Proposal
from advisor.orchestration.credit_limit import KIND, SOURCE_PREFIX, source_key
from advisor.orchestration.credit_offer import WORDING, CreditOffers, Offer, offer_facts
from advisor.orchestration.notifications import NotificationService
from advisor.orchestration.tables import ActionRow, utcnow
from advisor.settings import Settings
from portfolio_context.db import session_scope
from portfolio_context.facts import Fact
from portfolio_context.view import Customer360

CHAT_FILE = Path(__file__).with_name("credit_chat.yaml")
TOPIC = "credit_decision"
OTHER = "Other, specify: "


@lru_cache(maxsize=1)
def templates() -> dict[str, Any]:
    """The draft templates, read once."""
    loaded: dict[str, Any] = yaml.safe_load(CHAT_FILE.read_text("utf-8"))
    return loaded


def requested_limit(message: str, current: Decimal | None) -> Decimal | None:
    """The limit a message asks for: "to $8,000" is 8000, "by $2,000" the current plus 2000."""
    found = re.search(templates()["amount"], message, re.I)
    if found is None:
        return None
    amount = Decimal(found["amount"].replace(",", ""))
    if found["how"].lower() == "by":
        return None if current is None else current + amount
    return amount


def decision_facts(outcome: CreditOutcome) -> list[Fact]:
    """The decision as facts with ids."""
    made, why = outcome.decision, f"credit-limit decision, trace {outcome.trace_id}"
    facts = [
        Fact("credit.decision", "credit-limit decision", made.decision, "text", why),
        Fact.number("credit.current_limit", "current credit card limit", made.current_limit,
                    "USD", why),
    ]  # fmt: skip
    if made.new_limit is not None and made.decision == "raise":
        facts.append(Fact.number("credit.new_limit", "new credit card limit", made.new_limit,
                                 "USD", why))  # fmt: skip
    if made.apr is not None and made.decision == "raise":
        facts.append(Fact("credit.apr", "purchase APR", f"{made.apr:.2f}%", "text", why))
    for rank, reason in enumerate(made.reasons, 1):
        facts.append(Fact(f"credit.reason_{rank}", f"principal reason {rank}", reason.text,
                          "text", f"Regulation B reason {reason.code}; {why}"))  # fmt: skip
    return facts


def decision_draft(outcome: CreditOutcome, facts: list[Fact]) -> str:
    """The decision, then its principal reasons, in the templates' words."""
    made, book = outcome.decision, templates()
    shown = {"{" + f.id + "}": f.display for f in facts}
    key = made.decision
    if made.decision == "raise" and made.reasons:
        key = "raise_below_request"
    text = str(book[key])
    for placeholder, value in shown.items():
        text = text.replace(placeholder, value)
    if made.reasons:
        said = "; ".join(r.text.removeprefix(OTHER) for r in made.reasons)
        text += " " + str(book["reasons"]).replace("{reasons}", said)
    return text


def offered_facts(made: CreditDecision, offer: Offer) -> list[Fact]:
    """The fact of a made offer the draft states beyond the decision: when it lapses."""
    if offer.contract is None or offer.action is None:
        return []
    found = offer_facts(made, offer.contract, offer.action.expires_at.date())
    return [f for f in found if f.id == "credit.offer_expires"]


def proposal_of(offer: Offer) -> Proposal | None:
    """The pending action of a made offer, as the chat plan names it."""
    row = offer.action
    if row is None or row.status != "pending":
        return None
    ttl_s = int((row.expires_at - utcnow()).total_seconds())
    return Proposal(row.customer_id, row.kind, row.amount, row.from_account, row.to_account,
                    row.source_key, ttl_s, row.event_id, row.workflow_id)  # fmt: skip


def credit_limit(settings: Settings, context: ContextService) -> Provider:
    """The provider: decide the request the message makes, offer a raise, answer from both."""
    service = CreditService.from_settings(settings)
    offers = ChatOffers(settings)

    def provide(
        customer_id: str, view: Customer360, message: str, earlier: tuple[str, ...] = ()
    ) -> DecisionDraft | None:
        limit = view.fact("credit.card_limit")
        current = Decimal(str(limit.value)) if limit is not None else None
        asked = requested_limit(message, current)
        waiting = pending_offer(offers.get().actions.url, customer_id, earlier) if earlier else None
        if waiting is not None and (kept := restated(service, waiting, asked)) is not None:
            return kept  # asked again in this session: the pending offer, not a second one
        if earlier and (said := restated_decision(service, customer_id, earlier, asked)):
            return said  # asked again after a keep or decline: that decision, not a new one
        try:
            outcome = _decided(service, customer_id, asked)
        except NoCreditCard:
            return DecisionDraft(TOPIC, [], str(templates()["no_card"]))
        except InvalidInput:
            return DecisionDraft(TOPIC, [], str(templates()["invalid_amount"]))
        except BackendUnavailable:
            return None  # no model trained: the usual credit-limit reply answers
        offer = offers.get().offer(customer_id, outcome)
        facts = decision_facts(outcome) + offered_facts(outcome.decision, offer)
        draft = decision_draft(outcome, facts)
        if offer.waits:
            draft += " " + _filled(str(templates()["offered"]), facts)
        return DecisionDraft(TOPIC, facts, draft, (outcome.trace_id,), proposal_of(offer))

    return provide


class ChatOffers:
    """The credit offers chat makes: on the running orchestration's actions and notifications
    (so a superseded offer's wait wakes and webhooks go out), else on the settings' own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._offers: CreditOffers | None = None

    def get(self) -> CreditOffers:
        """The offers, built on first use."""
        if self._offers is None:
            self._offers = self._build()
        return self._offers

    def _build(self) -> CreditOffers:
        """On the running orchestration when there is one."""
        from advisor.orchestration import workflows

        url = self.settings.resolved_database_url
        try:
            running = workflows.services()
        except RuntimeError:
            running = None
        if running is not None and running.settings.resolved_database_url == url:
            return running.reviews.offers
        actions = ActionService.from_settings(self.settings)
        notifications = NotificationService.from_settings(self.settings)
        return CreditOffers.from_settings(self.settings, actions, notifications)


def _filled(text: str, facts: list[Fact]) -> str:
    """A template with its {fact ids} replaced by the facts' displays."""
    for fact in facts:
        text = text.replace("{" + fact.id + "}", fact.display)
    return text


def _decided(service: CreditService, customer_id: str, requested: Decimal | None) -> CreditOutcome:
    """The decision on the amount asked for, capped at the policy's largest requestable limit
    (so a larger ask is decided as that, and a lower offer says so with its reasons). An amount
    that cannot be asked (not above the current limit) raises InvalidInput; it is never
    silently decided as another request."""
    if requested is not None:
        requested = min(requested, service.policy.max_requested_limit)
    return service.request(customer_id, requested)


def pending_offer(url: str, customer_id: str, earlier: tuple[str, ...]) -> ActionRow | None:
    """The newest offer one of the session's earlier decisions made that still waits."""
    keys = [source_key(trace_id) for trace_id in earlier]
    if not keys:
        return None
    query = select(ActionRow).where(
        ActionRow.customer_id == customer_id, ActionRow.kind == KIND,
        ActionRow.status == "pending", ActionRow.source_key.in_(keys),
        ActionRow.expires_at > utcnow(),
    )  # fmt: skip
    with session_scope(url) as db:
        return db.scalars(query.order_by(ActionRow.created_at.desc())).first()


def restated(service: CreditService, row: ActionRow, asked: Decimal | None) -> DecisionDraft | None:
    """The pending offer's decision and offer, stated again from its trace (None when the
    message asks for another amount than that decision did, or the trace cannot be read)."""
    trace_id = row.source_key.removeprefix(SOURCE_PREFIX)
    payload = service.traces.get(trace_id, row.customer_id)
    if payload is None:
        return None
    if not same_amount(service, payload, asked):
        return None
    outcome = CreditOutcome(decision_of(payload), trace_id)
    facts = [*decision_facts(outcome), expiry_fact(row)]
    book = templates()
    draft = " ".join([str(book["pending"]), decision_draft(outcome, facts),
                      _filled(str(book["offered"]), facts)])  # fmt: skip
    return DecisionDraft(TOPIC, facts, draft, (trace_id,), proposal_of(Offer(action=row)))


def same_amount(service: CreditService, payload: dict[str, Any], asked: Decimal | None) -> bool:
    """Whether a message asks for what a stored decision decided (no amount: whatever it was)."""
    stored = payload["inputs"]["requested_limit"]
    return asked is None or min(asked, service.policy.max_requested_limit) == (
        None if stored is None else Decimal(stored)
    )


def restated_decision(
    service: CreditService, customer_id: str, earlier: tuple[str, ...], asked: Decimal | None
) -> DecisionDraft | None:
    """The session's latest credit decision stated again when it raised nothing and the message
    asks for the same amount (a raise is restated with its pending offer, else decided anew)."""
    found = (service.traces.get(t, customer_id) for t in reversed(earlier))
    payload = next((p for p in found if p is not None and p["kind"] == TRACE_KIND), None)
    if payload is None or payload["decision"]["decision"] == "raise":
        return None
    if not same_amount(service, payload, asked):
        return None
    outcome = CreditOutcome(decision_of(payload), str(payload["id"]))
    facts = decision_facts(outcome)
    draft = " ".join([str(templates()["decided"]), decision_draft(outcome, facts)])
    return DecisionDraft(TOPIC, facts, draft, (outcome.trace_id,))


def decision_of(payload: dict[str, Any]) -> CreditDecision:
    """The decision a credit trace stores (CreditDecision.to_json, with the rules fired)."""
    made = payload["decision"]
    fired = [rule for group in payload.get("rules_fired", []) for rule in group["rules"]]
    reasons = tuple(Reason(**reason) for reason in made["reasons"])
    return CreditDecision(
        made["decision"], Decimal(made["current_limit"]), _money(made["new_limit"]),
        _money(made["apr"]), reasons, tuple(fired), made["band"], Decimal(made["target_limit"]),
    )  # fmt: skip


def expiry_fact(row: ActionRow) -> Fact:
    """When a pending offer lapses, as the offer's own facts state it."""
    return Fact.date("credit.offer_expires", "confirm or decline by", row.expires_at.date(),
                     f"offers stay open {WORDING['ttl_days']} days")  # fmt: skip


def _money(stored: str | None) -> Decimal | None:
    """A trace's money string as a Decimal (None stays None)."""
    return None if stored is None else Decimal(stored)
