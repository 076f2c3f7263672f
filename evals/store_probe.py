"""What the chat store kept for a turn (in-process runs only; a remote store is its own)."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from sqlalchemy import select

from advisor.store import ChatTurn
from portfolio_context.db import session_scope


def stored_texts(client: Any, trace_id: str | None) -> list[str] | None:
    """The stored user and answer text of the turn, or None when the store is out of reach."""
    app = getattr(client, "app", None)
    services = getattr(getattr(app, "state", None), "services", None)
    if services is None or not trace_id:
        return None
    query = select(ChatTurn.user_text, ChatTurn.answer_text).where(ChatTurn.trace_id == trace_id)
    with session_scope(services.context.url) as db:
        return [text for row in db.execute(query).all() for text in row]


class LogTap(logging.Handler):
    """Every log line the process writes while it is open (in-process runs see the app's)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the formatted line."""
        self.lines.append(record.getMessage())

    def __enter__(self) -> LogTap:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        logging.getLogger().removeHandler(self)
