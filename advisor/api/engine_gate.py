"""A bound on the chat turns in flight: beyond the engine's slots and queue, 503 Retry-After.

A storm of turns must never hang: the engine's back-end says how many turns it takes at once
(`capacity`: its slots plus its queue limit); the next turn is refused at once, before its
stream starts, with the seconds after which to try again.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

MODEL_ROUTES = ("/v1/chat", "/v1/chat/completions")


class EngineGate:
    """ASGI middleware counting the model routes' requests until their responses end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admit, or answer 503 when the back-end's capacity is taken."""
        gated = scope["type"] == "http" and scope["path"] in MODEL_ROUTES
        backend = _backend(scope) if gated else None
        capacity = getattr(backend, "capacity", None)
        if capacity is None:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= capacity:
            await _busy(send, capacity, int(getattr(backend, "retry_after_s", 2)))
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def _backend(scope: Scope) -> object | None:
    """The app's language-model back-end, once the services are built."""
    services = getattr(scope["app"].state, "services", None)
    return getattr(services, "backend", None)


async def _busy(send: Send, capacity: int, retry_after_s: int) -> None:
    """A 503 in the API's error body, with Retry-After."""
    body = json.dumps(
        {
            "detail": f"the model engine is busy: {capacity} turns in flight "
            f"(slots and queue); retry after {retry_after_s} s",
            "errors": [],
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after_s).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
