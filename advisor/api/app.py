"""The FastAPI application: services built once, errors translated to HTTP here only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response

from advisor import __version__
from advisor.api import (
    action_routes,
    contract_routes,
    credit_routes,
    dev_routes,
    event_routes,
    feedback_routes,
    graphql_routes,
    metrics_routes,
    notification_routes,
    openai_compat,
    recommendation_routes,
    redact_routes,
    route_routes,
    routes,
    search_routes,
    web_routes,
)
from advisor.api.deps import Services
from advisor.api.engine_gate import EngineGate
from advisor.api.limits import BodySizeLimit
from advisor.api.problems import error_responses, validation_error
from advisor.chat.service import ChatService
from advisor.context_service import ContextService
from advisor.errors import (
    AdvisorError,
    BackendUnavailable,
    Forbidden,
    InputTooLarge,
    InvalidInput,
    NotFound,
    Unauthorized,
)
from advisor.llm import create_backend
from advisor.llm.base import LLMBackend
from advisor.ops import monitor as model_monitor
from advisor.orchestration import credit_scan, nats_intake, runtime
from advisor.rails.offline import keep_offline
from advisor.rails.service import load_rails
from advisor.routing.router import load_router
from advisor.settings import Settings, get_settings
from retrieval.service import RetrievalService

STATUS = [
    (InputTooLarge, 413),
    (InvalidInput, 422),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (BackendUnavailable, 503),
]


def build_services(settings: Settings, backend: LLMBackend | None = None) -> Services:
    """Load the model and wire the services."""
    keep_offline()
    context = ContextService.from_settings(settings)
    backend = backend or create_backend(settings.llm)
    retrieval = RetrievalService.from_settings(settings)
    rails = load_rails(settings) if settings.rails.enabled else None
    router = load_router(settings)
    chat = ChatService.from_settings(settings, context, backend, retrieval, rails, router)
    backend.warm(chat.messages_for_warmup())
    return Services(settings, context, backend, chat, retrieval, rails, router)


async def advisor_error(request: Request, exc: Exception) -> Response:
    """Translate the advisor's errors to HTTP status codes with a reason."""
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return await http_exception_handler(request, HTTPException(status, str(exc), headers))


def create_app(settings: Settings | None = None, backend: LLMBackend | None = None) -> FastAPI:
    """The app; `backend` lets tests and benchmarks inject a registered back-end instance."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = build_services(settings, backend)
        app.state.orchestration = runtime.start(settings)  # DBOS: recovers pending workflows
        events = app.state.orchestration.events
        intake = await nats_intake.start_from_settings(settings, events)  # with ADVISOR_NATS_URL
        monitoring = model_monitor.schedule(settings, app.state.metrics)  # monitor_interval_s
        scanning = credit_scan.schedule(app.state.orchestration)  # credit_scan_interval_s
        yield
        await credit_scan.unschedule(scanning)
        await model_monitor.unschedule(monitoring)
        await nats_intake.stop_quietly(intake)
        await runtime.leave_waiting()  # offers' waits stay pending, no traceback per wait
        runtime.stop(app.state.orchestration)
        if backend is None:  # the app started it (the engine's process): the app stops it
            app.state.services.backend.close()

    # Every route documents its 422 as ErrorBody (validation_error), not FastAPI's list.
    app = FastAPI(
        title="Trusted Advisor", version=__version__, lifespan=lifespan,
        responses=error_responses(422),
    )  # fmt: skip
    app.add_exception_handler(AdvisorError, advisor_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.include_router(routes.router)
    app.include_router(openai_compat.router)
    app.include_router(search_routes.router)
    app.include_router(redact_routes.router)
    app.include_router(route_routes.router)
    for orchestration_router in (event_routes, action_routes, notification_routes):
        app.include_router(orchestration_router.router)
    app.include_router(recommendation_routes.router)
    app.include_router(credit_routes.router)
    app.include_router(contract_routes.router)
    metrics_routes.install(app, settings)  # /metrics and tracing (advisor/ops)
    app.include_router(graphql_routes.router(settings))  # /graphql: the caller's own view
    app.include_router(feedback_routes.router)
    if settings.dev_routes:  # the development profile only: the demo page's customers and tokens
        app.include_router(dev_routes.router)
    app.include_router(web_routes.router)  # the widget's bundle and the demo page at /
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(EngineGate)  # 503 with Retry-After beyond the engine's slots and queue
    metrics_routes.count_requests(app)  # outside the two above: their 503s and 413s count too
    if settings.cors_origins:  # host pages embedding the widget (ADVISOR_CORS_ORIGINS)
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "Idempotency-Key"],
        )  # fmt: skip
    return app
