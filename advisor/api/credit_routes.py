"""`POST /v1/credit-limit/requests`: a customer asks for a higher card limit."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from advisor.api.deps import SettingsDep, app_service
from advisor.api.orchestration_deps import ActionSummary, CustomerDep, OrchestrationDep
from advisor.api.problems import error_responses
from advisor.decisions.credit_service import CreditOutcome, CreditService
from advisor.orchestration.actions import action_json
from advisor.orchestration.credit_offer import CreditOffers, Offer
from advisor.orchestration.notifications import ACTION_FIELDS
from advisor.orchestration.workflows import start_credit_offer

router = APIRouter()


def get_credit(request: Request, settings: SettingsDep) -> CreditService:
    """The credit service, built once per app (tests override it with dependency_overrides)."""
    return app_service(request, "credit", lambda: CreditService.from_settings(settings))


CreditDep = Annotated[CreditService, Depends(get_credit)]


def get_offers(
    request: Request, settings: SettingsDep, services: OrchestrationDep
) -> CreditOffers:
    """The offer service on the running orchestration, built once per app."""
    build = lambda: CreditOffers.from_settings(  # noqa: E731
        settings, services.actions, services.notifications
    )
    return app_service(request, "credit_offers", build)


OffersDep = Annotated[CreditOffers, Depends(get_offers)]


class CreditLimitRequest(BaseModel):
    """The limit asked for; omit it for the policy's standard step up."""

    requested_limit: Decimal | None = Field(
        default=None, gt=0, max_digits=12, decimal_places=2,
        description='The new limit asked for, e.g. "8000.00"; at most the policy maximum',
    )  # fmt: skip


class CreditReason(BaseModel):
    """A principal reason in Regulation B's wording (12 CFR 1002, Appendix C, Form C-1)."""

    code: str
    text: str


class CreditLimitDecision(BaseModel):
    """The decision; money as decimal strings. A raise comes with its contract and the
    pending `credit_limit_change` action (amount = the new limit, to_account = the card)."""

    decision: str = Field(description="raise | keep | decline")
    current_limit: str
    new_limit: str | None = None
    apr: str | None = Field(default=None, description="percent, e.g. 22.99")
    reasons: list[CreditReason] = Field(description="Empty for a raise that meets the request")
    trace_id: str = Field(description="GET /v1/traces/{trace_id} for how it was decided")
    contract_url: str | None = Field(default=None, description="GET it for the contract's PDF")
    action: ActionSummary | None = Field(
        default=None, description="Confirm with POST /v1/actions/{id}/confirm"
    )


def response_of(outcome: CreditOutcome, offer: Offer | None = None) -> CreditLimitDecision:
    """The HTTP body of a decision."""
    made = outcome.decision
    return CreditLimitDecision(
        decision=made.decision,
        current_limit=f"{made.current_limit:.2f}",
        new_limit=None if made.new_limit is None else f"{made.new_limit:.2f}",
        apr=None if made.apr is None else f"{made.apr:.2f}",
        reasons=[CreditReason(code=r.code, text=r.text) for r in made.reasons],
        trace_id=outcome.trace_id,
        contract_url=offer.contract.url if offer and offer.contract else None,
        action=_summary(offer),
    )


def _summary(offer: Offer | None) -> ActionSummary | None:
    """The offer's action in the notifications' action shape."""
    if offer is None or offer.action is None:
        return None
    shown = action_json(offer.action)
    return ActionSummary(**{k: shown[k] for k in ACTION_FIELDS})


@router.post(
    "/v1/credit-limit/requests",
    summary="Decide a request for a higher credit-card limit",
    responses=error_responses(400, 401, 403, 404, 503),
)
async def request_credit_limit(
    principal: CustomerDep, credit: CreditDep, offers: OffersDep,
    body: CreditLimitRequest | None = None,
) -> CreditLimitDecision:  # fmt: skip
    """Raise, keep or decline, with up to four Regulation B principal reasons for anything
    less than asked. A customer token only (403 otherwise); 404 when the customer holds no
    credit card; 422 for a limit that is not
    positive, above the policy maximum or not above the current limit; 503 when no credit-risk
    model is trained. A raise gets a contract (`contract_url`), a pending action and a
    notification; confirming the action changes the card's limit once."""
    requested = body.requested_limit if body else None
    outcome = await run_in_threadpool(credit.request, principal.customer_id, requested)
    offer = await run_in_threadpool(offers.offer, principal.customer_id, outcome)
    if offer.waits and offer.action is not None and offer.workflow_id is not None:
        await start_credit_offer(offer.workflow_id, offer.action.id, offer.wait_s)
    return response_of(outcome, offer)
