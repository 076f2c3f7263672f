"""A bound on the chat turns in flight: beyond the engine's slots and queue, 503 Retry-After.

A storm of turns must never hang: the engine's back-end says how many turns it takes at once
(`capacity`: its slots plus its queue limit); the next turn is refused at once, before its
stream starts, with the seconds after which to try again. Only turns with a valid customer
token count, at most `engine_per_customer` each: a client without a token (its request gets
its 401 from the route) or one customer holding requests open cannot take every slot.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from advisor.auth import verify_token
from advisor.errors import Unauthorized

MODEL_ROUTES = ("/v1/chat", "/v1/chat/completions")


class EngineGate:
    """ASGI middleware counting the model routes' requests until their responses end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.in_flight = 0
        self.per_customer: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admit, or answer 503 when the back-end's (or the customer's) share is taken."""
        gated = scope["type"] == "http" and scope["path"] in MODEL_ROUTES
        services: Any = getattr(scope["app"].state, "services", None) if gated else None
        capacity: int | None = getattr(getattr(services, "backend", None), "capacity", None)
        customer = _customer(services, scope) if capacity is not None else None
        if capacity is None or customer is None:  # not gated, or no valid token: the route 401s
            await self.app(scope, receive, send)
            return
        retry_after = int(getattr(services.backend, "retry_after_s", 2))
        share = services.settings.llm.engine_per_customer
        if self.in_flight >= capacity or self.per_customer[customer] >= share:
            await _busy(send, capacity, retry_after)
            return
        self.in_flight += 1
        self.per_customer[customer] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.in_flight -= 1
                self.per_customer[customer] -= 1
                if not self.per_customer[customer]:
                    del self.per_customer[customer]

        async def sending(message: Message) -> None:
            """Release the turn's share once its last byte is handed over: the client may send
            its next turn before the app's own teardown (stream tasks, spans) has returned."""
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()

        try:
            await self.app(scope, receive, sending)
        finally:
            release()


def _customer(services: Any, scope: Scope) -> str | None:
    """The customer a valid bearer token names, else None (checked again by the route)."""
    header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return verify_token(services.settings, token.strip()).customer_id
    except Unauthorized:
        return None


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
