"""The credit-limit contract: HTML and PDF from the template, stored with its SHA-256, own
customer only."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
import threading
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from advisor.api.contract_routes import get_contracts
from advisor.decisions.credit import CreditDecision
from advisor.errors import NotFound
from advisor.orchestration.action_rows import lock_customer
from advisor.orchestration.audit import AuditLog
from advisor.orchestration.contracts import (
    Contract,
    ContractService,
    ContractTerms,
    render_html,
    render_pdf,
    rendered,
)
from advisor.orchestration.tables import create_tables
from advisor.settings import Settings
from portfolio_context.db import engine_for, session_scope
from tests.conftest import bearer

TERMS = ContractTerms(
    customer_id="C0001", customer_name="Ada <b>Lovelace</b>", account_id="C0001-CRE",
    current_limit=Decimal("8800.00"), new_limit=Decimal("10500.00"), apr=Decimal("21.49"),
    trace_id="tr_0123abcd", offered_on=dt.date(2026, 12, 7),
)  # fmt: skip


def pdf_text(pdf: bytes) -> str:
    """The text drawn on the PDF's pages (its content streams, inflated)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    inflated = [zlib.decompress(s) for s in streams if s[:1] == b"x"]
    return b" ".join(inflated).decode("latin-1")


def issue(service: ContractService, terms: ContractTerms = TERMS) -> Contract:
    """Store and audit a contract as an offer does (credit_offer.py): rendered first, stored in
    a transaction under the customer's lock (there, with the offer's action), audited after."""
    drafted = rendered(terms)
    with session_scope(service.url) as db:
        lock_customer(db, terms.customer_id)
        contract = ContractService.store_in(db, drafted)
    service.audit_issued(contract, terms)
    return contract


@pytest.fixture
def own_bank(tmp_path: Path, bank_url: str) -> str:
    """This test's copy of the seeded bank, with the actions table the customer's lock uses."""
    path = tmp_path / "bank.db"
    source, copy = sqlite3.connect(bank_url.removeprefix("sqlite:///")), sqlite3.connect(path)
    source.backup(copy)  # with what its WAL still holds
    source.close()
    copy.close()
    create_tables(f"sqlite:///{path}")
    return f"sqlite:///{path}"


@pytest.fixture
def service(own_bank: str) -> ContractService:
    """Contracts on this test's bank, audited."""
    return ContractService(own_bank, AuditLog(own_bank))


def test_html_states_the_decisions_figures_and_escapes_names() -> None:
    html = render_html(TERMS, "ct_1")
    for shown in ("$8,800.00", "$10,500.00", "21.49%", "C0001-CRE", "tr_0123abcd", "ct_1"):
        assert shown in html
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in html and "<b>Lovelace" not in html


def test_pdf_is_a_pdf_with_the_figures_and_is_reproducible() -> None:
    html, at = render_html(TERMS, "ct_1"), dt.datetime(2026, 12, 7, 10, 0)
    pdf = render_pdf(html, at)
    assert pdf.startswith(b"%PDF-")
    assert pdf == render_pdf(html, at)
    drawn = pdf_text(pdf)
    assert "10,500.00" in drawn and "21.49%" in drawn


def test_a_contract_is_stored_with_its_hash_once_per_decision(service: ContractService) -> None:
    first = issue(service)
    assert issue(service) == first  # a replay finds the stored one and audits nothing new
    pdf, sha = service.pdf(first.id, "C0001")
    assert sha == first.sha256 == hashlib.sha256(pdf).hexdigest()
    assert first.url == f"/v1/contracts/{first.id}"
    assert service.audit is not None
    entries = [e for e in AuditLog(service.url).entries() if e.kind == "contract"]
    assert len(entries) == 1 and first.sha256 in entries[0].payload


def test_concurrent_stores_of_one_decision_store_one_contract(service: ContractService) -> None:
    made: list[str] = []
    workers = [threading.Thread(target=lambda: made.append(issue(service).id))
               for _ in range(4)]  # fmt: skip
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(made) == 4 and len(set(made)) == 1
    with engine_for(service.url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM contracts")).scalar_one() == 1


@pytest.mark.parametrize(
    ("contract", "customer"),
    [("mine", "C0002"), ("ct_00000000000000000000", "C0001"), ("mine", "")],
    ids=["another customer's", "unknown id", "a token naming no customer"],
)
def test_a_contract_is_only_its_own_customers(
    service: ContractService, contract: str, customer: str
) -> None:
    issued = issue(service)
    with pytest.raises(NotFound):
        service.pdf(issued.id if contract == "mine" else contract, customer)


def test_an_altered_pdf_is_not_served(service: ContractService) -> None:
    issued = issue(service)
    with engine_for(service.url).begin() as conn:
        conn.execute(text("UPDATE contracts SET pdf = :p WHERE id = :i"),
                     {"p": b"%PDF-1.3 forged", "i": issued.id})  # fmt: skip
    with pytest.raises(NotFound, match="does not match its stored SHA-256"):
        service.pdf(issued.id, "C0001")


def _decision(kind: str) -> CreditDecision:
    """A credit decision of this kind for C0001's card."""
    raised = kind == "raise"
    return CreditDecision(
        decision=kind, current_limit=Decimal("8800.00"),
        new_limit=Decimal("10500.00") if raised else None,
        apr=Decimal("21.49") if raised else None, reasons=(), rules_fired=(), band="B",
        target_limit=Decimal("10500.00"),
    )  # fmt: skip


@pytest.mark.parametrize(("kind", "issued"), [("raise", True), ("keep", False), ("decline", False)])
def test_only_a_raise_gets_a_contract(service: ContractService, kind: str, issued: bool) -> None:
    terms = service.terms_for("C0001", _decision(kind), f"tr_{kind}")
    assert (terms is not None) is issued
    if terms is not None:
        pdf, _ = service.pdf(issue(service, terms).id, "C0001")
        assert "C0001-CRE" in pdf_text(pdf)


def test_get_contract_serves_the_pdf_to_its_customer_only(
    client: TestClient, settings: Settings, service: ContractService
) -> None:
    client.app.dependency_overrides[get_contracts] = lambda: service  # type: ignore[attr-defined]
    issued = issue(service)
    mine = client.get(issued.url, headers=bearer(settings, "C0001"))
    assert mine.status_code == 200, mine.text
    assert mine.headers["content-type"] == "application/pdf"
    assert mine.headers["x-content-sha256"] == hashlib.sha256(mine.content).hexdigest()
    assert client.get(issued.url, headers=bearer(settings, "C0002")).status_code == 404
    assert client.get(issued.url).status_code == 401
    assert client.get("/v1/contracts/../etc", headers=bearer(settings, "C0001")).status_code in {
        404, 422,
    }  # fmt: skip
