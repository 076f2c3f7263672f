"""`/graphql` (Strawberry): the same bearer token and isolation as REST, through the same
dependencies; GraphiQL only in the development profile."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from strawberry.fastapi import GraphQLRouter
from strawberry.http.ides import get_graphql_ide_html

from advisor.api.deps import ContextDep
from advisor.api.orchestration_deps import ActionsDep, CustomerDep, NotificationsDep
from advisor.api.recommendation_routes import RecommendationsDep
from advisor.graphql.context import CustomerContext
from advisor.graphql.schema import build_schema
from advisor.settings import Settings


async def customer_context(
    principal: CustomerDep,
    context: ContextDep,
    recommendations: RecommendationsDep,
    notifications: NotificationsDep,
    actions: ActionsDep,
) -> CustomerContext:
    """The token's customer (401 without a valid token, 403 for a service, ops or admin one)."""
    return CustomerContext(principal.customer_id, context, recommendations, notifications, actions)


def router(settings: Settings) -> APIRouter:
    """POST /graphql (queries only, a customer token); in the development profile only, GET
    /graphql serves GraphiQL (its page needs no token; the queries it sends do)."""
    found = APIRouter()
    if settings.profile == "development":
        page = get_graphql_ide_html(graphql_ide="graphiql")
        found.add_api_route(
            "/graphql", lambda: HTMLResponse(page), methods=["GET"], include_in_schema=False
        )
    graph: GraphQLRouter[CustomerContext, None] = GraphQLRouter(
        build_schema(settings),
        path="/graphql",
        context_getter=customer_context,
        graphql_ide=None,
        allow_queries_via_get=False,
        subscription_protocols=(),
        include_in_schema=False,
    )
    found.include_router(graph)
    return found
