"""Outcomes joined to the suggestions they answer, read where they happen:

- recorded: `suggestion_outcomes` (advisor/learning/suggestions.py);
- actions: a nudge's action decided `executed` (or `rejected` after the customer confirmed:
  confirmed), `declined` or `expired` (table `actions`);
- thumbs: `turn_feedback` on a chat turn rates the chat suggestion whose trace is one of the
  decision traces stored with the turn (exact); a turn stored before turns kept them (NULL)
  falls back to: an answer that rested on recommendations (a `reco.` fact) rates the
  customer's chat suggestion served up to `thumbs_window_s` before the turn;
- product opened: an account of the type the chosen action offers (the policy's `holds`),
  opened within `opening_window_days` of the day it was suggested; the opening is credited to
  the latest such suggestion before it only, never to every earlier one.

Tables another part owns are read by name and may be absent (then they add nothing).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    null,
    select,
)
from sqlalchemy.sql import Select

from advisor.decisions.policy import Policy
from advisor.learning.config import BanditConfig
from advisor.learning.suggestions import OutcomeRow, SuggestionLog, SuggestionRow
from portfolio_context.db import engine_for

ACTION_OUTCOMES = {"executed": "confirmed", "rejected": "confirmed", "declined": "declined",
                   "expired": "expired"}  # fmt: skip
CHUNK = 500
# Read-only mirrors of the columns read from other parts' tables (typed, so times parse alike
# on SQLite and PostgreSQL); never created from here.
_OTHERS = MetaData()
ACTIONS = Table("actions", _OTHERS, Column("id", String), Column("status", String),
                Column("decided_at", DateTime))  # fmt: skip
FEEDBACK = Table("turn_feedback", _OTHERS, Column("turn_id", Integer),
                 Column("customer_id", String), Column("rating", String),
                 Column("created_at", DateTime(timezone=True)))  # fmt: skip
TURNS = Table("chat_turns", _OTHERS, Column("id", Integer), Column("fact_ids", Text),
              Column("created_at", DateTime(timezone=True)),
              Column("decision_trace_ids", Text))  # fmt: skip
ACCOUNTS = Table("accounts", _OTHERS, Column("customer_id", String), Column("type", String),
                 Column("opened", Date))  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """One outcome of a suggestion and where it was read."""

    outcome: str
    at: dt.datetime
    source: str


@dataclass
class Joined:
    """A suggestion with its outcomes and reward (None while it may still get one)."""

    row: SuggestionRow
    outcomes: list[Outcome] = field(default_factory=list)
    reward: float | None = None
    status: str = "pending"  # pending, rewarded or no_response


def utc(when: dt.datetime) -> dt.datetime:
    """A time in UTC; naive times are stored as UTC."""
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def chunks(items: Sequence[Any]) -> Iterator[list[Any]]:
    """Items in slices small enough for an IN list."""
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])


def joined(
    log: SuggestionLog, since: dt.datetime, config: BanditConfig, policy: Policy,
    now: dt.datetime | None = None,
) -> list[Joined]:  # fmt: skip
    """Every suggestion served at or after `since`, oldest first, with its outcomes."""
    found = {row.id: Joined(row) for row in log.served_since(since)}
    with engine_for(log.url).connect() as conn:
        for reader in (recorded, from_actions, from_feedback):
            for suggestion_id, outcome in reader(conn, found, config):
                found[suggestion_id].outcomes.append(outcome)
        for suggestion_id, outcome in product_openings(conn, found, policy, config):
            found[suggestion_id].outcomes.append(outcome)
    for item in found.values():
        settle(item, config, now or dt.datetime.now(dt.UTC))
    return list(found.values())


def settle(item: Joined, config: BanditConfig, now: dt.datetime) -> None:
    """The reward from the outcomes; 0 once no outcome came in time; else still pending."""
    item.outcomes.sort(key=lambda o: (o.at, o.outcome))
    names = list(dict.fromkeys(o.outcome for o in item.outcomes))  # each outcome counts once
    if names:
        item.reward, item.status = config.reward(names), "rewarded"
    elif utc(item.row.served_at) <= now - dt.timedelta(days=config.no_response_after_days):
        item.reward, item.status = 0.0, "no_response"


Pairs = Iterator[tuple[str, Outcome]]


def recorded(conn: Connection, found: dict[str, Joined], config: BanditConfig) -> Pairs:
    """Outcomes recorded against the suggestions."""
    for ids in chunks(list(found)):
        query = select(OutcomeRow).where(OutcomeRow.suggestion_id.in_(ids))
        for row in conn.execute(query):
            yield row.suggestion_id, Outcome(row.outcome, utc(row.at), f"recorded:{row.source}")


def from_actions(conn: Connection, found: dict[str, Joined], config: BanditConfig) -> Pairs:
    """Confirmed, declined or expired: the decided status of a nudge's action."""
    by_action = {j.row.action_id: sid for sid, j in found.items() if j.row.action_id}
    if not by_action or not inspect(conn).has_table("actions"):
        return
    columns = select(ACTIONS.c.id, ACTIONS.c.status, ACTIONS.c.decided_at)
    for ids in chunks(list(by_action)):
        for action_id, status, decided_at in conn.execute(columns.where(ACTIONS.c.id.in_(ids))):
            if status in ACTION_OUTCOMES and decided_at is not None:
                outcome = Outcome(ACTION_OUTCOMES[status], utc(decided_at), "actions")
                yield by_action[action_id], outcome


def from_feedback(conn: Connection, found: dict[str, Joined], config: BanditConfig) -> Pairs:
    """Thumbs on a chat turn, to the chat suggestion the turn's decision traces name; a turn
    without them (stored before they were) to the latest one served within the window."""
    tables = inspect(conn)
    if not all(tables.has_table(t) for t in ("turn_feedback", "chat_turns")):
        return
    chat: dict[str, list[Joined]] = defaultdict(list)
    for item in found.values():
        if item.row.channel == "chat":
            chat[item.row.customer_id].append(item)
    by_trace = {j.row.trace_id: j for js in chat.values() for j in js if j.row.trace_id}
    query, window = _feedback_query(conn), dt.timedelta(seconds=config.thumbs_window_s)
    for customers in chunks(list(chat)):
        for customer, rating, rated_at, turn_at, facts, traces in conn.execute(
            query.where(FEEDBACK.c.customer_id.in_(customers))
        ):
            if rating not in ("up", "down"):
                continue
            ids = _trace_ids(traces)
            if ids is None:  # an older turn: the time window
                rated = _within_window(chat[customer], utc(turn_at), window, facts)
            else:
                rated = [by_trace[t] for t in ids if t in by_trace]
            for item in {j.row.id: j for j in rated if j.row.customer_id == customer}.values():
                yield item.row.id, Outcome(f"thumbs_{rating}", utc(rated_at), "turn_feedback")


def _feedback_query(conn: Connection) -> Select[Any]:
    """Ratings with their turn's time, facts and decision traces (NULL where the table
    predates the column)."""
    f, t = FEEDBACK.c, TURNS.c
    columns = {c["name"] for c in inspect(conn).get_columns("chat_turns")}
    traces = t.decision_trace_ids if "decision_trace_ids" in columns else null()
    query = select(f.customer_id, f.rating, f.created_at, t.created_at, t.fact_ids, traces)
    return query.join_from(FEEDBACK, TURNS, t.id == f.turn_id)


def _trace_ids(stored: str | None) -> list[str] | None:
    """The turn's decision trace ids; None when it has none stored (an older turn)."""
    if stored is None:
        return None
    try:
        found = json.loads(stored)
    except ValueError:
        return None
    return [str(t) for t in found] if isinstance(found, list) else None


def _within_window(
    served: list[Joined], turn: dt.datetime, window: dt.timedelta, facts: str | None
) -> list[Joined]:
    """The fallback: the latest chat suggestion served within the window before a turn whose
    answer rested on recommendations."""
    if not _from_recommendations(facts):
        return []
    near = [j for j in served if turn - window <= utc(j.row.served_at) <= turn]
    return [max(near, key=lambda j: utc(j.row.served_at))] if near else []


def _from_recommendations(fact_ids: str | None) -> bool:
    """Whether the turn's answer stated recommendations (`reco.` facts)."""
    try:
        return any(str(f).startswith("reco.") for f in json.loads(fact_ids or "[]"))
    except ValueError:
        return False


def product_openings(
    conn: Connection, found: dict[str, Joined], policy: Policy, config: BanditConfig
) -> Pairs:
    """Each account of a suggested product's type, to the latest suggestion of it served on or
    before the day it opened and at most `opening_window_days` before."""
    holds = {a.id: a.holds for a in policy.actions if a.holds}
    wanted = [j for j in found.values() if j.row.chosen in holds]
    if not wanted or not inspect(conn).has_table("accounts"):
        return
    offered: dict[tuple[str, str], list[Joined]] = defaultdict(list)
    for item in wanted:
        offered[(item.row.customer_id, holds[item.row.chosen] or "")].append(item)
    a, window = ACCOUNTS.c, dt.timedelta(days=config.opening_window_days)
    query = select(a.customer_id, a.type, a.opened)
    for customers in chunks(sorted({j.row.customer_id for j in wanted})):
        for customer, kind, day in conn.execute(query.where(a.customer_id.in_(customers))):
            before = [j for j in offered[(customer, kind)]
                      if day - window <= utc(j.row.served_at).date() <= day]  # fmt: skip
            if before:
                latest = max(before, key=lambda j: (utc(j.row.served_at), j.row.id))
                at = dt.datetime.combine(day, dt.time(), dt.UTC)
                yield latest.row.id, Outcome("product_opened", at, "accounts")
