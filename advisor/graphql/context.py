"""What a GraphQL request may use: the token's customer and the services REST uses."""

from __future__ import annotations

import asyncio

from fastapi.concurrency import run_in_threadpool
from strawberry.fastapi import BaseContext

from advisor.context_service import ContextService
from advisor.decisions.service import Recommendation, RecommendationService
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
        self._recommended: asyncio.Task[list[Recommendation]] | None = None

    async def recommended(self) -> list[Recommendation]:
        """The customer's list, made once per request: every alias of `recommendations` shares
        it (each made list is logged as served and feeds the bandit)."""
        if self._recommended is None:
            work = run_in_threadpool(self.recommendations.recommend, self.customer_id)
            self._recommended = asyncio.ensure_future(work)
        return await self._recommended
