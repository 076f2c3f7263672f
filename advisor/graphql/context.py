"""What a GraphQL request may use: the token's customer and the services REST uses."""

from __future__ import annotations

from strawberry.fastapi import BaseContext

from advisor.context_service import ContextService
from advisor.decisions.service import RecommendationService
from advisor.orchestration.actions import ActionService
from advisor.orchestration.notifications import NotificationService


class CustomerContext(BaseContext):
    """The calling customer (from the bearer token) and the services, per request."""

    def __init__(
        self,
        customer_id: str,
        context: ContextService,
        recommendations: RecommendationService,
        notifications: NotificationService,
        actions: ActionService,
    ) -> None:
        super().__init__()
        self.customer_id, self.context = customer_id, context
        self.recommendations, self.notifications, self.actions = (
            recommendations, notifications, actions,
        )  # fmt: skip
