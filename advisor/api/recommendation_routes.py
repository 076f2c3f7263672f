"""`GET /v1/customers/me/recommendations` and `GET /v1/traces/{trace_id}` (own traces only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from advisor.api.deps import PrincipalDep, ServicesDep, app_service
from advisor.api.problems import error_responses
from advisor.decisions.explain import explain
from advisor.decisions.service import RecommendationService
from advisor.decisions.traces import TraceStore
from advisor.errors import NotFound

router = APIRouter()


def get_recommendations(request: Request, services: ServicesDep) -> RecommendationService:
    """The recommendation service, built on first use and kept by the app."""
    build = lambda: RecommendationService.from_settings(  # noqa: E731
        services.settings, services.context
    )
    return app_service(request, "recommendations", build)


def get_traces(request: Request, services: ServicesDep) -> TraceStore:
    """The decision-trace store, built on first use and kept by the app."""
    return app_service(request, "traces", lambda: TraceStore.from_settings(services.settings))


RecommendationsDep = Annotated[RecommendationService, Depends(get_recommendations)]
TracesDep = Annotated[TraceStore, Depends(get_traces)]


class ReasonOut(BaseModel):
    """Why a recommendation was made."""

    code: str = Field(description="Stable reason code; MODEL_<FEATURE> for a model's feature")
    text: str = Field(description="The reason in the customer's words, with their own figures")
    contribution: float = Field(
        description="Score points this reason adds (the action's reasons add up to its score); "
        "for MODEL_ reasons the feature's log-odds contribution (LightGBM pred_contrib)"
    )


class RecommendationOut(BaseModel):
    """One recommended action or product."""

    id: str
    action: str = Field(description="What we suggest, in words")
    product: str = Field(description="The product or plan code")
    score: float = Field(description="propensity x eligibility x value")
    reasons: list[ReasonOut]
    trace_id: str = Field(description="GET /v1/traces/{trace_id} for how it was decided")


@router.get(
    "/v1/customers/me/recommendations",
    summary="The caller's next best actions, ranked, with reasons and a trace each",
    response_model=list[RecommendationOut],
    responses=error_responses(401, 503),
)
async def my_recommendations(
    principal: PrincipalDep, service: RecommendationsDep
) -> list[dict[str, Any]]:
    """At most the policy's list size; each one is logged as served (contact caps)."""
    found = await run_in_threadpool(service.recommend, principal.customer_id)
    return [r.to_json() for r in found]


@router.get(
    "/v1/traces/{trace_id}",
    summary="One of the caller's decision traces, with a 'why am I seeing this?' text",
    responses=error_responses(401, 404),
)
async def my_trace(
    principal: PrincipalDep,
    traces: TracesDep,
    trace_id: Annotated[str, Path(max_length=64)],
) -> dict[str, Any]:
    """The trace (inputs, model versions, scores, contributions, rules fired, defaults used)
    and `why`; 404 alike for an unknown id and for another customer's."""
    found = await run_in_threadpool(traces.get, trace_id, principal.customer_id)
    if found is None:
        raise NotFound("unknown trace_id")
    return {**found, "why": explain(found)}
