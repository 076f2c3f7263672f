"""`GET /metrics` (Prometheus text format) for an ops token; the app's metrics are wired here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from advisor.api.deps import CallerDep
from advisor.auth import Principal
from advisor.errors import Forbidden
from advisor.ops import tracing
from advisor.ops.metrics import CONTENT_TYPE, OpsMetrics, RequestMetrics
from advisor.ops.states import WorkflowStates
from advisor.settings import Settings

router = APIRouter()


def require_ops(principal: CallerDep) -> Principal:
    """Only ops tokens (`advisor token --scope ops`) read the metrics; customers get 403."""
    if principal.scope != "ops":
        raise Forbidden("ops scope required (advisor token --scope ops)")
    return principal


def get_metrics(request: Request) -> OpsMetrics:
    """The app's metrics (install() made them)."""
    metrics: OpsMetrics = request.app.state.metrics
    return metrics


OpsDep = Annotated[Principal, Depends(require_ops)]
MetricsDep = Annotated[OpsMetrics, Depends(get_metrics)]


# Not in the OpenAPI spec: an operations endpoint for Prometheus, not part of the customer API.
@router.get("/metrics", include_in_schema=False)
async def metrics(principal: OpsDep, found: MetricsDep) -> Response:
    """Every metric in the Prometheus text exposition format."""
    body = await run_in_threadpool(found.render)  # reads the workflow tables
    return Response(body, media_type=CONTENT_TYPE)


def install(app: FastAPI, settings: Settings) -> OpsMetrics:
    """Give the app its own metrics registry and /metrics; turn on tracing when
    OTEL_EXPORTER_OTLP_ENDPOINT is set. count_requests() adds the request middleware."""
    tracing.configure_from_env()
    found = OpsMetrics()
    found.add_collector(WorkflowStates(settings.resolved_database_url))
    app.state.metrics = found
    app.include_router(router)
    return found


def count_requests(app: FastAPI) -> None:
    """Count every request into the app's metrics: added after (so outside) the middleware
    that answers on its own (engine gate 503, body limit 413), which it would miss inside."""
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
