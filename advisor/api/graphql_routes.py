"""`/graphql` (Strawberry): the same bearer token and isolation as REST, through the same
dependencies. No GraphiQL page: its assets would load from a CDN, an outbound call."""

from __future__ import annotations

from fastapi import APIRouter
from strawberry.fastapi import GraphQLRouter

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
    """POST /graphql: queries only, with a customer token (no IDE page in any profile)."""
    found = APIRouter()
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
