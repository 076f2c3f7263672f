"""The API on the real embedded model (llama.cpp + SmolLM2-135M), over real HTTP."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from advisor.api.app import create_app
from advisor.chat_cli import ChatClient
from advisor.llm import GenerationRequest, create_backend
from advisor.llm.base import ChatMessage
from advisor.llm.llama_cpp_backend import default_model_path
from advisor.settings import LLMSettings, Settings
from tests.conftest import make_settings
from tests.live import free_port, serve

pytestmark = pytest.mark.llm
QUESTIONS = {
    "What's my checking balance?": "balance.checking",
    "How much do I spend on groceries a month?": "spending.groceries.monthly_avg",
}


@pytest.fixture(scope="module")
def real_settings(tmp_path_factory: pytest.TempPathFactory, bank_url: str) -> Settings:
    """Settings on the embedded llama.cpp model."""
    return make_settings(
        tmp_path_factory.mktemp("real"),
        bank_url,
        llm=LLMSettings(backend="llama_cpp", max_tokens=96),
    )


@pytest.fixture(scope="module")
def live(real_settings: Settings) -> Iterator[str]:
    """A live server on the real model."""
    with serve(create_app(real_settings)) as url:
        yield url


def context_display(live: str, client: ChatClient, fact_id: str) -> str:
    """A fact's display value from the context endpoint."""
    body = httpx.get(
        f"{live}/v1/customers/me/context", headers={"Authorization": f"Bearer {client.token}"}
    ).json()
    return str(next(f["display"] for f in body["facts"] if f["id"] == fact_id))


@pytest.mark.parametrize("customer", ["C0001", "C0002", "C0005"])
def test_answers_carry_exact_context_figures(
    live: str, real_settings: Settings, customer: str
) -> None:
    client = ChatClient.for_customer(real_settings, customer, live)
    for question, fact_id in QUESTIONS.items():
        events = list(client.ask(question))
        tokens = [d["text"] for e, d in events if e == "token"]
        done = next(d for e, d in events if e == "done")
        assert len(tokens) >= 3, "the answer was not streamed"
        assert context_display(live, client, fact_id) in done["text"]
        assert done["grounding"] in ("model", "completed", "fallback")
    assert client.session_id is not None


def test_model_is_the_shipped_gguf(live: str) -> None:
    assert httpx.get(f"{live}/healthz").json()["llm"] == {
        "backend": "llama_cpp",
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
    }


def test_cancel_stops_a_real_generation() -> None:
    backend = create_backend(LLMSettings(backend="llama_cpp"))
    cancel = threading.Event()
    request = GenerationRequest([ChatMessage("user", "Write a long story about a bank.")], 400)
    produced = 0
    for _ in backend.execute(request, cancel):
        produced += 1
        if produced == 5:
            cancel.set()
    assert produced <= 6


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """llama.cpp's own OpenAI-compatible server on the shipped GGUF."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(default_model_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise RuntimeError("llama_cpp.server did not start")
        yield f"{url}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_openai_backend_against_llama_cpp_server(
    llama_server: str, bank_url: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, bank_url, llm_base_url=llama_server)
    assert settings.llm.backend == "openai"
    with serve(create_app(settings)) as live:
        client = ChatClient.for_customer(settings, "C0003", live)
        events = list(client.ask("What's my checking balance?"))
        done = next(d for e, d in events if e == "done")
        assert context_display(live, client, "balance.checking") in done["text"]
        assert httpx.get(f"{live}/healthz").json()["llm"]["backend"] == "openai"


def test_any_gguf_by_path(tmp_path: Path) -> None:
    other = tmp_path / "bank-model.gguf"
    other.symlink_to(default_model_path())
    backend = create_backend(LLMSettings(backend="llama_cpp", model_path=str(other)))
    assert backend.describe()["model"] == "bank-model.gguf"
    text = "".join(
        backend.execute(GenerationRequest([ChatMessage("user", "Say hi")], 8), threading.Event())
    )
    assert text.strip()
