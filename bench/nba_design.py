"""Choosing how the ranking weighs life-event propensities, on the replay's design half only.

Variants: the shipped expected value (probability x value, min_propensity 1%) and lift over the
event's base rate (take_up x lift x value) at two take-ups and two minimum lifts. The criterion,
fixed before looking: the most hits in the served list on the design half; a tie goes to the
higher precision of the life-event actions served. The report half is not read here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from advisor.decisions.policy import LifeEventRanking, Policy
from bench.nba_replay import Pair, list_tally, popularity

VARIANTS = {
    "expected_value": LifeEventRanking("expected_value"),
    "lift take_up 0.1 min_lift 1": LifeEventRanking("lift", 0.1, 1.0, 10.0),
    "lift take_up 0.1 min_lift 2": LifeEventRanking("lift", 0.1, 2.0, 10.0),
    "lift take_up 0.2 min_lift 1": LifeEventRanking("lift", 0.2, 1.0, 10.0),
    "lift take_up 0.2 min_lift 2": LifeEventRanking("lift", 0.2, 2.0, 10.0),
}


def precision(tally: dict[str, int], name: str) -> float:
    """Share of the served life-event actions whose event came."""
    return tally.get(f"{name}_served_right", 0) / max(tally.get(f"{name}_served", 0), 1)


def design(policy: Policy, pairs: list[Pair]) -> dict[str, Any]:
    """Every variant's list measures on the design half, and the one the criterion picks."""
    half = [p for p in pairs if p.half == "design"]
    rates = popularity(half)
    rows = {}
    for name, ranking in VARIANTS.items():
        tally = dict(list_tally(dataclasses.replace(policy, life_events=ranking), half, rates))
        rows[name] = tally
    chosen = max(rows, key=lambda n: (rows[n].get("nba_list", 0), precision(rows[n], "nba")))
    return {"rows": rows, "chosen": chosen}


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
    return out
