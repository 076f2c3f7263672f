"""What the chat store kept for a turn (in-process runs only; a remote store is its own)."""

from __future__ import annotations

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
