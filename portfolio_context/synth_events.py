"""When life events happen to a synthetic customer: monthly hazards at realistic yearly rates.

Each month of the window, every event the customer is eligible for (a renter can buy a home,
an unmarried adult can marry, ...) happens with its yearly base rate / 12, drifting over the
window and shifted by age, profile and financial stress. Several events per customer are
possible; the household (marital status, renting, retired) follows them.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from portfolio_context.dates import month_starts

SPEC_PATH = Path(__file__).with_name("synth_events.yaml")
EVENT_TYPES = ("home_buying", "marriage", "new_baby", "retirement", "job_change")
HOME_RATE_BY_PROFILE = {
    "debt_heavy": 0.4,
    "gig_worker": 0.6,
    "saver": 1.4,
    "young_professional": 1.3,
}


Knobs = dict[str, Any]


@lru_cache(maxsize=1)
def spec() -> Knobs:
    """The simulation's default knobs (synth_events.yaml); callers may pass a modified copy."""
    loaded: Knobs = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def history_start(as_of: dt.date, knobs: Knobs) -> dt.date:
    """First day of the history window: `history_months` whole months before the as-of month."""
    months = int(knobs["history_months"])
    index = as_of.year * 12 + as_of.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def drift(pair: list[float], t: float) -> float:
    """A knob's value at position t in [0, 1] of the window (linear from early to late)."""
    return pair[0] + (pair[1] - pair[0]) * min(1.0, max(0.0, t))


@dataclass(frozen=True)
class Event:
    """One life event on a date (may lie after the as-of date, up to `future_days`)."""

    kind: str
    day: dt.date


@dataclass
class Household:
    """The customer's situation as events happen."""

    age: float  # at the as-of date
    marital: str
    renter: bool
    gig: bool
    profile: str
    stress: float
    retired: bool = False
    last: dict[str, dt.date] = field(default_factory=dict)


@dataclass
class LifeStory:
    """The simulated events, the months each event was possible (exposure) and the end state."""

    events: list[Event]
    exposure: dict[str, int]
    household: Household


def _eligible(kind: str, home: Household, age: float, month: dt.date) -> bool:
    """Whether the event can happen to this household in this month."""
    since = home.last.get(kind)
    recent = since is not None and (month - since).days < {"new_baby": 420}.get(kind, 270)
    rules = {
        "home_buying": home.renter,
        "marriage": home.marital != "married" and 20 <= age <= 60,
        "new_baby": 22 <= age <= 40 and not recent,
        "retirement": 60 <= age <= 67 and not home.retired,
        "job_change": not home.retired and age < 67 and not recent,
    }
    return rules[kind]


def _modifier(kind: str, home: Household, age: float) -> float:
    """Age, profile and stress shifts around the base rate (averaging near 1)."""
    if kind == "home_buying":
        return HOME_RATE_BY_PROFILE.get(home.profile, 1.0) * math.exp(-0.3 * home.stress)
    if kind == "marriage":
        return 1.6 if 24 <= age <= 38 else 0.5
    if kind == "new_baby":
        return 1.6 if home.marital == "married" else 0.4
    if kind == "job_change":
        young = 1.5 if age < 30 else 0.5 if age > 55 else 1.0
        return young * (0.5 if home.gig else 1.0) * min(2.0, max(0.5, 1 + 0.2 * home.stress))
    return 1.0


def _happen(home: Household, event: Event) -> None:
    """Update the household after an event."""
    home.last[event.kind] = event.day
    if event.kind == "marriage":
        home.marital = "married"
    elif event.kind == "home_buying":
        home.renter = False
    elif event.kind == "retirement":
        home.retired = True


def simulate(rng: random.Random, as_of: dt.date, home: Household, knobs: Knobs) -> LifeStory:
    """Walk the window month by month and draw each eligible event at its drifting rate."""
    start = history_start(as_of, knobs)
    end = as_of + dt.timedelta(days=int(knobs["future_days"]))
    span = max(1, (as_of - start).days)
    events: list[Event] = []
    exposure = dict.fromkeys(EVENT_TYPES, 0)
    for month in month_starts(start, end):
        t = (month - start).days / span
        age = home.age - (as_of - month).days / 365.25
        for kind in EVENT_TYPES:
            if not _eligible(kind, home, age, month):
                continue
            exposure[kind] += 1
            event = knobs["events"][kind]
            rate = event["yearly_rate"] / 12 * drift(event["rate_drift"], t)
            if rng.random() < rate * _modifier(kind, home, age):
                day = month + dt.timedelta(days=rng.randint(0, 27))
                if day <= end:
                    events.append(Event(kind, day))
                    _happen(home, events[-1])
    return LifeStory(events, exposure, home)
