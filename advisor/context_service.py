"""The customer 360 view, cached per customer until the bank's data changes."""

from __future__ import annotations

import threading
from decimal import Decimal

from sqlalchemy import select

from advisor.errors import NotFound
from advisor.settings import Settings
from portfolio_context.db import create_schema, session_scope
from portfolio_context.models import BankMeta, Customer
from portfolio_context.view import Customer360, CustomerNotFound, build_view


class ContextService:
    """Builds 360 views and keeps them while the bank's seed generation is unchanged."""

    def __init__(self, database_url: str, buffer_usd: float) -> None:
        self.url = database_url
        self.buffer = Decimal(str(buffer_usd))
        self._cache: dict[str, tuple[str, Customer360]] = {}
        self._lock = threading.Lock()
        create_schema(database_url)

    @classmethod
    def from_settings(cls, settings: Settings) -> ContextService:
        """The service on the configured bank, with the configured emergency buffer."""
        return cls(settings.resolved_database_url, settings.emergency_buffer_usd)

    def generation(self) -> str:
        """The id of the current seeding of the bank ('' when unseeded)."""
        with session_scope(self.url) as db:
            return db.scalar(select(BankMeta.value).where(BankMeta.key == "generation")) or ""

    def view(self, customer_id: str) -> Customer360:
        """The 360 view of one customer (NotFound when there is no such customer)."""
        generation = self.generation()
        with self._lock:
            cached = self._cache.get(customer_id)
        if cached and cached[0] == generation:
            return cached[1]
        try:
            with session_scope(self.url) as db:
                view = build_view(db, customer_id, self.buffer)
        except CustomerNotFound as exc:
            raise NotFound(f"unknown customer {exc.args[0]!r}") from exc
        with self._lock:
            self._cache[customer_id] = (generation, view)
        return view

    def exists(self, customer_id: str) -> bool:
        """Whether the customer is in the bank."""
        with session_scope(self.url) as db:
            return db.get(Customer, customer_id) is not None
