"""The HTTP API's documented responses: one error body for every 4xx and 5xx, and SSE streams."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

DESCRIPTIONS = {
    400: "The request body could not be read (not UTF-8 text)",
    401: "Missing, bad or expired bearer token",
    403: "The token's scope does not allow this route",
    404: "Unknown session, or another customer's",
    413: "Message over ADVISOR_MAX_MESSAGE_CHARS or body over ADVISOR_MAX_BODY_BYTES",
    422: "Invalid request: `detail` says why, `errors` lists the fields FastAPI rejected",
    503: "A back-end (model, index, rails) cannot serve the request",
}

# One server-sent event as clients parse it (OpenAPI 3.1: the stream's `schema` is per event);
# `data` is JSON text (the OpenAI route ends with the literal `[DONE]`).
SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "description": "meta, fact, guard, token, done, ..."},
        "data": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
    "required": ["data"],
}
# A route that streams server-sent events documents them beside its JSON 200.
EVENT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events (or JSON where the route says so)",
        "content": {"text/event-stream": {"schema": SSE_EVENT}},
    }
}


class FieldError(BaseModel):
    """One rejected field of a request: where it is, why, and the kind of error."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every 4xx and 5xx body: a readable reason, and for a rejected body its fields."""

    detail: str = Field(description="Why the request was refused")
    errors: list[FieldError] = Field(default_factory=list, description="Rejected fields (422)")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting these error statuses with the ErrorBody model."""
    return {code: {"model": ErrorBody, "description": DESCRIPTIONS[code]} for code in codes}


def _field_error(error: Any) -> FieldError:
    """One of pydantic's errors without its input (NaN and Infinity are no JSON)."""
    loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
    return FieldError(loc=loc, msg=str(error.get("msg", "")), type=str(error.get("type", "")))


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A 422 for a body FastAPI rejected, in the ErrorBody shape, never echoing the input."""
    raw = exc.errors() if isinstance(exc, RequestValidationError) else []
    errors = [_field_error(e) for e in raw if isinstance(e, dict)]
    reasons = [f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors]
    body = ErrorBody(detail="; ".join(reasons) or "invalid request", errors=errors)
    return JSONResponse(body.model_dump(), status_code=422)
