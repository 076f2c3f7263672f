"""Model monitoring: PSI and calibration maths, the reference training stores, alarms on a
shifted population, older versions without a reference, the CLI's exit codes and the
scheduled run's record and /metrics gauge."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from advisor.api.app import create_app
from advisor.cli import app as cli_app
from advisor.ops.current import Current
from advisor.ops.drift import expected_calibration_error, histogram, psi, shares
from advisor.ops.metrics import OpsMetrics
from advisor.ops.monitor import NO_REFERENCE, compare, measure, run_once, schedule
from advisor.predict.credit_features import FEATURES
from advisor.predict.registry import ModelVersion, Registry
from advisor.settings import Settings, get_settings
from advisor.training.credit_risk_train import register_model
from portfolio_context.db import session_scope
from portfolio_context.models import CreditProfile
from tests import fakes
from tests.conftest import bearer, make_settings
from tests.credit_fixtures import prepare_bank, synthetic_table

runner = CliRunner()


@pytest.fixture(scope="module")
def credit_model(tmp_path_factory: pytest.TempPathFactory) -> ModelVersion:
    """A credit-risk model trained on a synthetic table (its reference is stored)."""
    var = tmp_path_factory.mktemp("monitor")
    return register_model(Registry(var / "models" / "registry"), synthetic_table(), 0.0)


@pytest.fixture
def bank(tmp_path: Path, credit_model: ModelVersion) -> Settings:
    """A tiny bank whose registry holds the credit-risk model."""
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    prepare_bank(url)
    registry = Registry(tmp_path / "models" / "registry")
    with registry.stage("credit-risk") as stage:
        for part in credit_model.path.iterdir():
            if part.name not in ("meta.json", "card.md"):
                (stage.path / part.name).write_bytes(part.read_bytes())
        stage.meta.update(credit_model.meta)
    return make_settings(tmp_path, url)


def drawn(seed: int, model: ModelVersion, shift: dict[str, float] | None = None) -> Current:
    """Fresh synthetic customers scored by the model, some features shifted."""
    from advisor.predict.credit_risk import CreditRiskScorer

    table = synthetic_table(1500, seed)
    rows = table.rows.copy()
    for name, by in (shift or {}).items():
        rows[:, FEATURES.index(name)] += by
    scorer = CreditRiskScorer.from_version(model)
    margin = scorer.booster.predict(rows, raw_score=True)
    logit = scorer.calibration.slope * margin + scorer.calibration.intercept
    return Current(rows, list(FEATURES), 1 / (1 + np.exp(-logit)), table.labels.astype(float))


def test_psi_is_zero_for_the_same_population_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    before, after = rng.normal(0, 1, 5000), rng.normal(0, 1, 5000)
    ref = histogram(before)
    assert psi(ref["shares"], shares(after, ref["edges"])) < 0.02
    assert psi(ref["shares"], shares(after + 1.0, ref["edges"])) > 0.2


def test_missing_values_have_their_own_bin() -> None:
    assert shares(np.array([1.0, np.nan, 3.0, np.nan]), [2.0]) == [0.25, 0.25, 0.5]


def test_ece_is_small_when_calibrated_and_large_when_not() -> None:
    rng = np.random.default_rng(2)
    probs = rng.uniform(0, 1, 20000)
    labels = (rng.uniform(0, 1, 20000) < probs).astype(float)
    assert expected_calibration_error(probs, labels) < 0.02
    assert expected_calibration_error(np.clip(probs + 0.3, 0, 1), labels) > 0.2


def test_training_stores_the_reference(credit_model: ModelVersion) -> None:
    reference = credit_model.meta["monitoring"]
    assert set(reference["features"]) == set(FEATURES)
    assert {"ece", "brier", "mean_predicted"} <= set(reference["calibration"])
    assert all(abs(sum(h["shares"]) - 1) < 1e-9 for h in reference["features"].values())


def test_same_population_raises_no_alarm(credit_model: ModelVersion) -> None:
    result = measure_on(credit_model, drawn(11, credit_model))
    assert not result.alarm, result.alarms
    assert max(result.features.values()) < 0.1
    assert abs(result.calibration["ece_drift"]) < 0.05


def test_a_shifted_feature_alarms_by_name(credit_model: ModelVersion) -> None:
    result = measure_on(credit_model, drawn(11, credit_model, {"bureau_score": -120.0}))
    assert result.alarm and "bureau_score" in result.alarms
    assert "card_utilization" not in result.alarms


def test_a_miscalibrated_population_alarms_on_calibration(credit_model: ModelVersion) -> None:
    now = drawn(11, credit_model)
    flipped = Current(now.features, now.names, now.probs, 1.0 - now.labels)  # type: ignore[operator]
    result = measure_on(credit_model, flipped)
    assert "calibration" in result.alarms and result.calibration["ece_drift"] > 0.05


def measure_on(model: ModelVersion, now: Current) -> Any:
    """Compare a model's reference with given current data."""
    from advisor.ops.monitor import ModelDrift

    result = ModelDrift(model.name, model.version)
    compare(result, model.meta["monitoring"], now, 0.2)
    return result


def test_a_version_without_a_reference_says_so(bank: Settings) -> None:
    registry = Registry.from_settings(bank)
    with registry.stage("credit-risk") as stage:
        current = registry.promoted("credit-risk")
        assert current is not None
        for part in current.path.iterdir():
            if part.name not in ("meta.json", "card.md"):
                (stage.path / part.name).write_bytes(part.read_bytes())
        stage.meta.update({k: v for k, v in current.meta.items() if k != "monitoring"})
    old = registry.promoted("credit-risk")
    assert old is not None
    result = measure(bank, old, 0.2)
    assert result.note == NO_REFERENCE and not result.alarm
    code, report = cli(bank, "--json")
    assert code == 0 and report["models"][0]["note"] == NO_REFERENCE


def cli(settings: Settings, *args: str) -> tuple[int, dict[str, Any]]:
    """Run `advisor models monitor` on the settings' bank and registry."""
    env = {
        "ADVISOR_DATABASE_URL": settings.resolved_database_url,
        "ADVISOR_VAR_DIR": str(settings.var_dir),
    }
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli_app, ["models", "monitor", *args], env=env)
    finally:
        get_settings.cache_clear()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output) if "--json" in args else {}


def test_cli_reports_each_feature_and_exits_1_on_an_alarm(bank: Settings) -> None:
    with session_scope(bank.resolved_database_url) as db:  # every customer's file collapses
        db.execute(update(CreditProfile).values(score=420, inquiries_6m=9))
    code, report = cli(bank, "--json", "--threshold", "0.2")
    (model,) = report["models"]
    assert code == 1 and report["alarm"] and model["alarm"]
    assert set(model["features"]) == set(FEATURES) and "bureau_score" in model["alarms"]
    assert model["customers"] == 8 and "ece" in model["calibration"]["current"]
    relaxed, _ = cli(bank, "--threshold", "1000000")
    assert relaxed == (1 if model["calibration"].get("ece_drift", 0) >= 0.05 else 0)


def test_cli_prints_a_table_per_model(bank: Settings) -> None:
    env = {
        "ADVISOR_DATABASE_URL": bank.resolved_database_url,
        "ADVISOR_VAR_DIR": str(bank.var_dir),
        "COLUMNS": "200",
    }
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli_app, ["models", "monitor", "--threshold", "0"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output  # a threshold of 0: every feature alarms
    assert "credit-risk v1 (8 customers) ALARM" in result.output
    for name in (*FEATURES, "(score)", "calibration: ECE"):
        assert name in result.output


def test_cli_refuses_a_negative_threshold(bank: Settings) -> None:
    result = runner.invoke(cli_app, ["models", "monitor", "--threshold", "-1"])
    assert result.exit_code == 2


def test_a_scheduled_run_records_and_sets_the_alarm_gauge(bank: Settings) -> None:
    metrics = OpsMetrics()
    report = run_once(bank, metrics)
    runs = (bank.var_dir / "monitoring" / "runs.jsonl").read_text().splitlines()
    assert json.loads(runs[-1])["models"][0]["model"] == "credit-risk"
    alarm = report["models"][0]["alarm"]
    text = metrics.render().decode()
    assert f'advisor_model_drift_alarm{{model="credit-risk"}} {float(alarm)}' in text
    assert schedule(bank, metrics) is None  # off by default


@pytest.fixture
def scheduled(bank: Settings) -> Iterator[TestClient]:
    """The app with the monitor every 60 s (the first run at start)."""
    timed = bank.model_copy(update={"monitor_interval_s": 60.0})
    with TestClient(create_app(timed, backend=fakes.FakeBackend())) as client:
        yield client


def test_the_server_runs_the_monitor_and_exposes_the_alarm(
    scheduled: TestClient, bank: Settings
) -> None:
    ops = bearer(bank, "ops", scope="ops")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = scheduled.get("/metrics", headers=ops).text
        if "advisor_model_drift_alarm{" in text:
            break
        time.sleep(0.2)
    assert 'advisor_model_drift_alarm{model="credit-risk"}' in text
    assert (bank.var_dir / "monitoring" / "runs.jsonl").exists()


@pytest.fixture(scope="module")
def life_bank(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The tiny seeded bank of tests/test_life_events.py with a life-events model trained on it."""
    from advisor.training.life_events_train import train_life_events
    from portfolio_context.seed import seed_bank
    from tests.test_life_events import AS_OF, CUSTOMERS, _plant_events

    var = tmp_path_factory.mktemp("life")
    url = f"sqlite:///{var / 'bank.db'}"
    seed_bank(url, CUSTOMERS, 42, AS_OF)
    _plant_events(url)
    train_life_events(url, Registry(var / "models" / "registry"))
    return make_settings(var, url)


def test_life_events_training_stores_a_reference_per_event(life_bank: Settings) -> None:
    from advisor.predict.life_event_features import EVENTS

    model = Registry.from_settings(life_bank).promoted("life-events")
    assert model is not None
    reference = model.meta["monitoring"]
    assert set(reference["features"]) == set(model.meta["features"])
    assert set(reference["events"]) == set(EVENTS)
    for event in reference["events"].values():
        assert abs(sum(event["score"]["shares"]) - 1) < 1e-9
        assert {"ece", "brier", "mean_predicted"} <= set(event["calibration"])


def test_monitor_measures_life_events_per_feature_and_event(life_bank: Settings) -> None:
    from advisor.predict.life_event_features import EVENTS

    code, report = cli(life_bank, "--json", "--threshold", "0.2")
    (model,) = report["models"]
    assert model["model"] == "life-events" and model["note"] is None
    registered = Registry.from_settings(life_bank).promoted("life-events")
    assert registered is not None
    assert set(model["features"]) == set(registered.meta["features"])
    assert set(model["events"]) == set(EVENTS) and model["customers"] == 160
    assert set(model["calibration"]) == set(EVENTS)
    assert "age" not in model["alarms"], model["features"]["age"]
    assert code == (1 if model["alarm"] else 0)


def test_an_aged_population_alarms_on_life_events(life_bank: Settings, tmp_path: Path) -> None:
    from portfolio_context.models import Customer

    source = Path(life_bank.resolved_database_url.removeprefix("sqlite:///"))
    (tmp_path / "bank.db").write_bytes(source.read_bytes())
    shifted = life_bank.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'bank.db'}"})
    with session_scope(shifted.resolved_database_url) as db:  # everyone 30 years older
        db.execute(update(Customer).values(birth_year=Customer.birth_year - 30))
    registered = Registry.from_settings(life_bank).promoted("life-events")
    assert registered is not None
    result = measure(shifted, registered, 0.2)
    assert result.alarm and "age" in result.alarms and result.features["age"] >= 0.2
    assert result.note is None


def test_life_event_monitor_scores_are_the_served_scores(life_bank: Settings) -> None:
    from advisor.ops.current import life_events
    from advisor.predict.life_event_features import EVENTS
    from advisor.predict.life_events import LifeEventScorer
    from portfolio_context.models import Customer
    from portfolio_context.view import bank_as_of

    model = Registry.from_settings(life_bank).promoted("life-events")
    assert model is not None
    scorer = LifeEventScorer(model)
    with session_scope(life_bank.resolved_database_url) as db:
        now = life_events(db, model)
        ids = sorted(db.scalars(select(Customer.id)))
        for index in (0, 57, 159):
            served = scorer.score_customer(db, ids[index], bank_as_of(db))
            for k, event in enumerate(EVENTS):
                if event in served:
                    assert now.probs[index, k] == pytest.approx(served[event].probability)
