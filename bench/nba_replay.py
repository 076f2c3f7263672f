"""Offline replay of next-best-action against the synthetic bank's planted life events.

At reference dates T (month ends 3, 6, 9 and 12 months before the bank's as-of date), every
customer's propensities are scored as of T (the promoted model, else the policy defaults), once;
rankings are then replayed from these records under the policy (no contact caps). Customers are
split in two halves by id: the design half gives the popularity rates and chooses the ranking
variant (bench/nba_design.py), the report half is measured once with the chosen one.

List measures, on report-half pairs with a planted event in the 3 months after T: the event's
action (home_buying -> home_buying_plan, ...) is in the served list (hit@list), or is the first
of the life-event actions the ranking permits (hit@1); and of every life-event action served in
a list (all pairs), the share whose event came (precision of served). Per-action measure: for
each life-event action and T, the report-half customers the policy permits it to, ranked by its
score; precision in the top 5% against the event's rate among them (what popularity, which
scores every customer alike, gets in expectation). The popularity baseline ranks with each
life-event propensity replaced by its rate among the design half. Policy signals (eligibility)
come from the bank's as-of 360 view, not from T: they gate actions, they do not rank the events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from typing import Any

from sqlalchemy import select

from advisor.decisions.nba import Ranked, rank, ranked, unmet, withholding_rules
from advisor.decisions.policy import Caps, Policy, Signals
from advisor.decisions.propensity import Propensity
from advisor.decisions.service import RecommendationService, decision_signals
from portfolio_context.db import session_scope
from portfolio_context.models import LifeEvent

WINDOW_DAYS = 91
TOP_SHARE = 0.05


@dataclasses.dataclass(frozen=True)
class Pair:
    """One customer at one reference date: what the ranking saw and what happened next."""

    customer: str
    start: dt.date
    half: str  # design | report
    events: frozenset[str]
    signals: Signals
    found: dict[str, Propensity]


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


def collect(service: RecommendationService, ids: list[str], dates: int) -> list[Pair]:
    """Every (customer, reference date) pair scored once; even ids are the design half."""
    as_of = service.context.view(ids[0]).ledger.as_of
    starts = [month_end(as_of, 3 * k) for k in range(1, dates + 1)]
    windows = {start: truth(service.context.url, start) for start in starts}
    design, pairs = set(ids[0::2]), []
    for cid in ids:
        view = service.context.view(cid)
        for start, window in windows.items():
            with session_scope(service.context.url) as db:
                found = service.propensities.for_customer(db, cid, start)
            signals = decision_signals(view, service.policy, found)
            half = "design" if cid in design else "report"
            events = frozenset(window.get(cid, set()))
            pairs.append(Pair(cid, start, half, events, signals, found))
    return pairs


def popularity(pairs: list[Pair]) -> dict[str, float]:
    """Each event's rate per (customer, reference date) among the pairs."""
    counts = Counter(e for p in pairs for e in p.events)
    return {event: counts[event] / max(len(pairs), 1) for event in counts}


def baseline_propensities(
    found: dict[str, Propensity], rates: dict[str, float]
) -> dict[str, Propensity]:
    """The propensities with every life event at its population rate (a model's, so a lift
    ranking divides it by the base rate like any score)."""
    out = dict(found)
    for name in found:
        if name.startswith("life_event."):
            rate = rates.get(name.split(".", 1)[1], 0.0)
            out[name] = Propensity(name, rate, model="popularity", version=0)
    return out


def uncapped(policy: Policy) -> Policy:
    """The policy without contact caps, listing every permitted action."""
    return dataclasses.replace(policy, list_size=50, caps=Caps(7, 10**9, 10**9))


def first_life(served: list[Ranked], actions: set[str]) -> str | None:
    """The highest-ranked life-event action, if any is permitted."""
    return next((r.action.id for r in served if r.action.id in actions), None)


def list_tally(policy: Policy, pairs: list[Pair], rates: dict[str, float]) -> Counter[str]:
    """List measures of the ranking (nba_) and of popularity (popularity_) over the pairs."""
    tally: Counter[str] = Counter()
    mapping, every = event_actions(policy), uncapped(policy)
    life = set(mapping.values())
    for pair in pairs:
        want = {mapping[e] for e in pair.events if e in mapping}
        tally["pairs"] += 1
        tally["positives"] += bool(want)
        baseline = baseline_propensities(pair.found, rates)
        for name, props in (("nba", pair.found), ("popularity", baseline)):
            served = rank(every, pair.signals, props, {}).served
            shown = {r.action.id for r in served[: policy.list_size]} & life
            tally[f"{name}_served"] += len(shown)
            tally[f"{name}_served_right"] += len(shown & want)
            if want:
                tally[f"{name}_list"] += bool(shown & want)
                tally[f"{name}_first"] += first_life(served, life) in want
    return tally


def per_action(policy: Policy, pairs: list[Pair]) -> dict[str, dict[str, float]]:
    """Per life-event action: events among the top 5% of permitted customers by its score,
    summed over reference dates, against the event's count among all permitted customers."""
    out: dict[str, dict[str, float]] = {}
    for event, action_id in event_actions(policy).items():
        action = next(a for a in policy.actions if a.id == action_id)
        top = hits = permitted = positives = 0
        for start in sorted({p.start for p in pairs}):
            scored = [
                (ranked(action, p.signals, policy, p.found).score, event in p.events)
                for p in pairs
                if p.start == start
                and not withholding_rules(action, p.signals, policy, {})
                and not unmet(action, p.signals)
            ]
            picks = math.ceil(TOP_SHARE * len(scored))
            chosen = sorted(scored, key=lambda s: -s[0])[:picks]
            top, hits = top + picks, hits + sum(y for _, y in chosen)
            permitted, positives = permitted + len(scored), positives + sum(y for _, y in scored)
        out[action_id] = {"top": top, "top_hits": hits, "permitted": permitted,
                          "positives": positives}  # fmt: skip
    return out


def replay(service: RecommendationService, ids: list[str], dates: int = 4) -> dict[str, Any]:
    """Collect the pairs, then measure the served policy on the report half."""
    pairs = collect(service, ids, dates)
    return measure(service.policy, pairs)


def measure(policy: Policy, pairs: list[Pair]) -> dict[str, Any]:
    """The list and per-action measures of a policy on the report half (rates: design half)."""
    design = [p for p in pairs if p.half == "design"]
    report = [p for p in pairs if p.half == "report"]
    rates = popularity(design)
    models = Counter(f"{p.model} v{p.version}" for x in report for p in x.found.values() if p.model)
    return {
        "totals": dict(list_tally(policy, report, rates)),
        "per_action": per_action(policy, report),
        "rates": rates,
        "models": dict(models),
        "dates": sorted({p.start for p in pairs}, reverse=True),
    }
