"""The served-recommendations log: what each customer was shown, for contact-frequency caps.

One row per customer, action and day (UTC): showing an action again the same day is not a
new contact, so a customer refreshing their list does not use up its caps."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from sqlalchemy import DateTime, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from portfolio_context.db import engine_for
from portfolio_context.models import Base

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """Timezone-aware now."""
    return dt.datetime.now(dt.UTC)


class ServedRecommendation(Base):
    """One recommendation shown to a customer."""

    __tablename__ = "served_recommendations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))
    trace_id: Mapped[str] = mapped_column(String(40))
    served_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_served_customer_time", "customer_id", "served_at"),)


class ServedLog:
    """Append served recommendations; count them per action over a window."""

    def __init__(self, database_url: str, clock: Clock = utcnow) -> None:
        engine = engine_for(database_url)
        ServedRecommendation.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.clock = clock

    def counts(self, customer_id: str, window_days: int) -> Counter[str]:
        """How often each action was served to the customer in the last `window_days`."""
        since = self.clock() - dt.timedelta(days=window_days)
        with self._sessions() as session:
            actions = session.scalars(
                select(ServedRecommendation.action).where(
                    ServedRecommendation.customer_id == customer_id,
                    ServedRecommendation.served_at >= since,
                )
            )
            return Counter(actions)

    def record(self, customer_id: str, served: list[tuple[str, str]]) -> None:
        """Log (action, trace id) pairs served to the customer now, each action at most once a
        day: the customer's own refreshes and chat turns are not new contacts for the caps."""
        now = self.clock()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        with self._sessions.begin() as session:
            today = set(
                session.scalars(
                    select(ServedRecommendation.action).where(
                        ServedRecommendation.customer_id == customer_id,
                        ServedRecommendation.served_at >= midnight,
                    )
                )
            )
            session.add_all(
                ServedRecommendation(customer_id=customer_id, action=a, trace_id=t, served_at=now)
                for a, t in served
                if a not in today
            )
