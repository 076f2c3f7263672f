"""Offline replay of next-best-action against the synthetic bank's planted life events.

At reference dates T (month ends 3, 6, 9 and 12 months before the bank's as-of date), the
life-event propensities are scored as of T (the promoted model, else the policy defaults) and
the list is ranked under the policy (no contact caps). A hit: the customer has a planted
life event in the 3 months after T and the action the policy ties to that event (e.g.
home_buying -> home_buying_plan) is in the served list (hit@list), or is the first of the
life-event actions the ranking permits (hit@1). The popularity baseline ranks the same way
with each life-event propensity replaced by that event's rate among the other half of the
customers (the same policy, values and eligibility). Policy signals (eligibility) come from the
bank's as-of 360 view, not from T: they gate actions, they do not rank the life events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import select

from advisor.decisions.nba import Ranked, rank
from advisor.decisions.policy import Caps, Policy
from advisor.decisions.propensity import Propensity
from advisor.decisions.service import RecommendationService, decision_signals
from portfolio_context.db import session_scope
from portfolio_context.models import LifeEvent

WINDOW_DAYS = 91


def month_end(day: dt.date, months_back: int) -> dt.date:
    """The last day of the month `months_back` months before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months_back + 1
    return dt.date(index // 12, index % 12 + 1, 1) - dt.timedelta(days=1)


def event_actions(policy: Policy) -> dict[str, str]:
    """Life event -> the action its propensity drives."""
    return {
        a.propensity.split(".", 1)[1]: a.id
        for a in policy.actions
        if a.propensity and a.propensity.startswith("life_event.")
    }


def truth(url: str, start: dt.date) -> dict[str, set[str]]:
    """Customer -> the life events planted in the window after `start`."""
    end = start + dt.timedelta(days=WINDOW_DAYS)
    with session_scope(url) as db:
        rows = db.execute(
            select(LifeEvent.customer_id, LifeEvent.event_type).where(
                LifeEvent.event_date > start, LifeEvent.event_date <= end
            )
        ).all()
    found: dict[str, set[str]] = {}
    for customer, event in rows:
        found.setdefault(customer, set()).add(event)
    return found


def popularity(ids: list[str], windows: dict[dt.date, dict[str, set[str]]]) -> dict[str, float]:
    """Each event's rate per (customer, reference date) among `ids`."""
    counts = Counter(e for w in windows.values() for c in ids for e in w.get(c, set()))
    pairs = len(ids) * len(windows)
    return {event: counts[event] / pairs for event in counts}


def first_life(served: list[Ranked], actions: set[str]) -> str | None:
    """The highest-ranked life-event action, if any is permitted."""
    return next((r.action.id for r in served if r.action.id in actions), None)


def judged(served: list[Ranked], want: set[str], actions: set[str], size: int) -> tuple[int, int]:
    """(hit@list, hit@1 among life-event actions) of one ranking."""
    in_list = any(r.action.id in want for r in served[:size])
    return int(in_list), int(first_life(served, actions) in want)


def baseline_propensities(
    found: dict[str, Propensity], rates: dict[str, float]
) -> dict[str, Propensity]:
    """The propensities with every life event at its population rate."""
    out = dict(found)
    for name in found:
        if name.startswith("life_event."):
            out[name] = Propensity(name, rates.get(name.split(".", 1)[1], 0.0))
    return out


@dataclasses.dataclass
class Tally:
    """Hit counts by measure, and the models that scored."""

    totals: Counter[str] = dataclasses.field(default_factory=Counter)
    models: Counter[str] = dataclasses.field(default_factory=Counter)


def score_pair(
    service: RecommendationService, cid: str, start: dt.date, want: set[str],
    rates: dict[str, float], tally: Tally,
) -> None:  # fmt: skip
    """Rank one customer as of `start` both ways and count the hits."""
    policy = service.policy
    every = dataclasses.replace(policy, list_size=50, caps=Caps(7, 10**9, 10**9))
    with session_scope(service.context.url) as db:
        found = service.propensities.for_customer(db, cid, start)
    tally.models.update(f"{p.model} v{p.version}" for p in found.values() if p.model)
    signals = decision_signals(service.context.view(cid), policy, found)
    life = set(event_actions(policy).values())
    for name, props in (("nba", found), ("popularity", baseline_propensities(found, rates))):
        served = rank(every, signals, props, {}).served
        in_list, first = judged(served, want, life, policy.list_size)
        tally.totals[f"{name}_list"] += in_list
        tally.totals[f"{name}_first"] += first
    tally.totals["positives"] += 1


def replay(service: RecommendationService, ids: list[str], dates: int = 4) -> dict[str, Any]:
    """Hit rates of the ranking and of the popularity baseline on half of the customers."""
    mapping = event_actions(service.policy)
    as_of = service.context.view(ids[0]).ledger.as_of
    starts = [month_end(as_of, 3 * k) for k in range(1, dates + 1)]
    windows = {start: truth(service.context.url, start) for start in starts}
    rates, tally = popularity(ids[0::2], windows), Tally()
    for cid in ids[1::2]:
        for start, window in windows.items():
            tally.totals["pairs"] += 1
            want = {mapping[e] for e in window.get(cid, set()) if e in mapping}
            if want:
                score_pair(service, cid, start, want, rates, tally)
    totals, models = dict(tally.totals), dict(tally.models)
    return {"totals": totals, "rates": rates, "models": models, "dates": starts}
