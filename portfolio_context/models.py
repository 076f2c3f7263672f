"""SQLAlchemy tables of the synthetic bank; the same code runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

Money = Numeric(14, 2)


class Base(DeclarativeBase):
    """Declarative base of every table the advisor owns."""


class BankMeta(Base):
    """Key/value facts about the seeded bank (as-of date, seed)."""

    __tablename__ = "bank_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Customer(Base):
    """A retail customer."""

    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    birth_year: Mapped[int] = mapped_column(Integer)
    profile: Mapped[str] = mapped_column(String(32))
    income_type: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(2))
    # Marketing fields in the UCI Bank Marketing vocabulary (nullable for rows seeded before).
    job: Mapped[str | None] = mapped_column(String(16), nullable=True)
    marital: Mapped[str | None] = mapped_column(String(16), nullable=True)
    education: Mapped[str | None] = mapped_column(String(16), nullable=True)
    in_default: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    campaign: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pdays: Mapped[int | None] = mapped_column(Integer, nullable=True)
    previous: Mapped[int | None] = mapped_column(Integer, nullable=True)
    poutcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    hardship: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    accounts: Mapped[list[Account]] = relationship(back_populates="customer")


class Account(Base):
    """A deposit, credit, loan or investment account."""

    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    balance: Mapped[Decimal] = mapped_column(Money)
    credit_limit: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    apr: Mapped[Decimal | None] = mapped_column(Numeric(6, 3), nullable=True)
    opened: Mapped[dt.date] = mapped_column(Date)
    customer: Mapped[Customer] = relationship(back_populates="accounts")


class Holding(Base):
    """A position in a brokerage account."""

    __tablename__ = "holdings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    symbol: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(96))
    asset_class: Mapped[str] = mapped_column(String(16))
    market_value: Mapped[Decimal] = mapped_column(Money)
    duration_years: Mapped[Decimal] = mapped_column(Numeric(6, 2))


class Transaction(Base):
    """A posted transaction; positive amounts are money in, negative money out."""

    __tablename__ = "transactions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    posted: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    merchant: Mapped[str] = mapped_column(String(96))
    category: Mapped[str] = mapped_column(String(32))
    memo: Mapped[str] = mapped_column(String(160), default="")
    __table_args__ = (Index("ix_transactions_account_posted", "account_id", "posted"),)


class RecurringBill(Base):
    """A bill that recurs monthly on a given day."""

    __tablename__ = "recurring_bills"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    payee: Mapped[str] = mapped_column(String(96))
    category: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Money)
    day_of_month: Mapped[int] = mapped_column(Integer)
    is_debt: Mapped[bool] = mapped_column(default=False)


class CreditProfile(Base):
    """The bureau-style credit profile of a customer."""

    __tablename__ = "credit_profiles"
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    open_tradelines: Mapped[int] = mapped_column(Integer)
    delinquencies_24m: Mapped[int] = mapped_column(Integer)
    inquiries_6m: Mapped[int] = mapped_column(Integer)
    # Hidden outcome from latent stress, kept for model training only (like LifeEvent).
    delinquent_12m: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class LifeEvent(Base):
    """The true life event planted in a customer's data, kept for model training only."""

    __tablename__ = "life_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(32))
    event_date: Mapped[dt.date] = mapped_column(Date)
    precursors: Mapped[str] = mapped_column(String(256))
