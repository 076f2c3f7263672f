"""`POST /v1/feedback` (thumbs on an answer, kept with the turn) and `GET /v1/limits`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from advisor.api.deps import SettingsDep, app_service
from advisor.api.orchestration_deps import CustomerDep
from advisor.api.problems import error_responses
from advisor.feedback import MAX_COMMENT_CHARS, FeedbackStore, Rating

router = APIRouter()


def get_feedback(request: Request, settings: SettingsDep) -> FeedbackStore:
    """The feedback store, built on first use and kept by the app."""
    return app_service(request, "feedback", lambda: FeedbackStore.from_settings(settings))


FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]


class FeedbackIn(BaseModel):
    """A rating of one answer: `turn_id` from the chat's `done` event."""

    turn_id: int = Field(ge=1, le=2**63 - 1, description="The `done` event's turn_id")
    rating: Rating = Field(description="up (helpful) or down (not helpful)")
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS)


class FeedbackOut(BaseModel):
    """The rating as stored (a second rating of the same turn replaced the first)."""

    turn_id: int
    rating: Rating
    comment: str | None
    created_at: str


class LimitsOut(BaseModel):
    """What the server accepts, so a client can stop over-long input before sending it."""

    max_message_chars: int = Field(description="Longest chat message (ADVISOR_MAX_MESSAGE_CHARS)")
    max_feedback_comment_chars: int = Field(description="Longest feedback comment")


@router.post(
    "/v1/feedback",
    summary="Rate an answer (thumbs up or down, optional comment)",
    responses=error_responses(400, 401, 403, 404),
)
async def post_feedback(
    body: FeedbackIn, principal: CustomerDep, feedback: FeedbackDep
) -> FeedbackOut:
    """Stored with the turn, once per turn and customer; 404 for another customer's turn."""
    saved = await run_in_threadpool(
        feedback.record, principal.customer_id, body.turn_id, body.rating, body.comment
    )
    return FeedbackOut(
        turn_id=saved.turn_id,
        rating=body.rating,
        comment=saved.comment,
        created_at=saved.created_at.isoformat(),
    )


@router.get("/v1/limits", summary="Input limits a client should enforce (no token needed)")
async def limits(settings: SettingsDep) -> LimitsOut:
    """The longest message and feedback comment the server accepts."""
    return LimitsOut(
        max_message_chars=settings.max_message_chars,
        max_feedback_comment_chars=MAX_COMMENT_CHARS,
    )
