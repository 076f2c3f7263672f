"""Read a whole SSE chat stream into (event, data) pairs."""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_sse import connect_sse


def chat_events(
    client: httpx.Client, headers: dict[str, str], message: str, session_id: str | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """POST /v1/chat and collect every event."""
    body = {"message": message, "session_id": session_id}
    with connect_sse(client, "POST", "/v1/chat", json=body, headers=headers) as source:
        assert source.response.status_code == 200, source.response.read()
        return [(e.event, json.loads(e.data)) for e in source.iter_sse() if e.data]


def done(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The data of the `done` event."""
    return next(data for name, data in events if name == "done")


def streamed_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    """What a client shows: tokens, restarting after a retracting grounding event."""
    text = ""
    for name, data in events:
        if name == "grounding" and data.get("retract"):
            text = ""
        elif name == "token":
            text += data["text"]
    return text
