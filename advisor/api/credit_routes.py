"""`POST /v1/credit-limit/requests`: a customer asks for a higher card limit."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from advisor.api.deps import SettingsDep
from advisor.api.orchestration_deps import CustomerDep
from advisor.api.problems import error_responses
from advisor.decisions.credit_service import CreditOutcome, CreditService

router = APIRouter()
_build_lock = threading.Lock()


def get_credit(request: Request, settings: SettingsDep) -> CreditService:
    """The credit service, built once per app (tests override it with dependency_overrides)."""
    with _build_lock:
        service: CreditService | None = getattr(request.app.state, "credit", None)
        if service is None:
            service = CreditService.from_settings(settings)
            request.app.state.credit = service
    return service


CreditDep = Annotated[CreditService, Depends(get_credit)]


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
    """The decision; money as decimal strings. Room for a contract and an action later."""

    decision: str = Field(description="raise | keep | decline")
    current_limit: str
    new_limit: str | None = None
    apr: str | None = Field(default=None, description="percent, e.g. 22.99")
    reasons: list[CreditReason] = Field(description="Empty for a raise that meets the request")
    trace_id: str = Field(description="GET /v1/traces/{trace_id} for how it was decided")
    contract_url: str | None = None
    action: dict[str, object] | None = None


def response_of(outcome: CreditOutcome) -> CreditLimitDecision:
    """The HTTP body of a decision."""
    made = outcome.decision
    return CreditLimitDecision(
        decision=made.decision,
        current_limit=f"{made.current_limit:.2f}",
        new_limit=None if made.new_limit is None else f"{made.new_limit:.2f}",
        apr=None if made.apr is None else f"{made.apr:.2f}",
        reasons=[CreditReason(code=r.code, text=r.text) for r in made.reasons],
        trace_id=outcome.trace_id,
    )


@router.post(
    "/v1/credit-limit/requests",
    summary="Decide a request for a higher credit-card limit",
    responses=error_responses(400, 401, 403, 404, 503),
)
async def request_credit_limit(
    principal: CustomerDep, credit: CreditDep, body: CreditLimitRequest | None = None
) -> CreditLimitDecision:
    """Raise, keep or decline, with up to four Regulation B principal reasons for anything
    less than asked. A customer token only (403 otherwise); 404 when the customer holds no
    credit card; 422 for a limit that is not
    positive, above the policy maximum or not above the current limit; 503 when no credit-risk
    model is trained."""
    requested = body.requested_limit if body else None
    outcome = await run_in_threadpool(credit.request, principal.customer_id, requested)
    return response_of(outcome)
