"""FastAPI dependencies: settings, services and the authenticated principal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from advisor.auth import Principal, verify_token
from advisor.chat.service import ChatService
from advisor.context_service import ContextService
from advisor.errors import Forbidden, Unauthorized
from advisor.llm.base import LLMBackend
from advisor.rails.service import Rails
from advisor.routing.router import Router
from advisor.settings import Settings
from retrieval.service import RetrievalService

bearer = HTTPBearer(auto_error=False, description="Token from `advisor token --customer ID`")


@dataclass
class Services:
    """Everything a request may need, built once at start-up."""

    settings: Settings
    context: ContextService
    backend: LLMBackend
    chat: ChatService
    retrieval: RetrievalService
    rails: Rails | None = None
    router: Router | None = None  # None: no router trained (/v1/route answers 503)


def get_services(request: Request) -> Services:
    """The services held by the app."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The customer the bearer token names (401 when missing, bad or expired)."""
    if credentials is None:
        raise Unauthorized("missing bearer token")
    principal = verify_token(services.settings, credentials.credentials)
    if principal.scope == "customer" and not services.context.exists(principal.customer_id):
        raise Unauthorized("token names no customer of this bank")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_admin(principal: PrincipalDep) -> Principal:
    """Only admin-scoped tokens pass."""
    if principal.scope != "admin":
        raise Forbidden("admin scope required")
    return principal
