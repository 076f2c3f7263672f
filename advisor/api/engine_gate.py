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
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from advisor.auth import verify_token
from advisor.errors import Unauthorized

MODEL_ROUTES = ("/v1/chat", "/v1/chat/completions")


class EngineGate:
    """ASGI middleware counting the model routes' requests until their responses end.

    A share is freed at its response's last byte, so the gate may briefly admit more than
    `capacity` by the turns still tearing down; generation stays bounded by the engine's slots.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.in_flight = 0
        self.per_customer: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admit, or answer 503 when the back-end's (or the customer's) share is taken."""
        admission = _admission(scope)
        if admission is None:  # not gated, or no valid token: the route 401s
            await self.app(scope, receive, send)
            return
        services, capacity, customer = admission
        retry_after = int(getattr(services.backend, "retry_after_s", 2))
        if not self._take(customer, capacity, services.settings.llm.engine_per_customer):
            await _busy(send, capacity, retry_after)
            return
        release = self._releaser(customer)
        try:
            await self.app(scope, receive, _released_at_last_byte(send, release))
        finally:
            release()

    def _take(self, customer: str, capacity: int, share: int) -> bool:
        """Count the turn in, unless the back-end's or the customer's share is taken."""
        if self.in_flight >= capacity or self.per_customer[customer] >= share:
            return False
        self.in_flight += 1
        self.per_customer[customer] += 1
        return True

    def _releaser(self, customer: str) -> Callable[[], None]:
        """Give the customer's turn back, once however often it is called."""
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.in_flight -= 1
                self.per_customer[customer] -= 1
                if not self.per_customer[customer]:
                    del self.per_customer[customer]

        return release


def _admission(scope: Scope) -> tuple[Any, int, str] | None:
    """The services, the back-end's capacity and the token's customer of a gated request; None
    for a request the gate lets through (not a model route, no capacity, no valid token)."""
    gated = scope["type"] == "http" and scope["path"] in MODEL_ROUTES
    services: Any = getattr(scope["app"].state, "services", None) if gated else None
    capacity: int | None = getattr(getattr(services, "backend", None), "capacity", None)
    customer = _customer(services, scope) if capacity is not None else None
    if capacity is None or customer is None:
        return None
    return services, capacity, customer


def _released_at_last_byte(send: Send, release: Callable[[], None]) -> Send:
    """`send`, releasing the turn's share once its last byte is handed over: the client may send
    its next turn before the app's own teardown (stream tasks, spans) has returned."""

    async def sending(message: Message) -> None:
        await send(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            release()

    return sending


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
