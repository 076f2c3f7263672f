"""Model registry: atomic staging, promotion, rollback, failed training keeps the previous."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.predict.registry import Registry, RegistryError, UnknownModel, data_hash
from advisor.settings import get_settings


def _register(reg: Registry, name: str = "offer-response", promote: bool = True) -> int:
    """Register one version with an artefact; returns its number."""
    with reg.stage(name, promote=promote) as stage:
        (stage.path / "model.txt").write_text("weights", encoding="utf-8")
        stage.meta.update(data_hash="abc", metrics={"roc_auc": 0.8}, card="# Card\n")
    return reg.versions(name)[-1].version


def test_staged_version_is_numbered_promoted_and_described(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    assert reg.promoted("offer-response") is None
    assert _register(reg) == 1
    current = reg.promoted("offer-response")
    assert current is not None and current.version == 1
    assert (current.path / "model.txt").read_text(encoding="utf-8") == "weights"
    assert current.meta["metrics"] == {"roc_auc": 0.8} and "card" not in current.meta
    assert current.card == "# Card\n"
    assert json.loads((current.path / "meta.json").read_text())["data_hash"] == "abc"
    assert reg.names() == ["offer-response"]


def test_failed_training_registers_nothing_and_keeps_the_promoted(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    _register(reg)
    with pytest.raises(ValueError), reg.stage("offer-response") as stage:
        (stage.path / "model.txt").write_text("half", encoding="utf-8")
        assert [v.version for v in reg.versions("offer-response")] == [1]  # staged: invisible
        raise ValueError("bad data")
    assert [v.version for v in reg.versions("offer-response")] == [1]
    assert reg.promoted("offer-response").version == 1  # type: ignore[union-attr]
    assert [p.name for p in (tmp_path / "offer-response").iterdir() if "staging" in p.name] == []


def test_unpromoted_stage_leaves_the_pointer(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    _register(reg)
    assert _register(reg, promote=False) == 2
    assert reg.promoted("offer-response").version == 1  # type: ignore[union-attr]


def test_rollback_returns_to_the_previously_promoted_version(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    for _ in range(3):
        _register(reg)
    reg.promote("offer-response", 1)
    reg.promote("offer-response", 3)
    assert reg.rollback("offer-response").version == 1
    assert reg.rollback("offer-response").version == 3
    assert reg.rollback("offer-response").version == 2
    assert reg.rollback("offer-response").version == 1
    with pytest.raises(RegistryError):
        reg.rollback("offer-response")
    assert reg.promoted("offer-response").version == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("operation", "name", "version"),
    [
        ("promote", "offer-response", 9),
        ("promote", "nope", 1),
        ("rollback", "nope", 0),
        ("versions", "../etc", 0),
        ("promote", "Bad Name", 1),
    ],
)
def test_unknown_names_and_versions_are_refused(
    tmp_path: Path, operation: str, name: str, version: int
) -> None:
    reg = Registry(tmp_path)
    _register(reg)
    with pytest.raises(UnknownModel):
        if operation == "promote":
            reg.promote(name, version)
        else:
            getattr(reg, operation)(name)


def test_concurrent_trainers_get_distinct_versions(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    threads = [threading.Thread(target=_register, args=(reg,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [v.version for v in reg.versions("offer-response")] == [1, 2, 3, 4, 5, 6]


def test_data_hash_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"a;b\n1;2\n")
    assert data_hash(path) == data_hash(b"a;b\n1;2\n") == data_hash(str(path))
    assert data_hash(b"") == hashlib.sha256(b"").hexdigest()


@pytest.fixture
def cli_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    """A registry with offer-response v1 (promoted) and v2, the CLI pointed at it."""
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    reg = Registry.from_settings(get_settings())
    _register(reg)
    _register(reg, promote=False)
    yield reg
    get_settings.cache_clear()


def _cli(*args: str) -> tuple[int, str]:
    """Run `advisor models ...`; the exit code and the output with whitespace collapsed."""
    result = CliRunner().invoke(app, ["models", *args])
    return result.exit_code, " ".join(result.output.split())


def test_models_cli_lists_shows_promotes_and_rolls_back(cli_registry: Registry) -> None:
    code, out = _cli("list")
    assert code == 0 and "offer-response" in out and "1, 2" in out
    code, out = _cli("show", "offer-response", "--version", "2")
    assert code == 0 and "v2 (not promoted)" in out and "Card" in out and "abc" in out
    assert "v1 (promoted)" in _cli("show", "offer-response")[1]
    assert _cli("promote", "offer-response", "2")[0] == 0
    assert cli_registry.promoted("offer-response").version == 2  # type: ignore[union-attr]
    code, out = _cli("rollback", "offer-response")
    assert code == 0 and "rolled back to version 1" in out
    assert cli_registry.promoted("offer-response").version == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "credit-risk"), "no model 'credit-risk'"),
        (("show", "offer-response", "--version", "7"), "has no version 7"),
        (("promote", "offer-response", "7"), "has no version 7"),
        (("promote", "life-events", "1"), "no model 'life-events'"),
        (("rollback", "credit-risk"), "no model 'credit-risk'"),
        (("rollback", "offer-response"), "no earlier promoted version"),
    ],
)
def test_models_cli_refuses_unknown_names_and_versions(
    cli_registry: Registry, args: tuple[str, ...], message: str
) -> None:
    code, out = _cli(*args)
    assert code == 2 and message in out


def _broken_credit_model(reg: Registry, promote: bool) -> None:
    """Stage a credit-risk version whose LightGBM file is not a model."""
    with reg.stage("credit-risk", promote=promote) as stage:
        (stage.path / "model.txt").write_text("not a model", encoding="utf-8")
        (stage.path / "calibration.json").write_text("{}", encoding="utf-8")
        stage.meta.update(features=["bureau_score"])


def test_a_credit_model_that_does_not_load_is_never_promoted(cli_registry: Registry) -> None:
    from advisor.training.credit_risk_train import register_model
    from tests.credit_fixtures import synthetic_table

    register_model(cli_registry, synthetic_table(), 0.0)
    with pytest.raises(RegistryError, match=r"does not load.*v1 stays promoted"):
        _broken_credit_model(cli_registry, promote=True)
    assert [v.version for v in cli_registry.versions("credit-risk")] == [1]
    _broken_credit_model(cli_registry, promote=False)  # registered, not served
    code, out = _cli("promote", "credit-risk", "2")
    assert code == 2 and "credit-risk v2 does not load" in out and "v1 stays promoted" in out
    assert cli_registry.promoted("credit-risk").version == 1  # type: ignore[union-attr]
