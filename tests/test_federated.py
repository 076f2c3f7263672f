"""Federated life-event training: a real Flower simulation on Ray (one run shared by the tests:
a few hundred customers, 3 clients, 2 rounds, one client failing in round 2), the holders'
different mixes, the held-out set's disjointness, DP wiring and bad --clients."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.settings import get_settings
from advisor.training.life_events_federated_data import age_skewed_holders, load_panel_rows
from portfolio_context.seed import seed_bank

AS_OF = dt.date(2026, 11, 30)
CUSTOMERS = 300
CLIENTS = 3


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small seeded bank (its own life events, no planting needed at this size)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fed') / 'bank.db'}"
    seed_bank(url, CUSTOMERS, 42, AS_OF)
    return url


@pytest.fixture(scope="module")
def report(bank: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One federated run through the CLI, client 1 raising in round 2."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADVISOR_VAR_DIR", str(tmp_path_factory.mktemp("var")))
        patch.setenv("ADVISOR_FEDERATED_FAIL", "1:2")
        get_settings.cache_clear()
        args = ["train", "life-events", "--federated", "--clients", str(CLIENTS), "--rounds", "2",
                "--database-url", bank, "--json"]  # fmt: skip
        result = CliRunner().invoke(app, args)
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    yield json.loads(result.stdout)


def test_report_has_the_interface_shape(report: dict[str, Any]) -> None:
    assert 0.0 <= report["centralised"]["auc"] <= 1.0
    assert 0.0 <= report["federated"]["auc"] <= 1.0
    assert len(report["clients"]) == CLIENTS
    for client in report["clients"]:
        assert 0.0 <= client["auc"] <= 1.0
        assert client["customers"] > 0 and client["rows"] > 0
    assert report["federated"]["rounds"] == 2 and report["federated"]["seconds"] > 0
    assert set(report["targets"]) >= {"within_0_02_of_centralised", "above_every_holder_alone"}


def test_federated_rounds_change_the_global_model(report: dict[str, Any]) -> None:
    by_round = report["federated"]["auc_by_round"]  # round 0 is the initial weights
    assert len(by_round) == 3
    assert len(set(by_round)) == 3, by_round
    assert report["federated"]["auc"] == by_round[-1]


def test_a_failing_client_does_not_stop_the_round_and_is_reported(
    report: dict[str, Any],
) -> None:
    federated = report["federated"]
    assert federated["failures"] == 1
    assert federated["failures_by_round"] == {"2": 1}
    assert federated["skipped_rounds"] == [] and federated["rounds_aggregated"] == 2
    assert federated["auc_by_round"][2] != federated["auc_by_round"][1]


def test_holders_have_different_mixes(report: dict[str, Any]) -> None:
    ages = [client["median_age"] for client in report["clients"]]
    assert ages == sorted(ages) and ages[-1] - ages[0] >= 10, ages


def test_age_skew_puts_most_of_a_band_with_its_own_holder() -> None:
    ages = np.random.default_rng(1).uniform(20, 70, 3000)
    home = age_skewed_holders(ages, 3)
    assert set(home.tolist()) == {0, 1, 2}
    young, old = ages < np.quantile(ages, 1 / 3), ages >= np.quantile(ages, 2 / 3)
    assert 0.65 < (home[young] == 0).mean() < 0.85
    assert 0.65 < (home[old] == 2).mean() < 0.85
    assert abs(np.median(ages[home == 0]) - np.median(ages[home == 2])) > 15


def test_held_out_customers_are_not_training_customers(bank: str) -> None:
    _, rows, _, split = load_panel_rows(bank, CUSTOMERS, 2)
    train, heldout = set(rows.c[split["train"]].tolist()), set(rows.c[split["test"]].tolist())
    assert train and heldout and not train & heldout


def test_dp_wraps_fedavg_in_flowers_server_side_fixed_clipping() -> None:
    from flwr.serverapp.strategy import DifferentialPrivacyServerSideFixedClipping, FedAvg

    from advisor.training.life_events_federated_flower import Outcome, Plan, _strategy

    plain = _strategy(Plan(clients=3, rounds=1), Outcome())
    assert isinstance(plain, FedAvg)
    private = _strategy(
        Plan(clients=3, rounds=1, noise_multiplier=0.7, clipping_norm=2.0), Outcome()
    )
    assert isinstance(private, DifferentialPrivacyServerSideFixedClipping)
    assert private.noise_multiplier == 0.7 and private.clipping_norm == 2.0


def test_telemetry_is_off_once_the_flower_module_is_imported() -> None:
    import os

    import advisor.training.life_events_federated_flower  # noqa: F401

    assert os.environ["FLWR_TELEMETRY_ENABLED"] == "0"
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"


@pytest.mark.parametrize("clients", ["1", "0", "-2"])
def test_fewer_than_two_clients_exit_2_with_a_clear_message(bank: str, clients: str) -> None:
    args = ["train", "life-events", "--federated", "--clients", clients, "--database-url", bank]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "--clients must be at least 2" in result.output


def test_federated_options_without_federated_exit_2(bank: str, tmp_path: Path) -> None:
    args = ["train", "life-events", "--clients", "3", "--database-url", bank]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "only apply with --federated" in result.output
