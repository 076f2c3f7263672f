"""The synthetic bank's simulation: deterministic, chunked at scale, realistic and hard to game."""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sqlalchemy import func, select
from typer.testing import CliRunner

from advisor.cli import app
from portfolio_context import catalog
from portfolio_context.db import session_scope
from portfolio_context.models import Account, BankMeta, Customer, LifeEvent, Transaction
from portfolio_context.seed import seed_bank
from portfolio_context.synth import PROFILES, CustomerRows, CustomerSynth
from portfolio_context.synth_events import Household, history_start, simulate, spec
from portfolio_context.synth_marketing import EDUCATION_BY_JOB, EDUCATIONS

AS_OF = dt.date(2026, 11, 28)
HORIZON = dt.timedelta(days=90)
EVERYDAY = {m for merchants, *_ in catalog.DISCRETIONARY.values() for m in merchants}


@pytest.fixture(scope="module")
def bank() -> list[CustomerRows]:
    """400 customers in memory, home buying boosted to 30%/yr so held-out positives are many."""
    knobs = copy.deepcopy(spec())
    knobs["events"]["home_buying"]["yearly_rate"] = 0.30
    return [CustomerSynth(11, i, AS_OF, knobs).build() for i in range(1, 401)]


def test_identical_inputs_give_identical_customers() -> None:
    first, again = CustomerSynth(42, 7, AS_OF).build(), CustomerSynth(42, 7, AS_OF).build()
    assert first == again
    assert CustomerSynth(43, 7, AS_OF).build().transactions != first.transactions


def _bank_digest(url: str) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    """Row counts per table and every transaction and event, in a stable order."""
    with session_scope(url) as db:
        counts = {
            t.__tablename__: db.scalar(select(func.count()).select_from(t)) or 0
            for t in (Customer, Account, Transaction, LifeEvent)
        }
        txs = db.execute(
            select(
                Transaction.account_id, Transaction.posted, Transaction.amount, Transaction.merchant
            ).order_by(
                Transaction.account_id, Transaction.posted, Transaction.amount, Transaction.merchant
            )
        ).all()
        events = db.execute(select(LifeEvent.customer_id, LifeEvent.event_date)).all()
    return counts, sorted([tuple(r) for r in txs] + [tuple(r) for r in events])


def test_chunked_writes_equal_one_transaction(tmp_path: Path) -> None:
    """Chunks of 37 built by two worker processes write the same bank as one chunk in-process."""
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("whole", "chunked")]
    written = [seed_bank(urls[0], 200, 5, AS_OF, chunk_size=200)]
    written.append(seed_bank(urls[1], 200, 5, AS_OF, chunk_size=37, workers=2))
    assert written[0] == written[1] > 200 * 500
    whole, chunked = _bank_digest(urls[0]), _bank_digest(urls[1])
    assert whole[0] == chunked[0] and whole[0]["customers"] == 200
    assert whole[1] == chunked[1]
    with session_scope(urls[1]) as db:
        assert db.scalar(select(BankMeta.value).where(BankMeta.key == "as_of")) == "2026-11-28"


BASE_RATES = [  # event, expected yearly rate among the eligible (spec), tolerance factor
    ("home_buying", 0.04, 1.5),
    ("marriage", 0.03, 1.5),
    ("new_baby", 0.05, 1.5),
    ("retirement", 0.12, 1.5),
    ("job_change", 0.10, 1.5),
]


@pytest.mark.parametrize(("kind", "yearly", "factor"), BASE_RATES)
def test_yearly_base_rates_are_near_real_ones(kind: str, yearly: float, factor: float) -> None:
    rng, events, exposure = random.Random(3), Counter[str](), Counter[str]()
    for index in range(3000):
        home = Household(
            age=rng.uniform(22, 67),
            marital=rng.choice(["single", "married", "married", "divorced"]),
            renter=rng.random() < 0.5,
            gig=rng.random() < 0.15,
            profile=rng.choice(PROFILES),
            stress=rng.gauss(0, 1),
        )
        story = simulate(random.Random(index), AS_OF, home, spec())
        events.update(e.kind for e in story.events)
        exposure.update(story.exposure)
    rate = events[kind] / (exposure[kind] / 12)
    assert yearly / factor <= rate <= yearly * factor, (kind, rate)


def test_history_is_long_and_events_spread_over_it(bank: list[CustomerRows]) -> None:
    first = min(t["posted"] for r in bank for t in r.transactions)
    assert first == history_start(AS_OF, spec()) and (AS_OF - first).days >= 30 * 30
    halves = Counter(
        (e["event_date"].year, e["event_date"].month > 6) for r in bank for e in r.events
    )
    assert len(halves) >= 6 and max(halves.values()) < 0.35 * sum(halves.values())
    per_customer = Counter(len(r.events) for r in bank)
    assert sum(n for k, n in per_customer.items() if k >= 2) >= 10


def test_household_follows_events(bank: list[CustomerRows]) -> None:
    for rows in bank:
        past = {e["event_type"]: e["event_date"] for e in rows.events if e["event_date"] <= AS_OF}
        if "marriage" in past:
            assert rows.customer["marital"] == "married"
        if "retirement" in past:
            assert rows.customer["job"] == "retired"
        if "home_buying" in past:
            mortgages = [a for a in rows.accounts if a["type"] == "mortgage"]
            assert [a["opened"] for a in mortgages] == [past["home_buying"]]
            assert all("RENT" not in b["payee"] for b in rows.bills)


def test_marketing_fields_use_the_uci_vocabulary(bank: list[CustomerRows]) -> None:
    customers = [r.customer for r in bank]
    assert {c["job"] for c in customers} <= set(EDUCATION_BY_JOB)
    assert {c["education"] for c in customers} <= set(EDUCATIONS)
    assert {c["marital"] for c in customers} == {"married", "single", "divorced"}
    assert {c["poutcome"] for c in customers} == {"unknown", "failure", "other", "success"}
    assert all((c["pdays"] == -1) == (c["previous"] == 0) for c in customers)
    ages = {c["job"]: AS_OF.year - c["birth_year"] for c in customers}
    assert all(AS_OF.year - c["birth_year"] >= 60 for c in customers if c["job"] == "retired")
    assert ages.get("student", 0) <= 30
    assert 0.03 <= np.mean([r.credit["delinquent_12m"] for r in bank]) <= 0.10
    assert 0.005 <= np.mean([c["hardship"] for c in customers]) <= 0.06


def _observables(rows: CustomerRows) -> dict[str, Any]:
    """What a bureau and the bank see (not the latent stress)."""
    card = next(a for a in rows.accounts if a["type"] == "credit_card")
    return {
        "score": rows.credit["score"] / 850,
        "delinquencies": rows.credit["delinquencies_24m"],
        "inquiries": rows.credit["inquiries_6m"],
        "utilisation": float(card["balance"]) / float(card["credit_limit"]),
        "profile=" + rows.customer["profile"]: 1,
    }


def test_delinquency_is_not_a_function_of_observables(bank: list[CustomerRows]) -> None:
    """Latent stress shows in the bureau fields, noisily: learnable, never certain."""
    x = DictVectorizer().fit_transform([_observables(r) for r in bank])
    y = np.array([bool(r.credit["delinquent_12m"]) for r in bank])
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    model = LogisticRegression(max_iter=2000)
    scores = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    auc = roc_auc_score(y, scores)
    assert 0.6 < auc < 0.9, auc


def _month_ends(rows: CustomerRows) -> list[dt.date]:
    """Reference dates: month ends from the seventh month to three months before as-of."""
    first = history_start(AS_OF, spec())
    ends, month = [], first
    while month <= AS_OF - HORIZON:
        month = (month + dt.timedelta(days=32)).replace(day=1)
        if (month - first).days > 180:
            ends.append(month - dt.timedelta(days=1))
    return ends


def _merchant_rows(bank: list[CustomerRows], kind: str, leak: bool) -> tuple[list[Any], ...]:
    """Bag of merchant names in the 3 months before each reference date, the label, the group."""
    bags, labels, groups = [], [], []
    for number, rows in enumerate(bank):
        dates = [e["event_date"] for e in rows.events if e["event_type"] == kind]
        for end in _month_ends(rows):
            label = any(end < d <= end + HORIZON for d in dates)
            bag = {
                t["merchant"]: 1 for t in rows.transactions if end - HORIZON < t["posted"] <= end
            }
            if leak and label:  # what the old generator did: a merchant naming the event
                bag[catalog.LIFE_EVENT_PRECURSORS[kind][0][0]] = 1
            bags.append(bag)
            labels.append(label)
            groups.append(number % 2)
    return bags, labels, groups


def _merchant_model_auc(bank: list[CustomerRows], kind: str, leak: bool = False) -> float:
    """Held-out ROC-AUC of logistic regression on merchant names alone (split by customer)."""
    bags, labels, groups = _merchant_rows(bank, kind, leak)
    x = DictVectorizer().fit_transform(bags)
    y, held_out = np.array(labels), np.array(groups) == 1
    model = LogisticRegression(max_iter=3000, C=0.5).fit(x[~held_out], y[~held_out])
    assert y[held_out].sum() >= 20  # enough held-out positives for the AUC to mean something
    return float(roc_auc_score(y[held_out], model.predict_proba(x[held_out])[:, 1]))


def test_merchant_names_alone_do_not_give_home_buying_away(bank: list[CustomerRows]) -> None:
    auc = _merchant_model_auc(bank, "home_buying")
    assert 0.55 < auc < 0.95, auc


def test_the_hardness_check_can_fail(bank: list[CustomerRows]) -> None:
    """With one announcing merchant name (the old generator), the same model scores perfectly."""
    assert _merchant_model_auc(bank, "home_buying", leak=True) >= 0.95


def test_precursor_patterns_also_occur_without_events(bank: list[CustomerRows]) -> None:
    quiet = [r for r in bank if not r.events]
    assert len(quiet) >= 100
    for kind in spec()["decoys"]:
        pool = set(spec()["kinds"][kind]["merchants"] + spec()["kinds"][kind]["online"]) - EVERYDAY
        if not pool - {"TRANSFER TO SAVINGS"}:
            continue
        showing = sum(any(t["merchant"] in pool for t in r.transactions) for r in quiet)
        assert showing >= 0.03 * len(quiet), (kind, showing)


def test_some_events_have_no_precursors(bank: list[CustomerRows]) -> None:
    events = [e for r in bank for e in r.events]
    silent = sum(1 for e in events if not e["precursors"])
    assert 0.1 * len(events) <= silent <= 0.7 * len(events)


@pytest.mark.parametrize("url", ["nonsense", "sqlite:////proc/no-such-dir/bank.db"])
def test_seed_command_rejects_a_bad_database_url(url: str) -> None:
    result = CliRunner().invoke(app, ["seed", "--customers", "1", "--database-url", url])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
