"""FastAPI dependencies: settings, services and the authenticated principal."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from advisor.auth import NO_CUSTOMER_SUBJECTS, Principal, verify_token
from advisor.chat.service import ChatService
from advisor.context_service import ContextService
from advisor.errors import Forbidden, Unauthorized
from advisor.llm.base import LLMBackend
from advisor.rails.service import Rails
from advisor.routing.router import Router
from advisor.settings import Settings
from retrieval.service import RetrievalService

T = TypeVar("T")
_app_service_lock = threading.Lock()
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


def app_service(request: Request, name: str, build: Callable[[], T]) -> T:
    """The app's service kept under `name`, built on first use (tests use dependency_overrides)."""
    with _app_service_lock:
        found: T | None = getattr(request.app.state, name, None)
        if found is None:
            found = build()
            setattr(request.app.state, name, found)
    return found


def get_services(request: Request) -> Services:
    """The services held by the app."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings_dep(services: ServicesDep) -> Settings:
    """The app's settings."""
    return services.settings


def get_chat(services: ServicesDep) -> ChatService:
    """The chat service (tests override it with `app.dependency_overrides`)."""
    return services.chat


def get_context(services: ServicesDep) -> ContextService:
    """The customer 360 view service."""
    return services.context


def get_retrieval(services: ServicesDep) -> RetrievalService:
    """The corpus search service."""
    return services.retrieval


def get_router(services: ServicesDep) -> Router | None:
    """The intent router, or None when none is trained."""
    return services.router


def get_rails(services: ServicesDep) -> Rails | None:
    """The rails, or None when switched off."""
    return services.rails


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ChatDep = Annotated[ChatService, Depends(get_chat)]
ContextDep = Annotated[ContextService, Depends(get_context)]
RetrievalDep = Annotated[RetrievalService, Depends(get_retrieval)]
RouterDep = Annotated[Router | None, Depends(get_router)]
RailsDep = Annotated[Rails | None, Depends(get_rails)]


def get_caller(
    settings: SettingsDep,
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Whoever the bearer token names, any scope (401 when missing, bad or expired)."""
    if credentials is None:
        raise Unauthorized("missing bearer token")
    principal = verify_token(settings, credentials.credentials)
    if principal.scope == "customer" and not context.exists(principal.customer_id):
        raise Unauthorized("token names no customer of this bank")
    return principal


CallerDep = Annotated[Principal, Depends(get_caller)]


def get_principal(caller: CallerDep) -> Principal:
    """The customer (or admin) calling; a service or ops token acts for no customer (403)."""
    if caller.scope in NO_CUSTOMER_SUBJECTS:
        raise Forbidden(
            f"a {caller.scope} token acts for no customer (advisor token --customer ID)"
        )
    return caller


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_admin(principal: PrincipalDep) -> Principal:
    """Only admin-scoped tokens pass."""
    if principal.scope != "admin":
        raise Forbidden("admin scope required")
    return principal
