"""Life-event models: no leakage, calibration, scores in [0, 1], registry round trip, bad data."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from advisor.cli import app
from advisor.predict.life_event_calibration import calibrate
from advisor.predict.life_event_features import EVENTS, Rows, engineered, month_end
from advisor.predict.life_event_panel import load_panel
from advisor.predict.life_events import LifeEventScorer
from advisor.predict.registry import Registry
from advisor.settings import get_settings
from advisor.training.life_events_data import Dataset, build_dataset, label_rows
from advisor.training.life_events_fit import fit_calibration
from advisor.training.life_events_train import MODEL_NAME, train_life_events
from portfolio_context.db import session_scope
from portfolio_context.models import Account, LifeEvent, Transaction
from portfolio_context.seed import seed_bank

AS_OF = dt.date(2026, 11, 30)
CUSTOMERS = 160


def _plant_events(url: str) -> None:
    """Extra events (with a noisy precursor payment) so every event has training positives."""
    rng = random.Random(5)
    with session_scope(url) as session:
        checking = session.execute(
            select(Account.customer_id, Account.id).where(Account.type == "checking")
        ).all()
        for customer_id, account_id in [*checking, *checking]:
            if rng.random() < 0.9:
                day = AS_OF - dt.timedelta(days=rng.randint(130, 700))
                event = rng.choice(EVENTS)
                session.execute(insert(LifeEvent), [_event(customer_id, event, day)])
                before = day - dt.timedelta(days=rng.randint(20, 50))
                session.execute(insert(Transaction), [_payment(account_id, before)])


def _event(customer_id: str, event: str, day: dt.date) -> dict[str, Any]:
    return {"customer_id": customer_id, "event_type": event, "event_date": day, "precursors": ""}


def _payment(account_id: str, day: dt.date) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "posted": day,
        "amount": -900,
        "merchant": "PLANNING SERVICES",
        "category": "Fees",
        "memo": "",
    }


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny seeded bank with planted events."""
    url = f"sqlite:///{tmp_path_factory.mktemp('le') / 'bank.db'}"
    seed_bank(url, CUSTOMERS, 42, AS_OF)
    _plant_events(url)
    return url


@pytest.fixture(scope="module")
def dataset(bank: str) -> Dataset:
    with session_scope(bank) as session:
        return build_dataset(session)


@pytest.fixture(scope="module")
def trained(bank: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Registry, dict[str, Any]]:
    """One training run shared by the tests (a few seconds on the tiny bank)."""
    registry = Registry(tmp_path_factory.mktemp("registry"))
    return registry, train_life_events(bank, registry)


def test_splits_are_customer_disjoint_and_later_window_is_later(dataset: Dataset) -> None:
    owners = {name: set(dataset.rows.c[mask].tolist()) for name, mask in dataset.split.items()}
    assert owners["train"] and owners["calibration"] and owners["test"]
    assert not owners["train"] & owners["test"]
    assert not owners["train"] & owners["calibration"]
    assert not owners["calibration"] & owners["test"]
    later_from = dataset.rows.r[dataset.split["later"]].min()
    earlier = dataset.split["train"] | dataset.split["calibration"] | dataset.split["test"]
    assert (dataset.rows.r[earlier] + 3 <= later_from).all()


def test_features_only_see_months_up_to_the_reference(bank: str, dataset: Dataset) -> None:
    """Features from the whole history equal those from a bank cut at the reference month."""
    picks = np.flatnonzero(dataset.split["test"])[:40:7]
    full, _ = engineered(dataset.panel, Rows(dataset.rows.c[picks], dataset.rows.r[picks]))
    for row, i in enumerate(picks):
        customer = dataset.panel.customers[dataset.rows.c[i]]
        ref = dataset.panel.months[dataset.rows.r[i]]
        with session_scope(bank) as session:
            cut = load_panel(session, month_end(ref), dataset.panel.spec, [customer])
        alone, _ = engineered(cut, Rows(np.array([0]), np.array([len(cut.months) - 1])))
        np.testing.assert_allclose(alone[0], full[row], rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize(
    ("event_month", "ref", "label"),
    [(10, 10, 0.0), (11, 10, 1.0), (13, 10, 1.0), (14, 10, 0.0), (9, 10, 0.0)],
)
def test_label_is_the_event_within_three_months_after_the_reference(
    event_month: int, ref: int, label: float
) -> None:
    events = pd.DataFrame({"c": [0], "m": [event_month], "k": [EVENTS.index("marriage")]})
    labels = label_rows(Rows(np.array([0]), np.array([ref])), events)
    assert labels[0, EVENTS.index("marriage")] == label
    assert labels[0, EVENTS.index("job_change")] == 0.0


def test_rows_after_a_retirement_do_not_count_for_retirement() -> None:
    events = pd.DataFrame({"c": [0], "m": [5], "k": [EVENTS.index("retirement")]})
    labels = label_rows(Rows(np.array([0, 0, 0]), np.array([3, 5, 8])), events)
    retirement = labels[:, EVENTS.index("retirement")]
    assert retirement[0] == 1.0 and np.isnan(retirement[1:]).all()
    assert not np.isnan(labels[:, EVENTS.index("home_buying")]).any()


def test_calibration_record_names_the_chosen_map_and_a_sane_held_out_brier(
    trained: tuple[Registry, dict[str, Any]],
) -> None:
    meta = trained[1]
    for event in EVENTS:
        chosen = meta["chosen"][event]
        record = meta["calibration"][f"{event}/{chosen}"]
        assert record["cv_brier"][record["method"]] == min(record["cv_brier"].values())
        held_out = meta["metrics"][event]["test/gbm"]["brier"]
        assert 0.0 <= held_out <= 0.25


def test_calibration_strictly_lowers_brier_of_an_overconfident_score() -> None:
    rng = np.random.default_rng(3)
    true_logit = rng.normal(-2.0, 1.0, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-true_logit))).astype(float)
    overconfident = 3.0 * true_logit + 2.0  # far too sure, and biased upwards
    fitted = fit_calibration(overconfident, y, np.arange(4000))
    assert fitted["method"] != "identity"
    assert fitted["cv_brier"][fitted["method"]] < 0.9 * fitted["cv_brier"]["identity"]
    fresh = rng.normal(-2.0, 1.0, 4000)
    y_fresh = (rng.random(4000) < 1 / (1 + np.exp(-fresh))).astype(float)
    raw = 3.0 * fresh + 2.0
    brier = {m: float(np.mean((calibrate(p, raw) - y_fresh) ** 2))
             for m, p in (("chosen", fitted), ("identity", {"method": "identity"}))}  # fmt: skip
    assert brier["chosen"] < 0.9 * brier["identity"]


def test_scores_are_probabilities_and_survive_the_registry(
    bank: str, trained: tuple[Registry, dict[str, Any]]
) -> None:
    registry, meta = trained
    scorer = LifeEventScorer.from_registry(registry)
    assert scorer is not None and scorer.version.version == meta["version"]
    assert (scorer.version.path / "calibration.png").stat().st_size > 1000
    assert "life-events" in scorer.version.card
    with session_scope(bank) as session:
        for customer in ("C0001", "C0002", "C0003"):
            scores = scorer.score_customer(session, customer, AS_OF)
            assert set(scores) == set(EVENTS)
            for event, score in scores.items():
                assert 0.0 <= score.probability <= 1.0
                assert score.model == MODEL_NAME and score.version == meta["version"]
                raw = np.array([sum(score.contributions.values())])
                params = meta["calibration"][f"{event}/{meta['chosen'][event]}"]
                assert abs(float(calibrate(params, raw)[0]) - score.probability) < 1e-9


def test_nothing_registered_means_no_scorer(tmp_path: Path) -> None:
    assert LifeEventScorer.from_registry(Registry(tmp_path)) is None


@pytest.fixture
def cli_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_bad_data_exits_2_and_keeps_the_previous_version(
    cli_var: Path, trained: tuple[Registry, dict[str, Any]], tmp_path: Path
) -> None:
    registry = Registry(cli_var / "models" / "registry")
    source = trained[0].promoted(MODEL_NAME)
    assert source is not None
    with registry.stage(MODEL_NAME) as stage:
        stage.meta.update(source.meta)
    before = registry.promoted(MODEL_NAME)
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    seed_bank(empty, 3, 42, AS_OF)
    for url in (empty, f"sqlite:///{tmp_path / 'nothing.db'}"):
        result = CliRunner().invoke(app, ["train", "life-events", "--database-url", url])
        assert result.exit_code == 2, result.output
        assert "previous version" in result.output
    after = registry.promoted(MODEL_NAME)
    assert before is not None and after is not None and after.version == before.version
    assert len(registry.versions(MODEL_NAME)) == 1


def test_a_credit_events_score_does_not_depend_on_age(
    bank: str, trained: tuple[Registry, dict[str, Any]]
) -> None:
    """ECOA: home buying drives a mortgage suggestion, so its score may not read age."""
    from sqlalchemy import update

    from advisor.predict.life_event_features import CREDIT_EVENTS
    from portfolio_context.models import Customer

    registry, meta = trained
    scorer = LifeEventScorer.from_registry(registry)
    assert scorer is not None and not scorer.withheld
    assert all(meta["chosen"][event] == "gbm" for event in CREDIT_EVENTS)

    def scores(birth_year: int) -> tuple[dict[str, float], float]:
        """The customer's scores and the age feature the model saw, born in `birth_year`."""
        with session_scope(bank) as session:
            change = update(Customer).where(Customer.id == "C0001")
            kept = session.scalar(select(Customer.birth_year).where(Customer.id == "C0001"))
            session.execute(change.values(birth_year=birth_year))
            found = scorer.score_customer(session, "C0001", AS_OF)
            panel = load_panel(session, AS_OF, scorer.spec, ["C0001"])
            session.execute(change.values(birth_year=kept))
        x, names = engineered(panel, Rows(np.array([0]), np.array([len(panel.months) - 1])))
        return {e: s.probability for e, s in found.items()}, float(x[0, names.index("age")])

    (young, young_age), (old, old_age) = scores(2000), scores(1955)
    assert young_age != old_age  # the model was given a different age
    assert all(young[e] == old[e] for e in CREDIT_EVENTS)


def test_a_version_whose_credit_event_reads_age_gives_no_score_for_it(
    trained: tuple[Registry, dict[str, Any]],
) -> None:
    import lightgbm as lgb

    registry, meta = trained
    scorer = LifeEventScorer.from_registry(registry)
    assert scorer is not None
    names = meta["features"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(names)))
    y = (x[:, names.index("age")] > 0).astype(float)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1}
    scorer.boosters["home_buying"] = lgb.train(params, lgb.Dataset(x, y, feature_name=names), 5)
    assert not scorer.credit_safe("home_buying")
    scorer.chosen = {**scorer.chosen, "home_buying": "ensemble"}
    assert not scorer.credit_safe("home_buying")
