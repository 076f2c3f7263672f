"""Choosing how the ranking weighs life-event propensities, on the replay's design half only.

Variants: expected value (probability x value, min_propensity 1%), lift over the event's base
rate (take_up x lift x value) at two take-ups and two minimum lifts, and the model's probability
shrunk toward the event's base rate (empirical-Bayes style: model_weight x score + (1 -
model_weight) x base rate, then expected value; weight 1 is expected value, 0 the base rates).
The criterion, fixed before looking: the most hits in the served list on the design half; ties
go to more hits as the first life-event action, then to the higher precision of the life-event
actions served, then to the variant listed first. The report half is not read here.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from advisor.decisions.policy import LifeEventRanking, Policy
from bench.nba_bootstrap import hits_intervals
from bench.nba_replay import Pair, outcomes, popularity

VARIANTS = {
    "expected_value": LifeEventRanking("expected_value"),
    "lift take_up 0.1 min_lift 1": LifeEventRanking("lift", 0.1, 1.0, 10.0),
    "lift take_up 0.1 min_lift 2": LifeEventRanking("lift", 0.1, 2.0, 10.0),
    "lift take_up 0.2 min_lift 1": LifeEventRanking("lift", 0.2, 1.0, 10.0),
    "lift take_up 0.2 min_lift 2": LifeEventRanking("lift", 0.2, 2.0, 10.0),
    **{
        f"shrunk model_weight {w:g}": LifeEventRanking("shrunk", model_weight=w)
        for w in (0.75, 0.5, 0.25, 0.1, 0.0)
    },
}


def precision(tally: dict[str, int], name: str) -> float:
    """Share of the served life-event actions whose event came."""
    return tally.get(f"{name}_served_right", 0) / max(tally.get(f"{name}_served", 0), 1)


def summed(rows: list[tuple[str, Counter[str]]]) -> dict[str, int]:
    """The pairs' measures summed."""
    total: Counter[str] = Counter()
    for _, row in rows:
        total.update(row)
    return dict(total)


def design(policy: Policy, pairs: list[Pair]) -> dict[str, Any]:
    """Every variant's list measures on the design half, and the one the criterion picks."""
    half = [p for p in pairs if p.half == "design"]
    rates = popularity(half)
    rows = {
        name: summed(outcomes(dataclasses.replace(policy, life_events=ranking), half, rates))
        for name, ranking in VARIANTS.items()
    }
    order = list(VARIANTS)

    def key(name: str) -> tuple[int, int, float, int]:
        t = rows[name]
        return (
            t.get("nba_list", 0),
            t.get("nba_first", 0),
            precision(t, "nba"),
            -order.index(name),
        )

    return {"rows": rows, "chosen": max(rows, key=key)}


def report(policy: Policy, pairs: list[Pair], names: list[str]) -> dict[str, Any]:
    """Each named variant on the report half (popularity rates from the design half), with
    bootstrap intervals of hits and of their ratio to popularity's."""
    rates = popularity([p for p in pairs if p.half == "design"])
    half = [p for p in pairs if p.half == "report"]
    out = {}
    for name in names:
        rows = outcomes(dataclasses.replace(policy, life_events=VARIANTS[name]), half, rates)
        out[name] = {"totals": summed(rows), "list": hits_intervals(rows, "list"),
                     "first": hits_intervals(rows, "first")}  # fmt: skip
    return out


def table(found: dict[str, Any]) -> list[str]:
    """The design half's figures as a markdown table."""
    out = [
        "| variant (design half) | hits in list | first life-event action | served life-event "
        "actions | of which right |",
        "|---|---|---|---|---|",
    ]
    for name, t in found["rows"].items():
        mark = " (chosen)" if name == found["chosen"] else ""
        out.append(
            f"| {name}{mark} | {t.get('nba_list', 0)} / {t.get('positives', 0)} | "
            f"{t.get('nba_first', 0)} | {t.get('nba_served', 0)} | "
            f"{t.get('nba_served_right', 0)} ({precision(t, 'nba'):.1%}) |"
        )
    t = next(iter(found["rows"].values()))
    out.append(
        f"| popularity (design-half rates, expected value) | {t.get('popularity_list', 0)} / "
        f"{t.get('positives', 0)} | {t.get('popularity_first', 0)} | "
        f"{t.get('popularity_served', 0)} | {t.get('popularity_served_right', 0)} "
        f"({precision(t, 'popularity'):.1%}) |"
    )
    return out
