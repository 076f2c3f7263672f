"""Marketing and credit-outcome fields of a synthetic customer (UCI Bank Marketing vocabulary).

Everything here draws from its own random streams, so the demo bank's accounts and
transactions (drawn from the customer's main stream) do not move when these fields change.
"""

from __future__ import annotations

import math
import random
from typing import Any

Row = dict[str, Any]

# Weights read from ../shared/data/propensity/bank_marketing_train.csv (36,170 rows).
JOBS_WORKING = {
    "blue-collar": 0.217,
    "management": 0.208,
    "technician": 0.167,
    "admin.": 0.115,
    "services": 0.092,
    "self-employed": 0.035,
    "entrepreneur": 0.033,
    "unemployed": 0.029,
    "housemaid": 0.027,
    "unknown": 0.006,
}
JOBS_BY_PROFILE = {  # profile -> extra weight multipliers on the working jobs
    "gig_worker": {"self-employed": 6.0, "services": 2.5, "entrepreneur": 2.0, "management": 0.2},
    "young_professional": {"management": 2.0, "technician": 1.6, "admin.": 1.4, "housemaid": 0.2},
    "saver": {"management": 1.8, "entrepreneur": 1.5, "unemployed": 0.2},
    "debt_heavy": {"blue-collar": 1.6, "services": 1.5, "unemployed": 2.0, "management": 0.4},
}
EDUCATION_BY_JOB = {  # job -> (primary, secondary, tertiary, unknown)
    "management": (0.04, 0.23, 0.70, 0.03),
    "entrepreneur": (0.12, 0.37, 0.46, 0.05),
    "self-employed": (0.08, 0.37, 0.51, 0.04),
    "technician": (0.03, 0.68, 0.26, 0.03),
    "admin.": (0.04, 0.82, 0.12, 0.02),
    "services": (0.10, 0.83, 0.05, 0.02),
    "blue-collar": (0.39, 0.55, 0.02, 0.04),
    "housemaid": (0.50, 0.30, 0.14, 0.06),
    "retired": (0.35, 0.43, 0.16, 0.06),
    "student": (0.03, 0.51, 0.24, 0.22),
    "unemployed": (0.20, 0.53, 0.22, 0.05),
    "unknown": (0.17, 0.24, 0.11, 0.48),
}
EDUCATIONS = ("primary", "secondary", "tertiary", "unknown")
CAMPAIGN = {1: 0.388, 2: 0.276, 3: 0.122, 4: 0.078, 5: 0.039, 6: 0.029, 7: 0.017, 8: 0.012}
PREVIOUS = {1: 0.34, 2: 0.25, 3: 0.14, 4: 0.08, 5: 0.06, 6: 0.04, 7: 0.03, 8: 0.02, 10: 0.04}
POUTCOME = {"failure": 0.59, "other": 0.22, "success": 0.19}
STRESS_MEAN = {  # profile -> mean of the latent financial-stress variable
    "debt_heavy": 1.0,
    "gig_worker": 0.5,
    "young_professional": 0.1,
    "balanced": 0.0,
    "pre_retiree": -0.5,
    "saver": -0.7,
}


def pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    """One key drawn with probability proportional to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def sigmoid(x: float) -> float:
    """The logistic function."""
    return 1.0 / (1.0 + math.exp(-x))


def latent_stress(seed: int, index: int, profile: str) -> float:
    """The customer's hidden financial stress (standard-normal-ish around a profile mean)."""
    return random.Random(f"{seed}:{index}:stress").gauss(STRESS_MEAN[profile], 1.0)


def credit_outcome(seed: int, index: int, stress: float) -> bool:
    """Whether the customer goes 60+ days delinquent within 12 months (about 6% of customers)."""
    rng = random.Random(f"{seed}:{index}:outcome")
    return rng.random() < sigmoid(-3.85 + 1.15 * stress + rng.gauss(0.0, 0.8))


def job_for(rng: random.Random, age: int, profile: str, retired: bool) -> str:
    """A job consistent with age: students young, retirees old (and only when retired)."""
    if retired:
        return "retired"
    if age <= 25 and rng.random() < 0.2:
        return "student"
    if age <= 30 and rng.random() < 0.02:
        return "student"
    weights = dict(JOBS_WORKING)
    for job, factor in JOBS_BY_PROFILE.get(profile, {}).items():
        weights[job] *= factor
    return str(pick(rng, weights))


def campaign_history(rng: random.Random) -> Row:
    """Contacts in the current campaign and the outcome of earlier ones."""
    campaign = int(pick(rng, CAMPAIGN)) if rng.random() < 0.96 else rng.randint(9, 30)
    if rng.random() >= 0.182:
        return {"campaign": campaign, "pdays": -1, "previous": 0, "poutcome": "unknown"}
    return {
        "campaign": campaign,
        "pdays": int(min(850, max(1, rng.lognormvariate(5.3, 0.45)))),
        "previous": int(pick(rng, PREVIOUS)) + (rng.randint(0, 15) if rng.random() < 0.03 else 0),
        "poutcome": str(pick(rng, POUTCOME)),
    }


def marketing_fields(
    seed: int, index: int, age: int, profile: str, stress: float, retired: bool
) -> Row:
    """job, education, in_default, hardship and the campaign history of one customer."""
    rng = random.Random(f"{seed}:{index}:marketing")
    job = job_for(rng, age, profile, retired)
    education = rng.choices(EDUCATIONS, weights=EDUCATION_BY_JOB[job])[0]
    return {
        "job": job,
        "education": education,
        "in_default": rng.random() < sigmoid(-4.9 + 1.3 * stress),
        "hardship": rng.random() < sigmoid(-4.5 + 1.25 * stress),
        **campaign_history(rng),
    }


def marital_at(rng: random.Random, age: int) -> str:
    """Marital status by age, roughly the UCI shares (married 60%, single 28%, divorced 11%)."""
    married, divorced = (0.12, 0.0) if age < 25 else (0.45, 0.04) if age < 31 else (0.68, 0.12)
    if age >= 45:
        married, divorced = 0.70, 0.17
    draw = rng.random()
    return "married" if draw < married else "divorced" if draw < married + divorced else "single"


def nudge_for_stress(
    seed: int, index: int, stress: float, accounts: list[Row], credit: Row
) -> None:
    """Financial stress shows, noisily, in utilisation, delinquencies, inquiries and score."""
    excess = stress - 0.3
    if excess <= 0:
        return
    rng = random.Random(f"{seed}:{index}:stress-signs")
    for account in accounts:
        if account["type"] == "credit_card" and account["credit_limit"]:
            limit = float(account["credit_limit"])
            used = float(account["balance"]) / limit + excess * rng.uniform(0.0, 0.3)
            account["balance"] = round_cents(min(0.98, used) * limit)
    if rng.random() < sigmoid(-2.4 + 1.4 * excess):
        credit["delinquencies_24m"] = int(credit["delinquencies_24m"]) + rng.randint(1, 2)
    if rng.random() < min(0.7, 0.4 * excess):
        credit["inquiries_6m"] = int(credit["inquiries_6m"]) + 1
    drop = max(0, int(rng.gauss(30 * excess, 15)))
    credit["score"] = max(480, int(credit["score"]) - drop)


def round_cents(value: float) -> Any:
    """A money amount rounded to the cent (as the generator's Decimal)."""
    from decimal import Decimal

    return Decimal(str(round(value, 2)))
