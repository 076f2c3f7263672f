"""The widget chatting with the real server on the embedded model: streaming, citations, a cut
stream recovered by an automatic reconnect, thumbs stored with the turn, and the whole flow by
keyboard alone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import expect

from advisor.feedback import Feedback, FeedbackStore
from tests.browser.conftest import Live
from tests.browser.widget import (
    Events,
    ask,
    done_of,
    fact_display,
    flat,
    open_demo,
    sse_body,
    streams,
    wait_answer,
)

pytestmark = pytest.mark.browser
CITED_QUESTION = "How do I avoid the monthly fee on Everyday Checking?"
# Every non-empty text the polite live region takes (the answer is announced once, whole).
COUNT_ANNOUNCEMENTS = """() => {
  const region = document.querySelector("advisor-chat").shadowRoot
    .querySelector("#advisor-announcer");
  window.__announced = [];
  new MutationObserver(() => {
    if (region.textContent) window.__announced.push(region.textContent);
  }).observe(region, {childList: true, characterData: true, subtree: true});
}"""
# The first answer's text and its reconnecting note after every change: window.__bodies.
WATCH_REPLY = """() => {
  const log = document.querySelector("advisor-chat").shadowRoot.querySelector("[role=log]");
  window.__bodies = [];
  new MutationObserver(() => {
    const answer = log.querySelector(".msg.advisor");
    if (!answer) return;
    const note = answer.querySelector(".reconnecting");
    if (note && !note.hidden) window.__bodies.push(note.textContent);
    window.__bodies.push(answer.querySelector(".body").innerText.trim());
  }).observe(log, {childList: true, characterData: true, subtree: true, attributes: true});
}"""
ACTIVE = """() => {
  const active = document.querySelector("advisor-chat")?.shadowRoot?.activeElement;
  if (!active) return null;
  return {label: active.getAttribute("aria-label") || active.textContent.trim(),
          outline: getComputedStyle(active).outlineStyle};
}"""


def chat_stream(page: Any, question: str) -> tuple[Any, Events]:
    """Ask, wait for the answer; its bubble and the events the server streamed."""
    answer = ask(page, question)
    return answer, streams(page)[-1]


def feedback_of(live: Live, turn_id: int) -> list[Feedback]:
    """The stored ratings of one turn."""
    store = FeedbackStore(live.settings.resolved_database_url)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    return [f for f in store.since(since) if f.turn_id == turn_id]


def test_a_question_streams_and_ends_with_the_exact_figure(page: Any, live: Live) -> None:
    open_demo(page, live, "C0002")
    page.evaluate(COUNT_ANNOUNCEMENTS)
    answer, events = chat_stream(page, "What's my checking balance?")
    figure = fact_display(live, "C0002", "balance.checking")
    final = done_of(events)
    assert len([1 for name, _ in events if name == "token"]) >= 3, "the answer was not streamed"
    assert figure in final["text"]
    expect(answer.locator(".body")).to_contain_text(figure)
    assert flat(answer.locator(".body").inner_text()) == flat(final["text"])
    announced = page.locator("#advisor-announcer")
    expect(announced).to_have_text(f"Advisor: {final['text']}")
    assert page.evaluate("() => window.__announced") == [f"Advisor: {final['text']}"]  # once
    answer.get_by_text("Why this answer").click()
    expect(answer.locator(".why-answer")).to_contain_text(figure)
    assert page.page_errors == []


def test_a_citation_opens_with_its_passage(page: Any, live: Live) -> None:
    open_demo(page, live, "C0004")
    answer, events = chat_stream(page, CITED_QUESTION)
    cited = [data for name, data in events if name == "citation"]
    assert cited, "the server cited nothing"
    source = answer.locator("details.citation").first
    expect(source).not_to_have_attribute("open", "")
    source.locator("summary").click()
    expect(source).to_have_attribute("open", "")
    expect(source.locator("summary")).to_contain_text(cited[0]["citation"])
    expect(source.locator("blockquote")).to_be_visible()
    expect(source.locator("blockquote")).to_have_text(cited[0]["snippet"])


def test_a_cut_stream_reconnects_by_itself_without_duplicated_text(page: Any, live: Live) -> None:
    cuts: list[int] = []
    sent: list[Any] = []

    def cut_once(route: Any) -> None:
        sent.append(route.request.post_data_json)
        if cuts:
            route.continue_()
            return
        body = route.fetch().text()
        blocks = body.replace("\r\n", "\n").split("\n\n")
        kept = [b for b in blocks if "event: done" not in b][: len(blocks) // 2]
        cuts.append(sum("event: token" in block for block in kept))
        route.fulfill(status=200, content_type="text/event-stream", body="\n\n".join(kept) + "\n\n")

    open_demo(page, live, "C0004")
    page.evaluate(COUNT_ANNOUNCEMENTS)
    page.evaluate(WATCH_REPLY)
    page.route("**/v1/chat", cut_once)
    answer = ask(page, CITED_QUESTION)  # ends only after the automatic second attempt
    assert cuts[0] >= 1, "the cut came before any text"
    cut, whole = streams(page)
    final = done_of(whole)["text"]
    session = next(data["session_id"] for name, data in cut if name == "meta")
    assert len(sent) == 2 and sent[1] == {"message": CITED_QUESTION, "session_id": session}
    bodies = page.evaluate("() => window.__bodies")
    assert "Reconnecting…" in bodies, "no reconnecting note was shown"
    noted = bodies.index("Reconnecting…")
    partial = flat(bodies[noted + 1])  # the text on screen when the cut was noticed
    assert partial, "nothing was shown before the cut"
    assert "" not in bodies[noted:], "the text blanked while reconnecting"
    texts = [b for b in bodies if b != "Reconnecting…"]
    assert all(flat(b).count(partial[:40]) <= 1 for b in texts), "text was shown twice"
    shown = flat(answer.locator(".body").inner_text())
    assert shown == flat(final), "the reconnected answer is not exactly the final text"
    assert final.startswith(partial[:40]) and shown.count(partial[:40]) == 1
    expect(answer.locator(".reconnecting")).to_be_hidden()
    expect(answer.locator(".problem-box")).to_be_hidden()
    expect(answer.get_by_role("button", name="Retry")).to_have_count(0)
    expect(page.locator("#advisor-announcer")).to_have_text(f"Advisor: {final}")
    assert page.evaluate("() => window.__announced") == ["Reconnecting", f"Advisor: {final}"]


def test_a_server_that_cannot_be_reached_shows_a_retryable_message(page: Any, live: Live) -> None:
    refused: list[str] = []

    def refuse_once(route: Any) -> None:
        if refused:
            route.continue_()
            return
        refused.append(route.request.url)
        route.abort("connectionrefused")

    open_demo(page, live, "C0004")
    page.route("**/v1/chat", refuse_once)
    answer = ask(page, CITED_QUESTION)
    expect(answer.get_by_role("alert")).to_contain_text("can't be reached")
    answer.get_by_role("button", name="Retry").click()
    wait_answer(page, 1)
    expect(answer.locator(".body")).to_contain_text("monthly maintenance fee")
    expect(answer.locator(".problem-box")).to_be_hidden()


def test_thumbs_and_a_comment_are_stored_with_the_turn(page: Any, live: Live) -> None:
    open_demo(page, live, "C0005")
    answer, events = chat_stream(page, CITED_QUESTION)
    turn_id = done_of(events)["turn_id"]
    answer.get_by_text("Add a comment").click()
    answer.get_by_role("textbox", name="Comment (optional)").fill("The quote answered it.")
    answer.get_by_role("button", name="Not helpful").click()
    expect(answer.get_by_role("status")).to_have_text("Thanks for your feedback.")
    [stored] = feedback_of(live, turn_id)
    assert (stored.customer_id, stored.rating, stored.comment) == (
        "C0005",
        "down",
        "The quote answered it.",
    )
    answer.get_by_role("button", name="Helpful", exact=True).click()
    expect(answer.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    [replaced] = feedback_of(live, turn_id)
    assert replaced.rating == "up"


def tab_to(page: Any, label: str, limit: int = 40) -> dict[str, str]:
    """Press Tab until the widget's focused element is named `label`; it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        active = page.evaluate(ACTIVE)
        if active and active["label"] == label:
            return dict(active)
    raise AssertionError(f"Tab never reached {label!r}")


def test_keyboard_only_ask_and_rate(page: Any, live: Live) -> None:
    open_demo(page, live, "C0005")
    focused = tab_to(page, "Message")
    assert focused["outline"] != "none", "the focused textbox shows no focus ring"
    page.keyboard.type(CITED_QUESTION)
    page.keyboard.press("Enter")
    answer = wait_answer(page, 1)
    turn_id = done_of(streams(page)[-1])["turn_id"]
    helpful = tab_to(page, "Helpful")
    assert helpful["outline"] != "none", "the focused button shows no focus ring"
    page.keyboard.press("Space")
    expect(answer.get_by_role("status")).to_have_text("Thanks for your feedback.")
    assert [f.rating for f in feedback_of(live, turn_id)] == ["up"]


# Every text the answer's body shows while it streams (after each paint).
WATCH_BODY = """() => {
  window.__painted = [];
  const log = document.querySelector("advisor-chat").shadowRoot.querySelector("[role=log]");
  new MutationObserver(() => {
    const body = log.querySelector(".msg.advisor .body");
    if (body) window.__painted.push(body.textContent);
  }).observe(log, {childList: true, characterData: true, subtree: true});
}"""


def test_a_retract_replaces_the_shown_text_without_a_blank_or_both(page: Any, live: Live) -> None:
    wrong, right = "Your balance is $1.00 today.", "Your checking balance is $7,588.71."
    stream = sse_body([
        ("meta", {"session_id": "s-r", "trace_id": "t-r"}),
        *[("token", {"text": w if i == 0 else f" {w}"}) for i, w in enumerate(wrong.split())],
        ("grounding", {"outcome": "fallback", "reason": "unsupported figure", "retract": True}),
        *[("token", {"text": w if i == 0 else f" {w}"}) for i, w in enumerate(right.split())],
        ("done", {"turn_id": None, "text": right, "facts": [], "decision_trace_ids": []}),
    ])  # fmt: skip
    page.route("**/v1/chat", lambda r: r.fulfill(content_type="text/event-stream", body=stream))
    open_demo(page, live, "C0004")
    page.evaluate(WATCH_BODY)
    answer = ask(page, "What's my checking balance?")
    assert flat(answer.locator(".body").inner_text()) == right
    painted = [flat(text) for text in page.evaluate("() => window.__painted")]
    seen = [text for text in painted if text]
    assert seen and seen[-1] == right
    assert all(wrong.startswith(t) or right.startswith(t) for t in seen), seen  # never both
    first = painted.index(seen[0])
    assert all(painted[first:]), "the answer went blank between the retract and the new text"


def test_a_guard_note_says_personal_data_was_hidden(page: Any, live: Live) -> None:
    open_demo(page, live, "C0004")
    answer, events = chat_stream(
        page, "My card is 4111 1111 1111 1111, what's my checking balance?"
    )
    rules = [data["rule"] for name, data in events if name == "guard"]
    assert "privacy.pii_redacted" in rules, rules
    expect(answer.locator(".notes")).to_contain_text("Personal data hidden")
    expect(answer).not_to_contain_text("4111 1111 1111 1111")
