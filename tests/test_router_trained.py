"""A small router trained once per session: known utterances, `advisor route --json` and
`POST /v1/route` (incl. bad input, and 503 without a trained model)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from advisor.api.app import create_app
from advisor.cli import app as cli_app
from advisor.errors import InvalidInput
from advisor.routing.model import RouterModelError
from advisor.routing.router import Router
from advisor.settings import Settings, get_settings
from tests import fakes
from tests.conftest import bearer, make_settings

INTENTS = Settings().shared_data_dir / "intents"
pytestmark = pytest.mark.skipif(not INTENTS.is_dir(), reason="shared intent data not present")
PER_INTENT = 30  # a small model: about 20 s to fit on 2 cores


@pytest.fixture(scope="session")
def router_dir(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A small router (30 examples per intent), MiniLM vectors cached between runs."""
    from advisor.training.router_train import train_router

    out = tmp_path_factory.mktemp("router")
    shared = Settings().var_dir / "cache" / "router"  # filled by `make router`
    cache = shared if shared.is_dir() else Path(request.config.cache.mkdir("advisor-router"))  # type: ignore[union-attr]
    train_router(Settings(var_dir=out), out_dir=out, per_intent=PER_INTENT, cache_dir=cache)
    return out


@pytest.fixture(scope="session")
def router(router_dir: Path) -> Router:
    """The small router, loaded once."""
    return Router.from_settings(Settings(router_model_dir=router_dir))


KNOWN = [
    ("my card still hasn't arrived", {"card_arrival"}, "servicing"),
    ("why was I charged a fee for topping up?",
     {"top_up_by_card_charge", "top_up_by_bank_transfer_charge", "extra_charge_on_statement"},
     "servicing"),
    ("what's the capital of Peru?", {"out_of_scope"}, "out_of_scope"),
    ("what's my checking balance", {"balance"}, "own_money"),
    ("I want to talk to a real person", {"handoff"}, "handoff"),
    ("hello there", {"greeting"}, "conversation"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "intents", "family"), KNOWN)
def test_known_utterances(router: Router, text: str, intents: set[str], family: str) -> None:
    routed = router.route(text)
    assert routed.intent in intents and routed.family == family
    assert 0.0 < routed.confidence <= 1.0


def test_a_precomputed_embedding_gives_the_same_route(router: Router) -> None:
    from retrieval.embeddings import shared_embedder

    text = "transfer $500 from checking to savings"
    vector = shared_embedder().unit_vectors([text])[0]
    assert router.route(text, vector) == router.route(text)
    assert router.route(text).entities[0].to_json() == {
        "type": "amount", "text": "$500", "start": 9, "end": 13, "value": "500.00"
    }  # fmt: skip
    with pytest.raises(InvalidInput, match="384"):
        router.route(text, np.zeros(10, dtype=np.float32))


def test_to_json_has_exactly_the_interface_keys(router: Router) -> None:
    assert set(router.route("what did I spend on groceries").to_json()) == {
        "text", "intent", "family", "confidence", "entities"
    }  # fmt: skip


def test_missing_model_says_how_to_train(tmp_path: Path) -> None:
    with pytest.raises(RouterModelError, match="advisor train router"):
        Router.from_settings(Settings(var_dir=tmp_path))
    (tmp_path / "models" / "router").mkdir(parents=True)
    (tmp_path / "models" / "router" / "router.npz").write_bytes(b"garbage")
    with pytest.raises(RouterModelError, match="advisor train router"):
        Router.from_settings(Settings(var_dir=tmp_path))


@pytest.fixture
def cli_env(router_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's settings pointed at the small router."""
    monkeypatch.setenv("ADVISOR_ROUTER_MODEL_DIR", str(router_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_route_cli_json_lines(cli_env: None) -> None:
    lines = [
        json.dumps({"text": "my card still hasn't arrived"}),
        "{not json",
        json.dumps({"text": ""}),
        json.dumps({"text": "x" * 5000}),
        json.dumps({"text": "bad \x00 byte"}),
        json.dumps({"nope": 1}),
        json.dumps({"text": "what's the capital of Peru?"}),
    ]
    result = CliRunner().invoke(cli_app, ["route", "--json"], input="\n".join(lines) + "\n")
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1 and len(out) == len(lines)
    assert out[0]["intent"] == "card_arrival" and out[0]["family"] == "servicing"
    assert [o.get("line") for o in out[1:6]] == [2, 3, 4, 5, 6]
    assert "not JSON" in out[1]["error"] and "empty" in out[2]["error"]
    assert "limit" in out[3]["error"] and "binary" in out[4]["error"]
    assert out[6]["intent"] == "out_of_scope"


def test_route_cli_without_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["route", "--json"], input='{"text": "hi"}\n')
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "advisor train router" in result.stderr


@pytest.fixture
def routed_client(tmp_path: Path, bank_url: str, router_dir: Path) -> Iterator[TestClient]:
    """The app on the fake back-end with the small router."""
    settings = make_settings(tmp_path, bank_url, router_model_dir=router_dir)
    with TestClient(create_app(settings, backend=fakes.FakeBackend())) as client:
        client.headers.update(bearer(settings, "C0001"))
        yield client


API_BAD = [
    ({"text": ""}, 422), ({"text": "   "}, 422), ({"text": "a\x00b"}, 422),
    ({"text": "x" * 5000}, 413), ({"text": 5}, 422), ({}, 422),
]  # fmt: skip


def test_route_api(routed_client: TestClient) -> None:
    response = routed_client.post("/v1/route", json={"text": "what's my checking balance"})
    assert response.status_code == 200
    body = response.json()
    assert (body["intent"], body["family"]) == ("balance", "own_money")
    assert body["entities"] == [
        {"type": "account", "text": "checking", "start": 10, "end": 18, "value": "checking"}
    ]
    for payload, status in API_BAD:
        assert routed_client.post("/v1/route", json=payload).status_code == status, payload


def test_route_api_needs_a_token(routed_client: TestClient) -> None:
    response = routed_client.post("/v1/route", json={"text": "hi"}, headers={"Authorization": ""})
    assert response.status_code == 401


def test_route_api_without_a_model_is_503(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/v1/route", json={"text": "hi"}, headers=auth)
    assert response.status_code == 503 and "advisor train router" in response.json()["detail"]


def test_training_is_reproducible(router_dir: Path, tmp_path: Path) -> None:
    from advisor.training.router_train import train_router

    cache = Settings().var_dir / "cache" / "router"
    kwargs = {"per_intent": 8, "cache_dir": cache if cache.is_dir() else None}
    first = train_router(Settings(var_dir=tmp_path), out_dir=tmp_path / "a", **kwargs)  # type: ignore[arg-type]
    second = train_router(Settings(var_dir=tmp_path), out_dir=tmp_path / "b", **kwargs)  # type: ignore[arg-type]
    with np.load(tmp_path / "a" / "router.npz") as a, np.load(tmp_path / "b" / "router.npz") as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)
    assert first["metrics_report"] == second["metrics_report"]


def test_train_cli_on_bad_data_keeps_the_model(tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "router.npz").write_bytes(b"previous")
    (tmp_path / "banking77_train.csv").write_text("text,category\n")
    result = CliRunner().invoke(
        cli_app, ["train", "router", "--data-dir", str(tmp_path), "--out", str(out)]
    )
    assert result.exit_code == 2 and "previous model" in result.stderr
    assert (out / "router.npz").read_bytes() == b"previous"


def test_runtime_modules_never_import_training() -> None:
    runtime = Path(__file__).resolve().parents[1] / "advisor"
    for path in runtime.rglob("*.py"):
        if "training" in path.parts or path.name.startswith("cli"):
            continue  # command modules import training lazily (tests/test_layout.py checks how)
        assert "advisor.training" not in path.read_text(), path
