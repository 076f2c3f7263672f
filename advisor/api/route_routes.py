"""`POST /v1/route`: the intent router on one message (a bearer token, like /v1/chat)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from advisor.api.deps import PrincipalDep, RouterDep, SettingsDep
from advisor.api.problems import error_responses
from advisor.chat.validation import clean_message
from advisor.errors import BackendUnavailable

router = APIRouter()


class RouteRequest(BaseModel):
    """A message to route."""

    text: str = Field(description="A customer message; at most the configured message size")


class RoutedEntity(BaseModel):
    """A slot found in the message: its type, text, character span and normalised value."""

    type: str = Field(description="amount, date, month, account, category, merchant or product")
    text: str
    start: int
    end: int
    value: str = Field(description='e.g. "1250.50", "2026-11-28", "10", "checking", a product id')


class RouteResponse(BaseModel):
    """Where the message goes."""

    text: str
    intent: str = Field(description="an intent id of advisor/routing/taxonomy.yaml")
    family: str
    confidence: float = Field(description="calibrated probability of the intent")
    entities: list[RoutedEntity]


@router.post(
    "/v1/route",
    summary="The intent, family, confidence and entities of a message",
    responses=error_responses(400, 401, 413, 503),
)
async def route(
    body: RouteRequest, principal: PrincipalDep, router: RouterDep, settings: SettingsDep
) -> RouteResponse:
    """`{"text", "intent", "family", "confidence", "entities": [...]}`; 503 when no router is
    trained on this server."""
    if router is None:
        raise BackendUnavailable(
            "the intent router is not trained on this server: run `advisor train router`"
        )
    text = clean_message(body.text, settings.max_message_chars)
    routed = await run_in_threadpool(router.route, text)
    return RouteResponse.model_validate(routed.to_json())
