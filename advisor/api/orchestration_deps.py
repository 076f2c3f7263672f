"""Dependencies and response bodies of the events, actions and notifications routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from advisor.api.deps import CallerDep, PrincipalDep
from advisor.auth import Principal
from advisor.errors import BackendUnavailable, Forbidden
from advisor.orchestration.actions import ActionService
from advisor.orchestration.events import EventService
from advisor.orchestration.notifications import NotificationService
from advisor.orchestration.runtime import Orchestration


def get_orchestration(request: Request) -> Orchestration:
    """The orchestration the app's lifespan started."""
    services: Orchestration | None = getattr(request.app.state, "orchestration", None)
    if services is None:
        raise BackendUnavailable("orchestration is not running")
    return services


OrchestrationDep = Annotated[Orchestration, Depends(get_orchestration)]


def get_events(services: OrchestrationDep) -> EventService:
    """The event intake."""
    return services.events


def get_actions(services: OrchestrationDep) -> ActionService:
    """The confirmed actions."""
    return services.actions


def get_notifications(services: OrchestrationDep) -> NotificationService:
    """The customers' notifications."""
    return services.notifications


def require_service(principal: CallerDep) -> Principal:
    """Only service tokens (`advisor token --scope service`) post events."""
    if principal.scope != "service":
        raise Forbidden("service scope required (advisor token --scope service)")
    return principal


def require_customer(principal: PrincipalDep) -> Principal:
    """Only customer tokens read notifications and decide actions: their own."""
    if principal.scope != "customer":
        raise Forbidden("customer scope required")
    return principal


EventsDep = Annotated[EventService, Depends(get_events)]
ActionsDep = Annotated[ActionService, Depends(get_actions)]
NotificationsDep = Annotated[NotificationService, Depends(get_notifications)]
ServiceDep = Annotated[Principal, Depends(require_service)]
CustomerDep = Annotated[Principal, Depends(require_customer)]


class ReceiptBody(BaseModel):
    """What POST /v1/events answers (202 the first time, 200 with the same body on a replay)."""

    id: str
    status: str = Field(description="accepted (a workflow runs) or recorded (no workflow)")
    workflow_id: str | None


class ActionBody(BaseModel):
    """A proposed action and where it stands."""

    id: str
    kind: str
    amount: str | None = Field(description="Decimal money, e.g. 350.00")
    from_account: str | None
    to_account: str | None
    status: str = Field(description="pending, executed, declined, expired or rejected")
    expires_at: str
    created_at: str
    decided_at: str | None
    reason: str | None = Field(description="Why it was rejected or expired")
    event_id: str | None


class ActionSummary(BaseModel):
    """The action a notification proposes."""

    id: str
    kind: str
    amount: str | None
    from_account: str | None
    to_account: str | None
    status: str
    expires_at: str


class NotificationBody(BaseModel):
    """One notification; its facts are the figures its text states."""

    id: int
    kind: str
    title: str
    body: str
    created_at: str
    read: bool
    event_id: str | None
    facts: list[dict[str, Any]]
    action: ActionSummary | None
    trace_id: str | None = None  # the decision behind it (GET /v1/traces/{id}), if any
