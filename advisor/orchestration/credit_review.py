"""Proactive credit-limit reviews: a spending-pattern change starts the credit-limit decision.

A card transaction (the `card_spend_check` workflow) or the nightly scan `claim`s a review: the
rule of spending_change.yaml must fire and no block of credit_review.yaml hold. The claim is a
row keyed by the review's workflow id `credit_review:<customer>:<day>`, so a burst of
transactions, a scan re-run or both on one day start one review. The review (`review`, a step
of the `credit_review` workflow) decides as a request would, without an amount (the policy's
step up), and offers a raise with its contract, pending action and notification; a keep or a
decline is audited and traced only (no application was made, so no adverse-action notice).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import Date, DateTime, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from advisor.decisions.credit import CreditDecision
from advisor.decisions.credit_rules import Reason
from advisor.decisions.credit_service import CreditOutcome, CreditService, NoCreditCard
from advisor.errors import BackendUnavailable, NotFound
from advisor.orchestration import spending_change
from advisor.orchestration.action_rows import lock_customer
from advisor.orchestration.credit_offer import CreditOffers, OfferContext
from advisor.orchestration.review_blocks import first_block
from advisor.orchestration.tables import BankEventRow, utcnow
from advisor.predict.credit_risk import MODEL_NAME
from portfolio_context.db import engine_for, session_scope
from portfolio_context.facts import Fact
from portfolio_context.models import Account, Base

if TYPE_CHECKING:
    from advisor.orchestration.actions import ActionService
    from advisor.orchestration.notifications import NotificationService
    from advisor.settings import Settings

POLICY: dict[str, Any] = yaml.safe_load(Path(__file__).with_suffix(".yaml").read_text("utf-8"))
TRIGGER = "spending_change"


class CreditReviewRow(Base):
    """A proactive review claimed for one customer and day; its id is its workflow id."""

    __tablename__ = "credit_reviews"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), index=True)
    day: Mapped[dt.date] = mapped_column(Date)  # the day the rule was evaluated on
    trigger: Mapped[str] = mapped_column(String(160))  # "event:<id>" or "scan"
    fired: Mapped[str] = mapped_column(String(160))  # the rules that fired, comma-separated
    facts: Mapped[str] = mapped_column(Text)  # JSON: the rule's facts
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)  # UTC, naive
    trace_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)


REVIEWS = Base.metadata.tables[CreditReviewRow.__tablename__]


def review_id_of(customer_id: str, day: dt.date) -> str:
    """The review's workflow id: one per customer and day."""
    return f"credit_review:{customer_id}:{day.isoformat()}"


@dataclass(frozen=True)
class Claim:
    """What evaluating one customer gave: `started` (a new review), `joined` (the day's review
    exists), `no_card`, `no_change`, `no_model` or `blocked:<block>`; the review to start."""

    customer_id: str
    outcome: str
    review_id: str | None = None
    fired: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """As a workflow step's result and the scan's report show it."""
        return {"customer_id": self.customer_id, "outcome": self.outcome,
                "review_id": self.review_id, "fired": list(self.fired)}  # fmt: skip


class CreditReviews:
    """Claims reviews from the rule and the blocks, and decides and offers a claimed one."""

    def __init__(self, database_url: str, credit: CreditService, offers: CreditOffers) -> None:
        self.url, self.credit, self.offers = database_url, credit, offers
        self.rule = spending_change.load_rule()
        Base.metadata.create_all(engine_for(database_url), tables=[REVIEWS])

    @classmethod
    def from_settings(
        cls, settings: Settings, actions: ActionService, notifications: NotificationService
    ) -> CreditReviews:
        """Reviews on the settings' bank with the orchestration's actions and notifications."""
        offers = CreditOffers.from_settings(settings, actions, notifications)
        return cls(settings.resolved_database_url, CreditService.from_settings(settings), offers)

    def claim(self, customer_id: str, day: dt.date, trigger: str) -> Claim:
        """Evaluate the rule and the blocks for one customer on `day`; claim the review once
        (the check and the claim in one transaction under the customer's lock, so two claims
        at once, for one day or two, start one review)."""
        review_id = review_id_of(customer_id, day)
        with session_scope(self.url) as db:
            lock_customer(db, customer_id)
            if db.get(CreditReviewRow, review_id) is not None:
                return Claim(customer_id, "joined", review_id)
            card = spending_change.load_card(db, customer_id, day, self.rule)
            change = spending_change.evaluate(customer_id, card, day, self.rule)
            if not change.fires:
                return Claim(customer_id, "no_card" if card is None else "no_change")
            block = first_block(db, customer_id, POLICY["blocks"], REVIEWS)
            if block is not None:
                return Claim(customer_id, f"blocked:{block}", None, change.fired)
            if self.credit.registry.promoted(MODEL_NAME) is None:
                return Claim(customer_id, "no_model", None, change.fired)
            db.add(_row_of(review_id, change, trigger))
        return Claim(customer_id, "started", review_id, change.fired)

    def _block_now(self, row: CreditReviewRow) -> str | None:
        """The block that holds now (the review's own claim not counted), under the lock."""
        others = select(REVIEWS).where(REVIEWS.c.id != row.id).subquery()
        with session_scope(self.url) as db:
            lock_customer(db, row.customer_id)
            return first_block(db, row.customer_id, POLICY["blocks"], others)

    def _skip(self, row: CreditReviewRow, block: str) -> dict[str, Any]:
        """End the review without an offer because `block` holds now; audited."""
        if self.offers.audit is not None:
            payload = {"customer_id": row.customer_id, "review_id": row.id, "trigger": TRIGGER,
                       "decision": "skipped", "skipped": block}  # fmt: skip
            self.offers.audit.append("decision", f"review/{row.id}", payload,
                                     key=f"review_skipped:{row.id}")  # fmt: skip
        return self._finish(row.id, "skipped", {"decision": f"skipped: {block}",
                                                "action_id": None})  # fmt: skip

    def claim_for_event(self, event_id: str) -> dict[str, Any]:
        """The claim a card transaction makes on its day (a refund or a credit makes none)."""
        with session_scope(self.url) as db:
            event = db.get(BankEventRow, event_id)
        if event is None:  # the bank was reseeded under a recovered workflow
            return Claim("", "gone").to_json()
        if event.amount >= 0:
            return Claim(event.customer_id, "not_spend").to_json()
        day = event.occurred_at.date()
        return self.claim(event.customer_id, day, f"event:{event_id}").to_json()

    def scan(self, day: dt.date) -> list[Claim]:
        """Claim a review for every card holder whose spending changed as of `day`."""
        query = select(Account.customer_id).where(Account.type == "credit_card").distinct()
        with session_scope(self.url) as db:
            customers = sorted(db.scalars(query))
        return [self.claim(customer_id, day, "scan") for customer_id in customers]

    def review(self, review_id: str) -> dict[str, Any]:
        """Decide the claimed review and offer a raise (idempotent: a rerun reuses the first
        decision's trace); what the workflow waits on, if anything."""
        with session_scope(self.url) as db:
            row = db.get(CreditReviewRow, review_id)
        if row is None:  # reseeded away
            return {"decision": "gone", "action_id": None}
        if row.decision == "skipped":  # a rerun of a skipped review stays skipped
            return {"decision": "skipped", "action_id": None}
        if row.trace_id is None:  # not decided yet: the customer may have changed since the claim
            block = self._block_now(row)
            if block is not None:
                return self._skip(row, block)
        try:
            outcome = self._decision(row)
        except (NotFound, BackendUnavailable) as exc:  # card closed, model withdrawn since
            why = "no_card" if isinstance(exc, NoCreditCard) else (
                "no_model" if isinstance(exc, BackendUnavailable) else "gone")  # fmt: skip
            return self._finish(review_id, why, {"decision": why, "action_id": None})
        offer = self.offers.offer(row.customer_id, outcome, self._context(row))
        if offer.yielded:  # an offer waits since the check
            return self._skip(row, "pending_offer")
        waits = offer.waits and offer.action is not None
        made = {"decision": outcome.decision.decision, "trace_id": outcome.trace_id,
                "action_id": offer.action.id if waits and offer.action else None,
                "workflow_id": offer.workflow_id, "wait_s": offer.wait_s}  # fmt: skip
        return self._finish(review_id, outcome.decision.decision, made)

    def _decision(self, row: CreditReviewRow) -> CreditOutcome:
        """The review's decision: made once, its trace id kept on the row."""
        if row.trace_id is not None:
            trace = self.credit.traces.get(row.trace_id, row.customer_id)
            if trace is not None:
                return CreditOutcome(decision_of_trace(trace), row.trace_id)
        outcome = self.credit.request(row.customer_id, None, trigger=TRIGGER)
        with session_scope(self.url) as db:
            db.execute(update(CreditReviewRow).where(CreditReviewRow.id == row.id)
                       .values(trace_id=outcome.trace_id))  # fmt: skip
        return outcome

    def _finish(self, review_id: str, decision: str, made: dict[str, Any]) -> dict[str, Any]:
        """Record how the review ended; the step's result."""
        with session_scope(self.url) as db:
            db.execute(update(CreditReviewRow).where(CreditReviewRow.id == review_id)
                       .values(decision=decision))  # fmt: skip
        return made

    def _context(self, row: CreditReviewRow) -> OfferContext:
        """The offer's context: the rule's facts and the sentence that says why."""
        facts = tuple(fact_of_json(f) for f in json.loads(row.facts))
        fired = row.fired.split(",")
        lead = " ".join(str(POLICY["lead"][fired[0]]).split())
        for fact in facts:
            lead = lead.replace("{" + fact.id + "}", fact.display)
        audit = {"review_id": row.id, "rules": fired, "review_trigger": row.trigger}
        return OfferContext(TRIGGER, lead, facts, audit)


def _row_of(
    review_id: str, change: spending_change.SpendingChange, trigger: str
) -> CreditReviewRow:
    """The claim's row: the rule's day, what fired and its facts."""
    return CreditReviewRow(
        id=review_id, customer_id=change.customer_id, day=change.day, trigger=trigger[:160],
        fired=",".join(change.fired), facts=json.dumps([f.to_json() for f in change.facts]),
        started_at=utcnow(),
    )  # fmt: skip


def fact_of_json(raw: dict[str, Any]) -> Fact:
    """A stored rule fact back as a Fact (numbers as decimals)."""
    value = raw["value"]
    number = Decimal(str(value)) if isinstance(value, int | float) else value
    return Fact(raw["id"], raw["label"], number, raw["unit"], raw["derivation"])


def decision_of_trace(trace: dict[str, Any]) -> CreditDecision:
    """The decision a stored credit trace holds (as `CreditDecision.to_json` wrote it)."""
    made = trace["decision"]
    rules = [r for group in trace.get("rules_fired", []) for r in group.get("rules", [])]

    def money(key: str) -> Decimal | None:
        return None if made.get(key) is None else Decimal(str(made[key]))

    reasons = tuple(Reason(r["code"], r["text"], r["source"], r.get("contribution"))
                    for r in made["reasons"])  # fmt: skip
    return CreditDecision(
        made["decision"], Decimal(str(made["current_limit"])), money("new_limit"), money("apr"),
        reasons, tuple(rules), str(made["band"]), Decimal(str(made["target_limit"])),
    )  # fmt: skip
