"""`POST /v1/redact` (admin scope): what the PII rails find in a text and how they redact it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from advisor.api.deps import RailsDep, SettingsDep, require_admin
from advisor.api.problems import error_responses
from advisor.auth import Principal
from advisor.chat.validation import clean_message
from advisor.errors import BackendUnavailable

router = APIRouter()
AdminDep = Annotated[Principal, Depends(require_admin)]


class RedactRequest(BaseModel):
    """A text to redact."""

    text: str = Field(description="Any text; at most the configured message size")


@router.post(
    "/v1/redact",
    summary="Redact PII from a text (admin scope)",
    responses=error_responses(400, 401, 403, 413, 503),
)
async def redact(
    body: RedactRequest, admin: AdminDep, rails: RailsDep, settings: SettingsDep
) -> dict[str, Any]:
    """`{"text", "redacted", "entities": [{"type", "start", "end", "score"}]}`."""
    if rails is None:
        raise BackendUnavailable("the rails are disabled on this server")
    text = clean_message(body.text, settings.max_message_chars)
    redaction = await run_in_threadpool(rails.redactor.redact, text)
    return redaction.to_json()
