"""The credit-limit contract: rendered from a Jinja2 template to HTML and to PDF (fpdf2),
stored with its SHA-256, one per decision, and served only to its own customer."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from fpdf import FPDF
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import DateTime, LargeBinary, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from advisor.errors import NotFound
from advisor.orchestration.audit import canonical_json
from advisor.orchestration.events import AuditSink
from portfolio_context.db import engine_for, session_scope
from portfolio_context.models import Account, Base, Customer

if TYPE_CHECKING:
    from advisor.decisions.credit import CreditDecision
    from advisor.settings import Settings

HERE = Path(__file__).parent
TEMPLATE = "credit_limit_contract.html.j2"
WORDING: dict[str, Any] = yaml.safe_load((HERE / "contracts.yaml").read_text())


class ContractRow(Base):
    """A stored contract: its HTML, its PDF and the PDF's SHA-256; one per decision trace."""

    __tablename__ = "contracts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), index=True)
    trace_id: Mapped[str] = mapped_column(String(64), unique=True)
    terms: Mapped[str] = mapped_column(Text)  # canonical JSON of ContractTerms
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC, naive


CONTRACT_TABLE = Base.metadata.tables[ContractRow.__tablename__]


@dataclass(frozen=True)
class ContractTerms:
    """The figures a contract states; all from the credit decision and the bank's records."""

    customer_id: str
    customer_name: str
    account_id: str
    current_limit: Decimal
    new_limit: Decimal
    apr: Decimal
    trace_id: str
    offered_on: dt.date


@dataclass(frozen=True)
class Contract:
    """A stored contract's handle: where to GET its PDF and the PDF's SHA-256."""

    id: str
    customer_id: str
    trace_id: str
    sha256: str
    url: str


def contract_url(contract_id: str) -> str:
    """The customer's link to the PDF."""
    return f"/v1/contracts/{contract_id}"


def _money(amount: Decimal) -> str:
    """$8,000.00."""
    return f"${amount:,.2f}"


_templates = Environment(
    loader=FileSystemLoader(HERE), autoescape=True, undefined=StrictUndefined,
    keep_trailing_newline=True,
)  # fmt: skip
_templates.filters["money"] = _money


def render_html(terms: ContractTerms, contract_id: str) -> str:
    """The contract as HTML (the template's wording from contracts.yaml)."""
    return _templates.get_template(TEMPLATE).render(
        terms=terms, contract_id=contract_id, title=WORDING["title"],
        lender=WORDING["lender"], clauses=WORDING["clauses"],
    )  # fmt: skip


def render_pdf(html: str, created_at: dt.datetime) -> bytes:
    """The HTML laid out as a PDF; the same HTML and time give the same bytes."""
    pdf = FPDF()
    pdf.set_creation_date(created_at.replace(tzinfo=dt.UTC))
    pdf.set_title(WORDING["title"])
    pdf.set_author(WORDING["lender"])
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.write_html(html.encode("latin-1", "replace").decode("latin-1"))  # core fonts
    return bytes(pdf.output())


class ContractService:
    """States a raise's contract terms, stores one contract per decision inside the offer's
    transaction, audits it, and hands each PDF to its own customer only."""

    def __init__(self, database_url: str, audit: AuditSink | None = None) -> None:
        self.url, self.audit = database_url, audit
        Base.metadata.create_all(engine_for(database_url), tables=[CONTRACT_TABLE])

    @classmethod
    def from_settings(cls, settings: Settings) -> ContractService:
        """The service on the bank's database, auditing each contract issued."""
        from advisor.orchestration.audit import AuditLog

        return cls(settings.resolved_database_url, AuditLog.from_settings(settings))

    def audit_issued(self, contract: Contract, terms: ContractTerms) -> None:
        """The contract's audit entry, after its commit (keyed: a replay, or a rerun after a
        crash, appends once)."""
        if self.audit is not None:
            self.audit.append("contract", f"contract/{contract.id}",
                              _audit_payload(contract, terms),
                              key=f"contract:{terms.trace_id}")  # fmt: skip

    def terms_for(
        self, customer_id: str, decision: CreditDecision, trace_id: str
    ) -> ContractTerms | None:
        """What a raise's contract states (None for keep or decline; NotFound without a card)."""
        if decision.decision != "raise" or decision.new_limit is None or decision.apr is None:
            return None
        name, account = self._customer_card(customer_id)
        return ContractTerms(
            customer_id, name, account, decision.current_limit, decision.new_limit,
            decision.apr, trace_id, dt.datetime.now(dt.UTC).date(),
        )  # fmt: skip

    @staticmethod
    def store_in(db: Session, drafted: ContractRow) -> Contract:
        """Inside the caller's transaction: the contract already stored for the decision, else
        this rendered one, stored now (to be audited after the commit)."""
        query = select(ContractRow).where(ContractRow.trace_id == drafted.trace_id)
        found = db.scalars(query).first()
        if found is None:
            db.add(drafted)
            db.flush()
        return _handle(found or drafted)

    def pdf(self, contract_id: str, customer_id: str) -> tuple[bytes, str]:
        """The PDF and its SHA-256 for its own customer; NotFound otherwise (or if altered)."""
        with session_scope(self.url) as db:
            row = db.get(ContractRow, contract_id)
        if row is None or row.customer_id != customer_id:
            raise NotFound(f"no contract {contract_id!r}")
        if hashlib.sha256(row.pdf).hexdigest() != row.sha256:
            raise NotFound(f"contract {contract_id!r} does not match its stored SHA-256")
        return row.pdf, row.sha256

    def _customer_card(self, customer_id: str) -> tuple[str, str]:
        """The customer's name and credit-card account id."""
        with session_scope(self.url) as db:
            customer = db.get(Customer, customer_id)
            card = db.scalars(
                select(Account.id)
                .where(Account.customer_id == customer_id, Account.type == "credit_card")
                .order_by(Account.id)
            ).first()
        if customer is None or card is None:
            raise NotFound(f"customer {customer_id!r} holds no credit card")
        return customer.name, card


def rendered(terms: ContractTerms) -> ContractRow:
    """A new contract row: HTML and PDF rendered, the PDF's hash taken."""
    contract_id = f"ct_{uuid.uuid4().hex[:20]}"
    created = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    html = render_html(terms, contract_id)
    pdf = render_pdf(html, created)
    return ContractRow(
        id=contract_id, customer_id=terms.customer_id, trace_id=terms.trace_id,
        terms=canonical_json(asdict(terms)), html=html, pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(), created_at=created,
    )  # fmt: skip


def _handle(row: ContractRow) -> Contract:
    """A row's public handle."""
    return Contract(row.id, row.customer_id, row.trace_id, row.sha256, contract_url(row.id))


def _audit_payload(row: Contract, terms: ContractTerms) -> dict[str, Any]:
    """What the audit log keeps of a contract: ids, figures and the PDF's hash."""
    return {
        "contract_id": row.id, "customer_id": row.customer_id, "trace_id": row.trace_id,
        "new_limit": str(terms.new_limit), "apr": str(terms.apr), "sha256": row.sha256,
    }  # fmt: skip
