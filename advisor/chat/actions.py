"""Actions proposed in chat: a routed transfer ("move $500 to savings") or card freeze becomes a
pending action the customer confirms (POST /v1/actions/{id}/confirm), announced by an `action`
event. Amounts and accounts come from the router's entities and the bank, never the model."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from advisor.chat import events
from advisor.chat.action_rules import ActionRules, action_rules, names_credit_card, transfer_ask
from advisor.chat.events import ChatEvent
from advisor.grounding.selection import Selection, Slots
from advisor.orchestration import cards, ledger
from advisor.orchestration.actions import ActionService, Proposal, action_json
from advisor.orchestration.tables import ActionRow
from portfolio_context.db import session_scope
from portfolio_context.facts import Fact
from retrieval.servicing import ServicingAnswer, servicing_answer

if TYPE_CHECKING:
    from advisor.chat.plan import Plan
    from advisor.routing.router import Routed
    from advisor.settings import Settings
    from portfolio_context.models import Account

KEEP = frozenset({"refuse", "handoff"})  # plans an action never replaces
FRESH = "chat:new"  # a plan's proposal not yet keyed; proposed as chat:<session id>:<random>
log = logging.getLogger("advisor.chat")
# customer, kind, amount, from account, to account: what a Proposal takes before its key
Proposed = tuple[str, str, Decimal | None, str | None, str | None]


class ChatActions:
    """Turns a plan into an action plan where the request asks for one; proposes it on stream."""

    def __init__(self, settings: Settings, rules: ActionRules | None = None) -> None:
        self.settings, self.rules = settings, rules or action_rules()
        self._service: ActionService | None = None

    @property
    def service(self) -> ActionService:
        """The action service, built on first use (it creates its tables)."""
        if self._service is None:
            self._service = ActionService.from_settings(self.settings)
        return self._service

    def revise(self, customer_id: str, plan: Plan) -> Plan:
        """The plan, or an action plan (or a reply saying why not) for an action request."""
        routed = plan.routed
        if routed is None or plan.kind in KEEP:
            return plan
        rules = self.rules
        if (
            routed.intent in rules.transfer_intents
            and routed.confidence >= rules.transfer_confidence
        ):
            return self._transfer(customer_id, plan, routed)
        # Split between two servicing requests: both articles offer their actions, none proposed.
        article = _freeze_article(routed, rules) if plan.alternative is None else None
        return self._freeze(customer_id, plan, routed, article) if article else plan

    def events(self, plan: Plan, session_id: str) -> list[ChatEvent]:
        """The facts of an action's reply, and the pending action of an action plan, proposed
        now (once per turn), as its event."""
        if plan.kind in ("reply", "action") and plan.selection is not None:
            return [events.fact(item) for item in plan.selection.facts]
        if plan.proposal is None or plan.kind == "facts":  # a decision's offer: see offered()
            return []
        return [action_event(self._propose(plan.proposal, session_id))]

    async def offered(self, plan: Plan) -> list[ChatEvent]:
        """The pending action a decision already made (a credit-limit raise's offer, with its
        contract and notification), announced, and the durable wait for its answer started."""
        if plan.kind != "facts" or plan.proposal is None:
            return []
        row = await asyncio.to_thread(self.service.by_source, plan.proposal.source_key)
        if row is None:
            return []
        if row.status == "pending" and row.workflow_id:
            await _start_wait(row)
        return [action_event(row)]

    def _propose(self, proposal: Proposal, session_id: str) -> ActionRow:
        """Propose under a key of this session; the session's earlier pending proposals of the
        kind expire, so a question retried after a dropped stream leaves one live action."""
        if proposal.source_key == FRESH:  # not an action already waiting
            scope = f"chat:{session_id}:"
            proposal = dataclasses.replace(proposal, source_key=scope + uuid.uuid4().hex)
            row = self.service.propose_replacing(proposal, scope)  # one locked transaction
            assert row is not None, "a proposal that does not yield is always made"
            return row
        return self.service.propose(proposal)[0]

    def _transfer(self, customer_id: str, plan: Plan, routed: Routed) -> Plan:
        """A pending transfer between the customer's own accounts, or a reply saying why not."""
        ask, rules = transfer_ask(routed, self.rules.default_source), self.rules
        if ask.amount is None:
            return plan  # "can you move my spare cash into savings": the facts answer it
        problem = _ask_problem(ask.amount, ask.source, ask.destination, rules)
        if problem is not None:
            return _reply(plan, rules.texts[problem])
        with session_scope(self.settings.resolved_database_url) as db:
            source = ledger.account_of(db, customer_id, ask.source or "")
            target = ledger.account_of(db, customer_id, ask.destination or "")
        if source is None or target is None:
            kind = ask.source if source is None else ask.destination
            return _reply(plan, rules.texts["no_account"].format(kind=_kind(kind)))
        if source.balance < ask.amount:
            held = Fact.number(f"balance.{source.type}", f"{source.name} balance",
                               source.balance, "USD", f"account {source.id}")  # fmt: skip
            text = rules.texts["insufficient"].format(
                source=source.name, balance=held.display, amount=_usd(ask.amount)
            )
            return _reply(plan, text, held)
        text = rules.texts["transfer"].format(
            amount=_usd(ask.amount), source=source.name, destination=target.name
        )
        return self._action(plan, text, (customer_id, "transfer", ask.amount, source.id, target.id))

    def _freeze(
        self, customer_id: str, plan: Plan, routed: Routed, article: ServicingAnswer
    ) -> Plan:
        """A pending card freeze under the servicing article, or a reply saying why not."""
        credit = names_credit_card(routed, self.rules.credit_words)
        order = ["credit_card", "checking"] if credit else ["checking", "credit_card"]
        with session_scope(self.settings.resolved_database_url) as db:
            found = [ledger.account_of(db, customer_id, kind) for kind in order]
            card = next((a for a in found if a is not None), None)
            frozen = card is not None and cards.is_frozen(db, card.id)
            waiting = cards.pending_freeze(db, card.id) if card is not None else None
        if card is None:
            return _reply(plan, self.rules.texts["no_card"])
        name, texts = _card_name(card), self.rules.texts
        if frozen:
            return _reply(plan, texts["already_frozen"].format(card=name))
        text = f"{article.text} [1] " + texts["card_freeze"].format(card=name)
        cited = dataclasses.replace(article, action=None)  # the pending action replaces the offer
        freeze = self._action(
            plan, text, (customer_id, "card_freeze", None, card.id, None), waiting
        )
        return dataclasses.replace(freeze, servicing=cited)

    def _action(self, plan: Plan, text: str, proposed: Proposed, key: str | None = None) -> Plan:
        """The action plan: the deterministic text and the proposal the stream makes (under
        `key`, the action already waiting is announced again instead of a second one)."""
        key = key or FRESH
        proposal = Proposal(*proposed, key, self.settings.action_ttl_s)
        return dataclasses.replace(_reply(plan, text), kind="action", proposal=proposal)


def action_event(row: ActionRow) -> ChatEvent:
    """The stream's `action` event: what is proposed and how to confirm it."""
    shown = action_json(row)
    url = f"/v1/actions/{row.id}/confirm"
    return ChatEvent("action", {
        "id": row.id, "kind": row.kind, "amount": shown["amount"],
        "from": row.from_account, "to": row.to_account, "status": row.status,
        "expires_at": shown["expires_at"],
        "confirm": {"method": "POST", "url": url, "header": "Idempotency-Key"},
    })  # fmt: skip


async def _start_wait(row: ActionRow) -> None:
    """Start the offer's DBOS wait once (as POST /v1/credit-limit/requests does); without a
    running orchestration the action still expires at its time (checked when it is decided)."""
    from advisor.orchestration.tables import utcnow
    from advisor.orchestration.workflows import start_credit_offer

    wait_s = max((row.expires_at - utcnow()).total_seconds(), 0.0)
    try:
        await start_credit_offer(row.workflow_id or "", row.id, wait_s)
    except Exception:
        log.warning("the wait of offer %s was not started", row.id, exc_info=True)


def _ask_problem(
    amount: Decimal, source: str | None, destination: str | None, rules: ActionRules
) -> str | None:
    """Which text says why this transfer cannot be proposed, or None when it can."""
    if amount <= 0:
        return "not_positive"
    if destination is None or destination not in rules.destinations:
        return "not_own"
    if source is None or source not in rules.sources:
        return "not_source"
    return "same_account" if source == destination else None


def _freeze_article(routed: Routed, rules: ActionRules) -> ServicingAnswer | None:
    """The servicing article of a confident route whose offered action is a card freeze."""
    if routed.family != "servicing" or routed.confidence < rules.freeze_confidence:
        return None
    article = servicing_answer(routed.intent)
    if article is None or article.action is None:
        return None
    return article if article.action.id in rules.freeze_actions else None


def _reply(plan: Plan, text: str, *facts: Fact) -> Plan:
    """A fixed reply in place of the plan (its guard notes and route kept), with the facts
    its figures come from."""
    selection = Selection("action", list(facts), text, Slots()) if facts else None
    return dataclasses.replace(plan, kind="reply", text=text, selection=selection, passages=(),
                               phrase=False, topic=None, servicing=None)  # fmt: skip


def _card_name(card: Account) -> str:
    """How the customer knows the card: the credit card's name, or the checking's debit card."""
    return card.name if card.type == "credit_card" else f"{card.name} debit card"


def _kind(kind: str | None) -> str:
    """An account kind in words."""
    return (kind or "").replace("_", " ")


def _usd(amount: Decimal) -> str:
    """Dollars with cents: $1,017.37."""
    return f"${amount:,.2f}"


__all__ = ["ChatActions"]
