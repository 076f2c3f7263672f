"""One answer as a forward pipeline: a text source, sentence by sentence, through the filters."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from advisor.chat import events
from advisor.chat.events import ChatEvent
from advisor.chat.filters import (
    RULE_UNSUPPORTED,
    Fallback,
    Filtered,
    Railed,
    SentenceFilter,
    run_filters,
)
from advisor.chat.guarded import guard_events, split_sentences, word_tokens
from advisor.errors import AdvisorError
from advisor.grounding.support import SupportChecker
from advisor.rails.pii.vault import Vault

log = logging.getLogger("advisor.chat")
SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
LEAD_LABEL = re.compile(r"^\s*(draft|answer|reply|response)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Deadlines:
    """When the first verified sentence must be shown, and when the model must be done."""

    first_text: float
    answer: float

    @classmethod
    def after(cls, started: float, first_text_s: float, answer_s: float) -> Deadlines:
        """Deadlines counted from the turn's start (perf_counter seconds)."""
        return cls(started + first_text_s, started + answer_s)


@dataclass(frozen=True)
class Outcome:
    """How an answer ended: the text shown (placeholders kept) and what it rests on."""

    text: str
    grounding: str
    finish_reason: str
    completion_tokens: int = 0
    first_model_token_s: float | None = None
    first_visible_token_s: float | None = None
    shed: bool = False  # the model was busy: the draft answered without it


class Finished(Exception):
    """The model stopped writing before the answer was complete (budget or deadline)."""


@dataclass
class _Stop:
    """Why the model was stopped early, if it was."""

    reason: str | None = None


class Output:
    """Where checked sentences go: the shown text (stored form) and the customer's tokens."""

    def __init__(self, vault: Vault | None, started: float) -> None:
        self.vault, self.started, self.text = vault, started, ""
        self.first_visible_s: float | None = None
        self.replaced = 0  # model sentences that gave way to the draft's

    def show(self, result: Filtered) -> list[ChatEvent]:
        """Guard events and word tokens for one filtered sentence."""
        shown = [*guard_events(list(result.found))]
        self.replaced += sum(item.rule == RULE_UNSUPPORTED for item in result.found)
        if result.text.strip():
            self.text += result.text
            restored = self.vault.restore(result.text) if self.vault else result.text
            shown += word_tokens(restored)
            if self.first_visible_s is None:
                self.first_visible_s = time.perf_counter() - self.started
        return shown


async def sentences(
    deltas: AsyncIterator[str], deadlines: Deadlines, shown: Output
) -> AsyncIterator[str]:
    """Complete sentences of the model's text; raises Finished at a deadline with text shown."""
    buffer = ""
    stream = aiter(deltas)
    while True:
        due = deadlines.first_text if shown.first_visible_s is None else deadlines.answer
        try:
            delta = await asyncio.wait_for(anext(stream), max(0.0, due - time.perf_counter()))
        except StopAsyncIteration:
            break
        except TimeoutError:
            if shown.first_visible_s is None:
                raise Fallback("deadline: no verified sentence in time") from None
            raise Finished("deadline: the model was still writing") from None
        buffer = LEAD_LABEL.sub("", buffer + delta, count=1)
        while end := SENTENCE_END.search(buffer):
            yield buffer[: end.end()]
            buffer = buffer[end.end() :]
    if buffer.strip():
        yield buffer


class ModelAnswer:
    """The model's sentences through the filters; the one place that handles `Fallback`."""

    def __init__(
        self,
        filters: Sequence[SentenceFilter],
        draft_filters: Sequence[SentenceFilter],
        rails: Railed,
        checker: SupportChecker,
        vault: Vault | None,
    ) -> None:
        self.filters, self.draft_filters, self.rails = filters, draft_filters, rails
        self.checker, self.vault = checker, vault

    async def stream(
        self,
        deltas: AsyncIterator[str],
        deadlines: Deadlines,
        started: float,
        budget: int,
        cancel: threading.Event,
    ) -> AsyncIterator[ChatEvent | Outcome]:
        """Events of the answer, then its Outcome; `cancel` stops the model once it is done."""
        out, tokens, stop = Output(self.vault, started), _Counter(started), _Stop()
        try:
            async for event in self._shown(deltas, tokens, deadlines, budget, out, stop):
                yield event
            cancel.set()
            if not out.text.strip():
                raise Fallback(stop.reason or "the model wrote no supported sentence")
            for item in self._finished(out, stop.reason, tokens):
                yield item
        except Fallback as exc:
            cancel.set()
            for event in self._fall_back(exc, out):
                yield event
            yield self._outcome(out, "fallback", "fallback", tokens)

    async def _shown(
        self,
        deltas: AsyncIterator[str],
        tokens: _Counter,
        deadlines: Deadlines,
        budget: int,
        out: Output,
        stop: _Stop,
    ) -> AsyncIterator[ChatEvent]:
        """The model's sentences through the filters, until it stops or is stopped."""
        try:
            async for sentence in sentences(tokens.count(deltas), deadlines, out):
                if tokens.n >= budget and not _ends_sentence(sentence):
                    raise Finished("the answer was cut off at the token budget")
                # MiniLM and the rails run off the event loop: other turns keep streaming.
                checked = await asyncio.to_thread(run_filters, self.filters, sentence)
                for event in out.show(checked):
                    yield event
        except Finished as stopped:
            stop.reason = str(stopped)
        except Fallback:
            raise
        except AdvisorError as exc:  # the back-end failed: the draft still answers
            raise Fallback(f"the model failed: {exc}") from exc
        except Exception as exc:  # anything else the model or a filter raised: the draft
            log.exception("the model's answer failed")
            raise Fallback(f"the answer failed: {type(exc).__name__}") from exc

    def _finished(
        self, out: Output, reason: str | None, tokens: _Counter
    ) -> list[ChatEvent | Outcome]:
        """The draft's sentences for what the model left out, the closing, the outcome."""
        added = self._complete(out)
        completed = reason is not None or out.replaced > 0 or any(e.event == "token" for e in added)
        grounding = "completed" if completed else "model"
        return [
            *added,
            *self._closing(out),
            events.grounding(grounding, reason or _why_completed(out, added)),
            self._outcome(out, grounding, "stop", tokens),
        ]

    def _complete(self, out: Output) -> list[ChatEvent]:
        """The draft's sentences for facts the model left out, then the closing disclaimer."""
        said = self.checker.stated(out.text)
        shown: list[ChatEvent] = []
        for sentence in self.checker.draft_sentences:
            if self.checker.stated(sentence) - said:
                shown += out.show(run_filters(self.draft_filters, f" {sentence}"))
        return shown

    def _fall_back(self, exc: Fallback, out: Output) -> list[ChatEvent]:
        """Retract whatever was shown and stream the draft, through the rails, instead."""
        shown = [ChatEvent("guard", exc.intervention.to_json())] if exc.intervention else []
        shown.append(events.grounding("fallback", exc.reason, retract=bool(out.text)))
        out.text, out.first_visible_s = "", None  # the final answer's first text counts
        try:
            checked = [run_filters(self.draft_filters, s) for s in self.checker.draft_sentences]
        except Fallback as refused:  # the rails refuse our own draft: never expected
            log.error("the rails refused a draft: %s", refused.reason)
            checked = [Filtered(self.checker.draft)]
        for sentence in checked:
            shown += out.show(Filtered(_spaced_after(out.text, sentence.text), sentence.found))
        return shown + self._closing(out)

    def _closing(self, out: Output) -> list[ChatEvent]:
        """The investment disclaimer where the rails want one."""
        return out.show(self.rails.closing(out.text))

    def _outcome(self, out: Output, grounding: str, finish: str, tokens: _Counter) -> Outcome:
        """The answer's outcome."""
        return Outcome(
            out.text.strip(), grounding, finish, tokens.n, tokens.first_s, out.first_visible_s
        )


class _Counter:
    """Counts the model's deltas and when the first arrived."""

    def __init__(self, started: float) -> None:
        self.started, self.n = started, 0
        self.first_s: float | None = None

    async def count(self, deltas: AsyncIterator[str]) -> AsyncIterator[str]:
        """The deltas, counted."""
        async for delta in deltas:
            self.n += 1
            if self.first_s is None:
                self.first_s = time.perf_counter() - self.started
            yield delta


def _why_completed(out: Output, added: list[ChatEvent]) -> str | None:
    """Why the draft's sentences joined the model's, if they did."""
    why = []
    if out.replaced:
        why.append(f"{out.replaced} unsupported sentence(s) replaced by the draft's")
    if any(e.event == "token" for e in added):
        why.append("the draft's sentences added for facts the model left out")
    return "; ".join(why) or None


def _spaced_after(shown: str, sentence: str) -> str:
    """A sentence that follows shown text, with one space between them."""
    return f" {sentence.strip()}" if shown.strip() else sentence.strip()


def _ends_sentence(text: str) -> bool:
    """Whether the text ends a sentence (not cut off mid-way)."""
    return bool(SENTENCE_END.search(text.rstrip(" ")[-1:] + " "))


def deterministic(
    text: str, rails: Railed, fallback_text: str, vault: Vault | None, started: float
) -> tuple[list[ChatEvent], str]:
    """Deterministic text through the rails, sentence by sentence; the events and shown text.

    A rail that refuses the text (it should never, the text is ours) leaves `fallback_text`.
    """
    out = Output(vault, started)
    try:
        checked = [run_filters([rails], s) for s in split_sentences(text) or [text]]
    except Fallback as exc:
        notes = [ChatEvent("guard", exc.intervention.to_json())] if exc.intervention else []
        return [*notes, *out.show(Filtered(fallback_text))], out.text
    found = tuple(item for c in checked for item in c.found)
    shown = out.show(Filtered("".join(c.text for c in checked), found))
    return shown + out.show(rails.closing(out.text)), out.text
