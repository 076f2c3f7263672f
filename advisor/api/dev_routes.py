"""Development-only routes for the demo page: seeded customers and their tokens.

Mounted only when `dev_routes` is on (the development profile); otherwise they do not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select

from advisor.api.deps import ContextDep, SettingsDep
from advisor.api.problems import error_responses
from advisor.auth import issue_token
from advisor.errors import NotFound
from portfolio_context.db import session_scope
from portfolio_context.models import Customer

router = APIRouter(prefix="/v1/dev", tags=["development"])
DEV_TOKEN_TTL_S = 3600  # short-lived: the demo page asks again when a request gets 401


class DevCustomer(BaseModel):
    """A seeded customer the demo page can act as."""

    id: str
    name: str


class DevTokenIn(BaseModel):
    """Which seeded customer to act as."""

    customer_id: str = Field(min_length=1, max_length=16)


class DevTokenOut(BaseModel):
    """A short-lived customer token."""

    token: str


def seeded_customers(url: str) -> list[dict[str, Any]]:
    """Every customer of the bank, by id."""
    with session_scope(url) as db:
        rows = db.execute(select(Customer.id, Customer.name).order_by(Customer.id))
        return [{"id": row.id, "name": row.name} for row in rows]


@router.get("/customers", summary="Seeded customers (development profile only)")
async def customers(context: ContextDep) -> list[DevCustomer]:
    """Id and name of each seeded customer."""
    rows = await run_in_threadpool(seeded_customers, context.url)
    return [DevCustomer(**row) for row in rows]


@router.post(
    "/token",
    summary="A short-lived token for a seeded customer (development profile only)",
    responses=error_responses(404),
)
async def token(body: DevTokenIn, settings: SettingsDep, context: ContextDep) -> DevTokenOut:
    """A customer token valid for an hour; 404 for an id that is not a customer."""
    if not await run_in_threadpool(context.exists, body.customer_id):
        raise NotFound(f"unknown customer {body.customer_id!r}")
    ttl = min(DEV_TOKEN_TTL_S, settings.token_ttl_s)
    return DevTokenOut(token=issue_token(settings, body.customer_id, ttl_s=ttl))
