"""Offer-response model: campaign-file validation, training, calibration, scoring, CLI."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.predict.calibration import calibrate, sigmoid
from advisor.predict.campaigns import CampaignFileError, feature_names
from advisor.predict.offer_response import OfferResponseScorer, customer_row
from advisor.predict.registry import Registry
from advisor.settings import Settings, get_settings
from advisor.training.offer_response_fit import fit_calibration
from advisor.training.offer_response_train import train_offer_response
from portfolio_context.models import Account, Customer

SOURCE = Settings().shared_data_dir / "propensity" / "bank_marketing_train.csv"
runner = CliRunner()


def _small_file(folder: Path) -> Path:
    """Every 6th row of the campaign file (about 6,000 rows, time order and base rate kept)."""
    if not SOURCE.exists():
        pytest.skip(f"no campaign file at {SOURCE}")
    lines = SOURCE.read_text(encoding="utf-8").splitlines()
    path = folder / "campaigns.csv"
    path.write_text("\n".join(lines[:1] + lines[6::6]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A var dir whose registry holds one offer-response model trained through the CLI."""
    folder = tmp_path_factory.mktemp("offer")
    data = _small_file(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADVISOR_VAR_DIR", str(folder))
        get_settings.cache_clear()
        result = runner.invoke(app, ["train", "offer-response", "--campaigns", str(data)])
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "stratified hold-out: roc_auc" in " ".join(result.output.split())
    yield folder


@pytest.fixture
def cli_env(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI pointed at the trained registry."""
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(var_dir))
    get_settings.cache_clear()
    yield var_dir
    get_settings.cache_clear()


def registry(var_dir: Path) -> Registry:
    """The test registry."""
    return Registry(var_dir / "models" / "registry")


def scorer(var_dir: Path) -> OfferResponseScorer:
    """The promoted model's scorer."""
    loaded = OfferResponseScorer.from_registry(registry(var_dir))
    assert loaded is not None
    return loaded


def rows_of(path: Path) -> list[dict[str, str]]:
    """The data rows of a semicolon-separated file."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def write_rows(path: Path, rows: list[dict[str, str]], drop: tuple[str, ...] = ()) -> Path:
    """Write rows in the campaign format, without the dropped columns."""
    header = [k for k in rows[0] if k not in drop]
    lines = [";".join(header)] + [";".join(r[k] for k in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_registered_model_is_described(var_dir: Path) -> None:
    model = registry(var_dir).promoted("offer-response")
    assert model is not None and model.version == 1
    assert "duration" not in model.meta["features"] and model.meta["excluded"] == ["duration"]
    assert set(model.meta["metrics"]) == {"stratified", "later_time"}
    assert model.meta["metrics"]["stratified"]["roc_auc"] > 0.65
    assert len(model.meta["data_hash"]) == 64
    assert (model.path / "calibration.png").read_bytes()[:4] == b"\x89PNG"
    assert "CC BY 4.0" in model.card and "`duration`" in model.card


BAD_FILES = [
    ("missing column", lambda h, r: (h.replace(";balance", ""), r), "balance"),
    ("bad number", lambda h, r: (h, [r[0], r[1].replace("58;", "abc;", 1)]), "line 3"),
    ("bad target", lambda h, r: (h, [r[0].rsplit(";", 1)[0] + ";maybe", r[1]]), "line 2"),
    ("out of range", lambda h, r: (h, [r[0], "-5" + r[1][r[1].index(";") :]]), "age"),
    ("ragged row", lambda h, r: (h, [r[0] + ";extra", r[1]]), "line 2"),
    ("no rows", lambda h, r: (h, []), "no data rows"),
    ("empty file", lambda h, r: ("", []), "empty"),
    ("one outcome", lambda h, r: (h, [r[0]] * 80), "each outcome"),
    ("later rows one outcome", lambda h, r: (h, [r[1]] * 60 + [r[0]] * 240), "later-time"),
    ("one early yes", lambda h, r: (h, [r[0]] * 239 + [r[1]] * 60 + [r[0]]), "later-time"),
]
ROWS = [
    "30;admin.;single;secondary;no;100;yes;no;cellular;5;may;120;1;-1;0;unknown;no",
    "58;retired;married;primary;no;2143;no;no;unknown;5;may;261;1;-1;0;unknown;yes",
]
HEADER = (
    "age;job;marital;education;default;balance;housing;loan;contact;day;month;duration;"
    "campaign;pdays;previous;poutcome;y"
)


@pytest.mark.parametrize(("case", "mutate", "named"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_campaign_file_is_named_and_keeps_the_promoted_model(
    cli_env: Path, tmp_path: Path, case: str, mutate: object, named: str
) -> None:
    header, rows = mutate(HEADER, ROWS)  # type: ignore[operator]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([header, *rows]) + ("\n" if header else ""), encoding="utf-8")
    with pytest.raises(CampaignFileError, match=named):
        train_offer_response(registry(cli_env), path)
    result = runner.invoke(app, ["train", "offer-response", "--campaigns", str(path)])
    assert result.exit_code == 2 and named in " ".join(result.output.split())
    assert [v.version for v in registry(cli_env).versions("offer-response")] == [1]


def test_unknown_categories_are_allowed(var_dir: Path) -> None:
    row = dict(zip(HEADER.split(";"), ROWS[0].split(";"), strict=True))
    [known, unknown] = scorer(var_dir).score_rows([row, row | {"job": "astronaut"}])
    assert 0 < unknown < 1 and 0 < known < 1


def test_duration_never_changes_a_score(var_dir: Path, tmp_path: Path) -> None:
    rows = rows_of(_small_file(tmp_path))[:300]
    model = scorer(var_dir)
    before = model.score_rows(rows)
    assert model.score_rows([r | {"duration": "0"} for r in rows]) == before
    assert model.score_rows([r | {"duration": "4918"} for r in rows]) == before
    assert model.score_rows([{k: v for k, v in r.items() if k != "duration"} for r in rows]) == (
        before
    )
    assert len(set(before)) > 20  # the scores do vary with the other columns


def test_score_cli_prints_one_json_line_per_row(cli_env: Path, tmp_path: Path) -> None:
    rows = rows_of(_small_file(tmp_path))[:50]
    path = write_rows(tmp_path / "score.csv", rows, drop=("y", "duration"))
    result = runner.invoke(app, ["score", "offer-response", "--campaigns", str(path), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    expected = scorer(cli_env).score_rows(rows)
    assert [line["row"] for line in lines] == list(range(50))
    assert [line["probability"] for line in lines] == pytest.approx(expected, abs=1e-6)


def test_score_cli_without_a_promoted_model_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    row = dict(zip(HEADER.split(";"), ROWS[0].split(";"), strict=True))
    path = write_rows(tmp_path / "s.csv", [row])
    result = runner.invoke(app, ["score", "offer-response", "--campaigns", str(path), "--json"])
    get_settings.cache_clear()
    assert result.exit_code == 2 and "no offer-response model is promoted" in result.output


def test_chosen_calibration_has_the_lowest_validation_brier(var_dir: Path) -> None:
    model = registry(var_dir).promoted("offer-response")
    assert model is not None
    briers, method = model.meta["calibration"]["valid_brier"], model.meta["calibration"]["method"]
    assert briers[method] <= briers["none"]
    assert method == "none" or briers[method] == min(briers["platt"], briers["isotonic"])


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_repairs_an_overconfident_margin(method: str) -> None:
    rng = np.random.default_rng(7)
    true_margin = rng.normal(-2.0, 1.2, 8000)
    outcome = (rng.random(8000) < sigmoid(true_margin)).astype(int)
    skewed = 3.0 * true_margin + 2.0  # overconfident and biased
    spec = fit_calibration(method, skewed[:4000], outcome[:4000])
    held = slice(4000, None)
    calibrated = np.mean((calibrate(skewed[held], spec) - outcome[held]) ** 2)
    raw = np.mean((sigmoid(skewed[held]) - outcome[held]) ** 2)
    assert calibrated < raw * 0.9


def customer(**fields: object) -> Customer:
    """A transient synthetic customer with a mortgage and a savings account."""
    person = Customer(id="C9", name="Test", birth_year=1980, profile="p", income_type="salary")
    for key, value in fields.items():
        setattr(person, key, value)
    person.accounts = [
        Account(id="A1", type="mortgage", name="m", balance=Decimal("200000")),
        Account(id="A2", type="savings", name="s", balance=Decimal("1234.6")),
    ]
    return person


def test_customer_row_maps_fields_and_lists_defaults() -> None:
    row, defaults = customer_row(customer(job="management", in_default=False), dt.date(2026, 12, 7))
    assert row["age"] == "46" and row["job"] == "management" and row["default"] == "no"
    assert row["housing"] == "yes" and row["loan"] == "no" and row["balance"] == "1235"
    assert (row["day"], row["month"], row["contact"]) == ("16", "aug", "cellular")
    assert defaults == ("campaign", "education", "marital", "pdays", "poutcome", "previous")
    assert (row["pdays"], row["poutcome"], row["marital"]) == ("-1", "unknown", "married")


def test_a_customer_scores_the_same_on_any_day_of_the_year(var_dir: Path, bank_url: str) -> None:
    """The campaign's contact date is the schema's reference, not the scoring date."""
    from sqlalchemy import select

    from portfolio_context.db import session_scope

    model = scorer(var_dir)
    with session_scope(bank_url) as session:
        first = session.scalars(select(Customer.id).order_by(Customer.id)).first()
        assert first is not None
        march = model.score_customer(session, first, dt.date(2026, 3, 2))
        november = model.score_customer(session, first, dt.date(2026, 11, 28))
    assert march.probability == november.probability
    assert march.contributions == november.contributions


def test_score_customer_contributions_are_exact(var_dir: Path, bank_url: str) -> None:
    from sqlalchemy import select

    from portfolio_context.db import session_scope

    model = scorer(var_dir)
    with session_scope(bank_url) as session:
        first = session.scalars(select(Customer.id).order_by(Customer.id)).first()
        assert first is not None
        score = model.score_customer(session, first, dt.date(2026, 11, 28))
        row, _ = customer_row(session.get(Customer, first), dt.date(2026, 11, 28))  # type: ignore[arg-type]
    assert score.model == "offer-response" and score.version == 1 and 0 < score.probability < 1
    assert list(score.contributions) == feature_names()
    [margin] = model.margins(model_matrix([row]))
    bias = model.booster.predict(model_matrix([row]), pred_contrib=True)[0][-1]
    assert sum(score.contributions.values()) + bias == pytest.approx(margin, abs=1e-9)
    assert score.probability == pytest.approx(model.score_rows([row])[0])


def model_matrix(rows: list[dict[str, str]]) -> np.ndarray:
    """The encoded feature matrix."""
    from advisor.predict.campaigns import encode

    return encode(rows)
