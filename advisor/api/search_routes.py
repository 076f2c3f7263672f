"""`POST /v1/search`: the product and regulatory corpus, with canonical citations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from advisor.api.deps import PrincipalDep, RetrievalDep
from advisor.api.problems import error_responses
from advisor.errors import BackendUnavailable, InvalidInput
from retrieval.search import IndexMissing, SearchError

router = APIRouter()


class SearchRequest(BaseModel):
    """One query; filters are optional."""

    query: str
    k: int = Field(default=5, description="passages to return, 1-50")
    source: str | None = Field(
        default=None,
        description="reg_b, reg_e, reg_dd, reg_p, reg_v, gdpr, products or servicing "
        "(servicing articles and terms are searched only when asked for)",
    )
    product_type: str | None = None


@router.post(
    "/v1/search",
    summary="Search regulations and products; results carry citations",
    responses=error_responses(400, 401, 413, 503),
)
async def search(
    body: SearchRequest, principal: PrincipalDep, retrieval: RetrievalDep
) -> dict[str, Any]:
    """`{"query", "results": [{"citation", "title", "source", "text", "score"}]}`."""
    try:
        hits = await run_in_threadpool(
            retrieval.search, body.query, body.k, body.source, body.product_type
        )
    except IndexMissing as exc:
        raise BackendUnavailable(str(exc)) from exc
    except SearchError as exc:
        raise InvalidInput(str(exc)) from exc
    return {"query": body.query, "results": [hit.to_json() for hit in hits]}
