"""The GraphQL types: the token's customer (`me`) and what belongs to them.

Every resolver reads the customer from the request's context (the bearer token), never from
the query: no field takes a customer id, so no query (aliases, fragments) reaches another's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from fastapi.concurrency import run_in_threadpool
from strawberry.types import Info

from advisor.graphql.context import CustomerContext
from advisor.orchestration.actions import action_json

Ctx = Info[CustomerContext, None]


@strawberry.type(description="One of the customer's accounts")
class Account:
    id: strawberry.ID
    type: str
    name: str
    balance: Decimal
    credit_limit: Decimal | None


@strawberry.type(description="Why a recommendation was made")
class Reason:
    code: str
    text: str
    contribution: float


@strawberry.type(description="A next-best action, ranked (as GET /v1/customers/me/recommendations)")
class Recommendation:
    id: strawberry.ID
    action: str
    product: str
    score: float = strawberry.field(description="propensity x eligibility x value")
    reasons: list[Reason]
    trace_id: str


@strawberry.type(description="A proposed action and where it stands")
class Action:
    id: strawberry.ID
    kind: str
    status: str = strawberry.field(description="pending, executed, declined, expired, rejected")
    amount: Decimal | None
    from_account: str | None
    to_account: str | None
    expires_at: str
    reason: str | None


@strawberry.type(description="A notification, with the action it proposes")
class Notification:
    id: strawberry.ID
    kind: str
    title: str
    body: str
    read: bool
    created_at: str
    action: Action | None


def _action(row: dict[str, Any]) -> Action:
    """An action from its API JSON."""
    amount = row.get("amount")
    return Action(
        id=strawberry.ID(row["id"]), kind=row["kind"], status=row["status"],
        amount=Decimal(amount) if amount is not None else None,
        from_account=row.get("from_account"), to_account=row.get("to_account"),
        expires_at=row["expires_at"], reason=row.get("reason"),
    )  # fmt: skip


@strawberry.type(description="The customer the bearer token names")
class Me:
    id: strawberry.ID

    @strawberry.field
    async def accounts(self, info: Ctx) -> list[Account]:
        """Accounts from the 360 view."""
        ctx = info.context
        view = await run_in_threadpool(ctx.context.view, ctx.customer_id)
        return [
            Account(id=strawberry.ID(a.id), type=a.type, name=a.name, balance=a.balance,
                    credit_limit=a.credit_limit)
            for a in view.ledger.accounts
        ]  # fmt: skip

    @strawberry.field
    async def recommendations(self, info: Ctx) -> list[Recommendation]:
        """Next-best actions, ranked; each is logged as served (as REST)."""
        ctx = info.context
        found = await ctx.recommended()
        return [
            Recommendation(
                id=strawberry.ID(r.id), action=r.action, product=r.product, score=r.score,
                reasons=[Reason(code=x.code, text=x.text, contribution=x.contribution)
                         for x in r.reasons],
                trace_id=r.trace_id,
            )
            for r in found
        ]  # fmt: skip

    @strawberry.field
    async def notifications(self, info: Ctx) -> list[Notification]:
        """Notifications, unread first."""
        ctx = info.context
        rows = await run_in_threadpool(ctx.notifications.for_customer, ctx.customer_id)
        return [
            Notification(
                id=strawberry.ID(str(n["id"])), kind=n["kind"], title=n["title"], body=n["body"],
                read=n["read"], created_at=n["created_at"],
                action=_action(n["action"]) if n["action"] else None,
            )
            for n in rows
        ]  # fmt: skip

    @strawberry.field
    async def actions(self, info: Ctx) -> list[Action]:
        """Proposed actions, newest first."""
        ctx = info.context
        rows = await run_in_threadpool(ctx.actions.for_customer, ctx.customer_id)
        return [_action(action_json(row)) for row in rows]


@strawberry.type
class Query:
    @strawberry.field
    def me(self, info: Ctx) -> Me:
        """The customer the bearer token names (no other is reachable)."""
        return Me(id=strawberry.ID(info.context.customer_id))
