"""Calendar helpers shared by the generator and the analytics."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """First day of every calendar month that overlaps [start, end]."""
    first, months = start.replace(day=1), []
    while first <= end:
        months.append(first)
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return months


@lru_cache(maxsize=4096)
def day_in_month(first: dt.date, day: int) -> dt.date:
    """The given day of the month starting at `first`, clamped to the month's last day."""
    last = ((first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)).day
    return first.replace(day=min(day, last))
