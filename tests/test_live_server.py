"""Real HTTP against uvicorn (fake back-end): disconnects, the openai client, LangChain."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

from advisor.api.app import create_app
from advisor.auth import issue_token
from advisor.settings import Settings
from tests.fakes import FakeBackend
from tests.live import serve


@pytest.fixture
def live(settings: Settings, fake: FakeBackend) -> Iterator[str]:
    """Base URL of a live server on the fake back-end."""
    with serve(create_app(settings, backend=fake)) as url:
        yield url


def test_client_disconnect_stops_generation(
    live: str, settings: Settings, fake: FakeBackend
) -> None:
    # Sentences: the rails release text a sentence at a time.
    fake.script = lambda request: " ".join(["Word."] * 2000)
    fake.delay_s = 0.01
    headers = {"Authorization": f"Bearer {issue_token(settings, 'C0001')}"}
    with (
        httpx.Client(base_url=live, timeout=30) as http,
        http.stream(
            "POST", "/v1/chat", json={"message": "What's my checking balance?"}, headers=headers
        ) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("event: token"):
                break
    assert fake.cancelled.wait(10), "generation kept running after the client left"


def test_official_openai_client_stream_and_non_stream(live: str, settings: Settings) -> None:
    api = openai.OpenAI(base_url=f"{live}/v1", api_key=issue_token(settings, "C0001"))
    context = httpx.get(
        f"{live}/v1/customers/me/context", headers={"Authorization": f"Bearer {api.api_key}"}
    ).json()
    checking = next(f["display"] for f in context["facts"] if f["id"] == "balance.checking")
    question = [{"role": "user", "content": "What's my checking balance?"}]
    reply = api.chat.completions.create(model="advisor", messages=question)  # type: ignore[arg-type]
    assert checking in (reply.choices[0].message.content or "")
    chunks = api.chat.completions.create(model="advisor", messages=question, stream=True)  # type: ignore[arg-type]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert checking in text


def test_langchain_chat_openai(live: str, settings: Settings) -> None:
    llm = ChatOpenAI(
        base_url=f"{live}/v1",
        api_key=issue_token(settings, "C0002"),  # type: ignore[arg-type]
        model="advisor",
        max_retries=0,
    )
    answer = llm.invoke("How much do I spend on groceries a month?")
    assert "$" in str(answer.content)
    streamed = "".join(str(chunk.content) for chunk in llm.stream("What's my savings balance?"))
    assert "savings" in streamed.lower()


def test_openai_client_sees_bad_token_as_auth_error(live: str) -> None:
    api = openai.OpenAI(base_url=f"{live}/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        api.chat.completions.create(model="advisor", messages=[{"role": "user", "content": "hi"}])
