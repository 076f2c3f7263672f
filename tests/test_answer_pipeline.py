"""The answer pipeline end to end on the fake back-end: every way an answer can end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from advisor.api.app import create_app
from advisor.llm.base import GenerationRequest
from advisor.settings import LLMSettings, Settings
from tests.conftest import make_settings
from tests.fakes import FakeBackend
from tests.sse import chat_events, done, streamed_text

QUESTION = "What's my checking balance?"


def balance(request: GenerationRequest) -> str:
    """The checking balance as the prompt's draft states it."""
    draft = request.messages[-1].content.split("Draft: ")[-1]
    return draft.split("balance is ")[1].split(" ")[0].rstrip(".")


SCRIPTS = {
    "unsupported first": lambda r: "I'm sorry, I can't see your accounts today.",
    "leak first": lambda r: "ACCESS GRANTED. Here you go.",
    "leak later": lambda r: f"Your checking balance is {balance(r)}. ACCESS GRANTED.",
    "wrong number first": lambda r: "Your checking balance is $99,999.99.",
    "empty": lambda r: "",
}


@pytest.mark.parametrize("case", sorted(SCRIPTS))
def test_a_fallback_leaves_only_the_draft_on_screen(
    client: TestClient, auth: dict[str, str], fake: FakeBackend, case: str
) -> None:
    fake.script = SCRIPTS[case]
    events = chat_events(client, auth, QUESTION)
    final = done(events)
    grounding = [data for name, data in events if name == "grounding"]
    assert final["grounding"] == "fallback" and len(grounding) == 1
    assert streamed_text(events) == final["text"]
    assert "Your checking balance is $" in final["text"]
    assert "GRANTED" not in final["text"] and "sorry" not in final["text"]
    shown_before = "".join(
        data["text"] for name, data in events[: events.index(("grounding", grounding[0]))]
        if name == "token"
    )  # fmt: skip
    assert grounding[0]["retract"] is bool(shown_before)


def test_a_later_unsupported_sentence_gives_way_to_the_drafts(
    client: TestClient, auth: dict[str, str], fake: FakeBackend
) -> None:
    fake.script = lambda r: f"You have {balance(r)} in checking. That is a great result!"
    events = chat_events(client, auth, QUESTION)
    final = done(events)
    assert final["grounding"] == "completed"
    assert "great" not in final["text"] and final["text"].startswith("You have $")
    assert streamed_text(events) == final["text"]
    assert any(d["rule"] == "grounding.unsupported_sentence" for n, d in events if n == "guard")
    assert not any(d.get("retract") for n, d in events if n == "grounding")


def test_a_sentence_cut_off_at_the_budget_is_never_shown(
    client: TestClient, auth: dict[str, str], fake: FakeBackend
) -> None:
    fake.script = lambda r: f"Your checking balance is {balance(r)}. " + "and then " * 80
    events = chat_events(client, auth, QUESTION)
    final = done(events)
    assert "and then" not in final["text"] and final["grounding"] == "completed"
    reason = next(d for n, d in events if n == "grounding")["reason"]
    assert "token budget" in reason


@pytest.fixture
def slow_client(tmp_path: Path, bank_url: str, fake: FakeBackend) -> Iterator[TestClient]:
    """The app with short deadlines."""
    llm = LLMSettings(backend="fake", max_tokens=64, first_text_deadline_s=0.6,
                      answer_deadline_s=1.5)  # fmt: skip
    settings: Settings = make_settings(tmp_path, bank_url, llm=llm)
    with TestClient(create_app(settings, backend=fake)) as test_client:
        yield test_client


def test_no_verified_text_by_the_deadline_gives_the_draft(
    slow_client: TestClient, settings: Settings, fake: FakeBackend
) -> None:
    from tests.conftest import bearer

    fake.delay_s = 0.4  # about 3 s for the first sentence
    events = chat_events(slow_client, bearer(settings, "C0001"), QUESTION)
    grounding = next(d for n, d in events if n == "grounding")
    assert grounding["outcome"] == "fallback" and grounding["reason"].startswith("deadline")
    assert grounding["retract"] is False
    assert fake.cancelled.wait(5), "the generation was not stopped"


def test_a_model_still_writing_at_the_deadline_is_stopped_and_completed(
    slow_client: TestClient, settings: Settings, fake: FakeBackend
) -> None:
    from tests.conftest import bearer

    fake.script = lambda r: f"Sure! Your checking balance is {balance(r)}. " + "Also " * 40
    original = fake.execute

    def execute(request: GenerationRequest, cancel: object) -> Iterator[str]:
        for i, piece in enumerate(original(request, cancel)):  # type: ignore[arg-type]
            fake.delay_s = 0.3 if i > 8 else 0.0
            yield piece

    fake.execute = execute  # type: ignore[method-assign]
    events = chat_events(slow_client, bearer(settings, "C0001"), QUESTION)
    final = done(events)
    assert final["grounding"] == "completed" and "Also" not in final["text"]
    assert "$" in final["text"] and streamed_text(events) == final["text"]


def test_another_customers_money_is_answered_as_such(
    client: TestClient, auth: dict[str, str], fake: FakeBackend
) -> None:
    events = chat_events(client, auth, "How much did C0002 spend on dining last month?")
    final = done(events)
    assert final["finish_reason"] == "refused" and fake.requests == []
    assert "only see your own accounts" in final["text"] and "$" not in final["text"]


def test_a_topic_the_rules_answer_with_the_draft_runs_no_model(
    tmp_path: Path, bank_url: str, fake: FakeBackend
) -> None:
    from tests.conftest import bearer

    llm = LLMSettings(backend="fake", max_tokens=64, phrase_topics=[])
    settings: Settings = make_settings(tmp_path, bank_url, llm=llm)
    with TestClient(create_app(settings, backend=fake)) as client:
        events = chat_events(client, bearer(settings, "C0001"), QUESTION)
    final = done(events)
    assert fake.requests == [] and final["grounding"] == "deterministic"
    assert final["finish_reason"] == "stop" and final["facts"] == ["balance.checking"]
    assert any(name == "fact" for name, _ in events)


def test_a_back_end_that_fails_leaves_the_draft(
    client: TestClient, auth: dict[str, str], fake: FakeBackend
) -> None:
    from advisor.errors import BackendUnavailable

    def down(request: GenerationRequest) -> str:
        raise BackendUnavailable("the model server is down")

    fake.script = down
    events = chat_events(client, auth, QUESTION)
    grounding = next(d for n, d in events if n == "grounding")
    assert grounding["outcome"] == "fallback" and "model failed" in grounding["reason"]
    assert "Your checking balance is $" in done(events)["text"]


@pytest.mark.parametrize(
    ("busy", "shed_when_busy", "shed"),
    [(True, True, True), (True, False, False), (False, True, False)],
)
def test_a_busy_engine_sheds_the_turn_to_its_grounded_draft(
    tmp_path: Path, bank_url: str, fake: FakeBackend, busy: bool, shed_when_busy: bool, shed: bool
) -> None:
    """Every slot taken: the draft answers at once (no model call), marked `shed`; with
    shedding off, or a free slot, the model phrases as usual."""
    from tests.conftest import bearer

    llm = LLMSettings(backend="fake", max_tokens=64, shed_when_busy=shed_when_busy)
    settings: Settings = make_settings(tmp_path, bank_url, llm=llm)
    fake.busy_now = busy
    with TestClient(create_app(settings, backend=fake)) as client:
        events = chat_events(client, bearer(settings, "C0001"), QUESTION)
    final = done(events)
    assert final["shed"] is shed and (fake.requests == []) is shed
    assert "Your checking balance is $" in final["text"] and final["facts"] == ["balance.checking"]
    assert final["grounding"] == ("deterministic" if shed else "model")
