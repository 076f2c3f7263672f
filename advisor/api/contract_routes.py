"""`GET /v1/contracts/{id}`: a credit-limit contract's PDF, to its own customer only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from advisor.api.deps import SettingsDep, app_service
from advisor.api.orchestration_deps import CustomerDep
from advisor.api.problems import error_responses
from advisor.orchestration.contracts import ContractService

router = APIRouter()


def get_contracts(request: Request, settings: SettingsDep) -> ContractService:
    """The contract service, built once per app (tests override it with dependency_overrides)."""
    return app_service(request, "contracts", lambda: ContractService.from_settings(settings))


ContractsDep = Annotated[ContractService, Depends(get_contracts)]


@router.get(
    "/v1/contracts/{contract_id}",
    summary="The PDF of one of your credit-limit contracts",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **error_responses(401, 403, 404)},
)
async def get_contract(
    principal: CustomerDep,
    contracts: ContractsDep,
    contract_id: Annotated[str, Path(max_length=40, pattern=r"^ct_[0-9a-f]+$")],
) -> Response:
    """The contract's PDF; 404 for an unknown id or another customer's contract."""
    pdf, sha256 = await run_in_threadpool(contracts.pdf, contract_id, principal.customer_id)
    headers = {
        "Content-Disposition": f'inline; filename="{contract_id}.pdf"',
        "X-Content-SHA256": sha256,
    }
    return Response(pdf, media_type="application/pdf", headers=headers)
