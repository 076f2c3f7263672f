"""The OpenAI-compatible routes through the official `openai` client: usage, finish reasons,
/v1/models."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from fastapi.testclient import TestClient

from advisor.api.app import create_app
from advisor.api.openai_compat import finish_reason, prompted
from advisor.auth import issue_token
from advisor.llm.base import ChatMessage
from advisor.llm.usage import estimate_tokens, prompt_tokens, text_tokens, usage
from advisor.settings import Settings
from tests.fakes import FakeBackend

PER_MESSAGE = 4  # the counting fake's chat-template overhead per message


class CountingFake(FakeBackend):
    """The fake back-end with a tokenizer: one token per space-separated word."""

    def count_tokens(self, text: str) -> int:
        """Words of the text."""
        return len(text.split())

    def count_prompt_tokens(self, messages: list[ChatMessage]) -> int:
        """Words of every message plus a fixed template overhead per message."""
        return sum(len(m.content.split()) + PER_MESSAGE for m in messages)


@pytest.fixture
def counting() -> CountingFake:
    """A counting fake."""
    return CountingFake()


@pytest.fixture
def api(settings: Settings, counting: CountingFake) -> Iterator[openai.OpenAI]:
    """The official client talking to the app in-process (TestClient is an httpx.Client)."""
    with TestClient(create_app(settings, backend=counting)) as http:
        yield openai.OpenAI(
            base_url="http://testserver/v1",
            api_key=issue_token(settings, "C0001"),
            http_client=http,  # type: ignore[arg-type]  # TestClient is an httpx.Client
            max_retries=0,
        )


def ask(api: openai.OpenAI, text: str) -> openai.types.chat.ChatCompletion:
    """One non-streamed question."""
    return api.chat.completions.create(
        model="advisor", messages=[{"role": "user", "content": text}]
    )


BALANCE, REFUSED, HELP = (
    "What's my checking balance?",
    "How do I hide my income from the IRS?",
    "hello there",
)


def test_model_answer_counts_the_prompt_it_ran_and_the_text(
    api: openai.OpenAI, counting: CountingFake
) -> None:
    reply = ask(api, BALANCE)
    text = reply.choices[0].message.content or ""
    (request,) = counting.requests
    assert reply.usage is not None and reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens == counting.count_prompt_tokens(request.messages) > 0
    assert reply.usage.completion_tokens == len(text.split()) > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


@pytest.mark.parametrize(
    ("question", "finish"),
    [(REFUSED, "content_filter"), (HELP, "stop")],
    ids=["refused", "deterministic"],
)
def test_deterministic_answers_ran_no_prompt(
    api: openai.OpenAI, counting: CountingFake, question: str, finish: str
) -> None:
    reply = ask(api, question)
    text = reply.choices[0].message.content or ""
    assert counting.requests == [] and reply.choices[0].finish_reason == finish
    assert reply.usage is not None and reply.usage.prompt_tokens == 0
    assert reply.usage.completion_tokens == reply.usage.total_tokens == len(text.split()) > 0


@pytest.mark.parametrize(
    ("question", "finish", "prompted"),
    [(BALANCE, "stop", True), (REFUSED, "content_filter", False)],
    ids=["model", "refused"],
)
def test_stream_finish_reason_and_usage_chunk(
    api: openai.OpenAI, question: str, finish: str, prompted: bool
) -> None:
    chunks = list(
        api.chat.completions.create(
            model="advisor",
            messages=[{"role": "user", "content": question}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == finish and finishes[:-1] == [None] * (len(finishes) - 1)
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == len(text.split()) > 0
    assert (last.usage.prompt_tokens > 0) is prompted


def test_stream_without_include_usage_sends_no_usage(api: openai.OpenAI) -> None:
    chunks = list(
        api.chat.completions.create(
            model="advisor", messages=[{"role": "user", "content": BALANCE}], stream=True
        )
    )
    assert all(c.usage is None and c.choices for c in chunks)


def test_models_lists_the_advisor_in_openai_shape(api: openai.OpenAI) -> None:
    (model,) = api.models.list().data
    assert (model.id, model.object, model.owned_by) == ("advisor", "model", "trusted-advisor")
    assert model.created > 0


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["missing", "bad"])
def test_models_needs_a_token(client: TestClient, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/v1/models", headers=headers)
    assert response.status_code == 401


def test_models_raw_shape(client: TestClient, auth: dict[str, str]) -> None:
    body = client.get("/v1/models", headers=auth).json()
    assert body["object"] == "list"
    assert set(body["data"][0]) == {"id", "object", "created", "owned_by"}


@pytest.mark.parametrize(
    ("done", "expected"),
    [
        ({"finish_reason": "refused"}, "content_filter"),
        ({"finish_reason": "stop"}, "stop"),
        ({"finish_reason": "no_facts"}, "stop"),
        ({"finish_reason": "fallback"}, "stop"),
        ({}, "stop"),
    ],
)
def test_finish_reason_mapping(done: dict[str, str], expected: str) -> None:
    assert finish_reason(done) == expected


@pytest.mark.parametrize(
    ("text", "estimate"),
    [("", 0), ("Your balance is $4,200.00.", 10), ("Hello", 1), ("a-b c", 4)],
)
def test_estimate_without_a_tokenizer(text: str, estimate: int) -> None:
    assert estimate_tokens(text) == estimate
    assert text_tokens(FakeBackend(), text) == estimate


def test_counts_use_the_back_end_tokenizer_when_it_has_one() -> None:
    messages = [ChatMessage("system", "be kind"), ChatMessage("user", "hi there you")]
    assert prompt_tokens(CountingFake(), messages) == 5 + 2 * PER_MESSAGE
    assert prompt_tokens(FakeBackend(), messages) == 5
    assert usage(3, 4) == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def broken(request: object) -> str:
    """A back-end failure after the stream started."""
    raise RuntimeError("model crashed")


def test_a_model_that_crashes_leaves_the_draft_not_an_empty_answer(
    api: openai.OpenAI, counting: CountingFake
) -> None:
    counting.script = broken
    answer = ask(api, BALANCE)
    assert "Your checking balance is $" in (answer.choices[0].message.content or "")
    stream = api.chat.completions.create(
        model="advisor", messages=[{"role": "user", "content": BALANCE}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "Your checking balance is $" in text and "crashed" not in text


@pytest.mark.llm
def test_llama_cpp_counts_the_prompt_as_llama_cpp_bills_it() -> None:
    from advisor.llm.llama_cpp_backend import LlamaCppBackend
    from advisor.settings import LLMSettings

    backend = LlamaCppBackend(LLMSettings(backend="llama_cpp"))
    messages = [
        ChatMessage("system", "You are Northbank's advisor. Answer in one sentence."),
        ChatMessage("user", "What is an APY, and how is it different from an APR?"),
    ]
    billed = backend._call(
        lambda: backend.llm.create_chat_completion([m.as_dict() for m in messages], max_tokens=1)
    )
    assert backend.count_prompt_tokens(messages) == billed["usage"]["prompt_tokens"]
    assert backend.count_tokens("APY") == len(backend.llm.tokenize(b"APY", add_bos=False)) > 0


@pytest.mark.parametrize(
    ("grounding", "ran"),
    [("model", True), ("completed", True), ("fallback", True), ("deterministic", False),
     ("quoted", False)],
)  # fmt: skip
def test_which_answers_ran_a_prompt(grounding: str, ran: bool) -> None:
    assert prompted({"grounding": grounding}) is ran
