"""Offline replay of next-best-action against the synthetic bank's planted life events.

Decision dates T: month ends 3, 6, 9, ... months before the bank's as-of date. On each T every
customer is seen as the bank held them on T (bench/nba_asof.py: accounts open, balances, bills
and transactions up to T) and scored on T by the promoted models (bench/nba_asof_scores.py);
nothing after T is read but the truth. A positive: a life event planted in the 91 days after T,
whose action (home_buying -> home_buying_plan, ...) became relevant then. Rankings are replayed
from these records under the policy without contact caps. Customers are split in two halves by
id: the design half gives the popularity rates and chooses the ranking (bench/nba_design.py),
the report half measures it.

List measures, on pairs with a positive: the event's action is in the served list (hit), or is
the first life-event action the ranking permits (first); and of every life-event action served
in a list, the share whose event came. Per action: the customers the policy permits it to on T,
ranked by its score; events in the top 5% against the event's rate among them (what
popularity, which scores every permitted customer alike, gets in expectation). Popularity: the
ranking with every life-event propensity replaced by its rate among design-half pairs, ranked by
expected value (its strongest form: the commonest event's action for everyone).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from typing import Any

from sqlalchemy import select

from advisor.decisions.nba import Ranked, rank, ranked, unmet, withholding_rules
from advisor.decisions.policy import Caps, LifeEventRanking, Policy, Signals
from advisor.decisions.propensity import Propensity
from advisor.decisions.service import RecommendationService, decision_signals
from advisor.predict.life_events import LifeEventScorer
from advisor.predict.score import Score
from bench.nba_asof import ledger_on
from bench.nba_asof_scores import life_events_on, propensities_on
from portfolio_context.db import session_scope
from portfolio_context.models import LifeEvent
from portfolio_context.view import bank_as_of, view_of

WINDOW_DAYS = 91
TOP_SHARE = 0.05
EXPECTED_VALUE = LifeEventRanking("expected_value")


@dataclasses.dataclass(frozen=True)
class Pair:
    """One customer at one decision date: what the ranking saw and what happened next."""

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
    """Customer -> the life events planted in the window after `start` (the only rows after
    the decision date the replay reads)."""
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


def decision_dates(url: str, dates: int) -> list[dt.date]:
    """The replay's decision dates, latest first."""
    with session_scope(url) as db:
        as_of = bank_as_of(db)
    return [month_end(as_of, 3 * k) for k in range(1, dates + 1)]


def pairs_on(service: RecommendationService, ids: list[str], start: dt.date) -> list[Pair]:
    """Every customer seen and scored on one decision date; even ids are the design half."""
    url, design = service.context.url, set(ids[0::2])
    window, pairs = truth(url, start), []
    life_scorer, _ = service.propensities.scorer("life-events")
    with session_scope(url) as db:
        life: dict[str, dict[str, Score]] = {}
        if isinstance(life_scorer, LifeEventScorer):
            life = life_events_on(life_scorer, db, ids, start)
        for cid in ids:
            customer, ledger = ledger_on(db, cid, start)
            found = propensities_on(service.propensities, customer, ledger, life.get(cid))
            signals = decision_signals(view_of(customer, ledger), service.policy, found)
            half = "design" if cid in design else "report"
            events = frozenset(window.get(cid, set()))
            pairs.append(Pair(cid, start, half, events, signals, found))
    return pairs


def collect(service: RecommendationService, ids: list[str], dates: int) -> list[Pair]:
    """Every (customer, decision date) pair, seen and scored once."""
    return [p for start in decision_dates(service.context.url, dates)
            for p in pairs_on(service, ids, start)]  # fmt: skip


def popularity(pairs: list[Pair]) -> dict[str, float]:
    """Each event's rate per (customer, decision date) among the pairs."""
    counts = Counter(e for p in pairs for e in p.events)
    return {event: counts[event] / max(len(pairs), 1) for event in counts}


def baseline_propensities(
    found: dict[str, Propensity], rates: dict[str, float]
) -> dict[str, Propensity]:
    """The propensities with every life event at its population rate."""
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


def outcome(policy: Policy, pair: Pair, found: dict[str, Propensity]) -> Counter[str]:
    """One pair's list measures under a ranking: list, first, served, served_right."""
    mapping = event_actions(policy)
    life, want = set(mapping.values()), {mapping[e] for e in pair.events if e in mapping}
    served = rank(uncapped(policy), pair.signals, found, {}).served
    shown = {r.action.id for r in served[: policy.list_size]} & life
    out = Counter(served=len(shown), served_right=len(shown & want))
    if want:
        out["list"] = int(bool(shown & want))
        out["first"] = int(first_life(served, life) in want)
    return out


def outcomes(
    policy: Policy, pairs: list[Pair], rates: dict[str, float]
) -> list[tuple[str, Counter[str]]]:
    """Per pair (customer, measures): the ranking's (nba_) and popularity's (popularity_)."""
    baseline = dataclasses.replace(policy, life_events=EXPECTED_VALUE)
    rows = []
    for pair in pairs:
        row: Counter[str] = Counter(pairs=1, positives=int(bool(pair.events)))
        row.update({f"nba_{k}": v for k, v in outcome(policy, pair, pair.found).items()})
        pop = outcome(baseline, pair, baseline_propensities(pair.found, rates))
        row.update({f"popularity_{k}": v for k, v in pop.items()})
        rows.append((pair.customer, row))
    return rows


def list_tally(policy: Policy, pairs: list[Pair], rates: dict[str, float]) -> Counter[str]:
    """List measures of the ranking (nba_) and of popularity (popularity_) over the pairs."""
    tally: Counter[str] = Counter()
    for _, row in outcomes(policy, pairs, rates):
        tally.update(row)
    return tally


def per_action(policy: Policy, pairs: list[Pair]) -> dict[str, dict[str, float]]:
    """Per life-event action: events among the top 5% of permitted customers by its score,
    summed over decision dates, against the event's count among all permitted customers."""
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


def counts(pairs: list[Pair]) -> dict[str, int]:
    """Pairs, customers, positive pairs, customers with a positive, and events per type."""
    positive = [p for p in pairs if p.events]
    events = Counter(e for p in pairs for e in p.events)
    out = {"pairs": len(pairs), "customers": len({p.customer for p in pairs}),
           "positive_pairs": len(positive),
           "positive_customers": len({p.customer for p in positive})}  # fmt: skip
    return out | {f"event:{e}": n for e, n in sorted(events.items())}


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
        "counts": counts(report),
    }
