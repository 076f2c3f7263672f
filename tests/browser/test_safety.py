"""Bad input and hostile text: HTML and javascript: links in the model's text, a passage and a
nudge are never rendered raw; an over-long message is stopped in the page with the server's
limit; a 4xx is shown with its reason."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MAX_MESSAGE_CHARS, Live
from tests.browser.widget import ask, open_demo, sse_body, wait_answer

pytestmark = pytest.mark.browser
IMG = '<img src=x onerror="window.__pwned = (window.__pwned || 0) + 1">'
LINK = "[your statement](javascript:window.__pwned=99)"
RAW_LINK = '<a href="javascript:window.__pwned=98">open</a>'
HOSTILE = f"Your balance is fine. {IMG} See {LINK} or {RAW_LINK}."
# Anything the widget parsed as markup: an element with an on* handler, a script, an image, a
# link to javascript:, in the page or the widget's shadow DOM.
PARSED = """() => {
  const roots = [document, document.querySelector("advisor-chat").shadowRoot];
  const found = [];
  for (const root of roots) {
    for (const el of root.querySelectorAll("*")) {
      const handlers = [...el.attributes].filter((a) => a.name.startsWith("on"));
      if (handlers.length) found.push(el.tagName + " " + handlers[0].name);
      const script = el.tagName === "SCRIPT" && root !== document;
      if (el.tagName === "IMG" || script) found.push(el.tagName);
      const href = el.getAttribute("href") || "";
      if (/^\\s*javascript:/i.test(href)) found.push("href " + href);
    }
  }
  return found;
}"""


def hostile_chat() -> str:
    """A chat stream carrying the hostile text as model tokens, a passage and the final text."""
    citation = {
        "index": 1, "citation": f"Reg X {IMG}", "title": f"Title {RAW_LINK}", "source": "products",
        "section": "x", "snippet": f"A passage {IMG} with {LINK} and {RAW_LINK}.",
    }  # fmt: skip
    return sse_body([
        ("meta", {"session_id": "s-1", "trace_id": "t-1"}),
        ("citation", citation),
        *[("token", {"text": word}) for word in HOSTILE.split(" ")[:6]],
        ("token", {"text": " " + " ".join(HOSTILE.split(" ")[6:])}),
        ("done", {"turn_id": 1, "text": HOSTILE, "citations": [citation["citation"]],
                  "facts": [], "decision_trace_ids": []}),
    ])  # fmt: skip


def hostile_nudge() -> str:
    """A notification stream whose nudge carries the hostile text."""
    note = {
        "id": 7, "kind": "sweep", "title": f"Nudge {IMG}", "body": HOSTILE, "read": False,
        "created_at": "2026-12-01T09:00:00Z", "event_id": None, "facts": [], "action": None,
    }  # fmt: skip
    body = sse_body([("notification", note)])
    return body.replace("event: notification", "id: 7\nevent: notification")


def test_html_and_javascript_links_are_never_rendered_raw(page: Any, live: Live) -> None:
    stream = "text/event-stream"
    page.route("**/v1/chat", lambda r: r.fulfill(content_type=stream, body=hostile_chat()))
    page.route(
        "**/v1/notifications/stream", lambda r: r.fulfill(content_type=stream, body=hostile_nudge())
    )
    open_demo(page, live, "C0004")
    answer = ask(page, "How is my balance?")
    expect(page.locator(".notification")).to_have_count(1)
    answer.locator("details.citation summary").first.click()
    expect(answer.locator(".body")).to_contain_text("<img src=x onerror=")  # shown as text
    expect(answer.locator("blockquote")).to_contain_text("<img src=x onerror=")
    page.wait_for_timeout(300)  # an injected image's error handler would have run by now
    assert page.evaluate(PARSED) == []
    assert page.evaluate("() => window.__pwned") is None
    hrefs = answer.locator(".body a[href]").evaluate_all("(links) => links.map((a) => a.href)")
    assert all(href.startswith(("http://", "https://")) for href in hrefs), hrefs


def test_an_over_long_message_is_stopped_in_the_page(page: Any, live: Live) -> None:
    chats: list[str] = []
    page.on("request", lambda r: chats.append(r.url) if r.url.endswith("/v1/chat") else None)
    open_demo(page, live, "C0004")
    box = page.get_by_role("textbox", name="Message")
    box.fill("a" * (MAX_MESSAGE_CHARS + 1))
    expect(page.get_by_text(f"the limit is {MAX_MESSAGE_CHARS}")).to_be_visible()
    expect(box).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Send").click()
    box.press("Enter")
    page.wait_for_timeout(300)
    assert chats == [], "an over-long message was sent"
    box.fill("a" * MAX_MESSAGE_CHARS)
    expect(box).to_have_attribute("aria-invalid", "false")


def test_a_4xx_shows_its_reason(page: Any, live: Live) -> None:
    open_demo(page, live, "C0004")
    box = page.get_by_role("textbox", name="Message")
    box.fill("\u200b\u200d\u2060")  # only invisible characters: the server answers 422
    page.get_by_role("button", name="Send").click()
    answer = wait_answer(page, 1)
    expect(answer.get_by_role("alert")).to_have_text("message is empty")
    expect(answer.get_by_role("button", name="Retry")).to_have_count(0)  # a 4xx is not retryable


def test_links_go_only_to_the_banks_own_pages(page: Any, live: Live) -> None:
    text = (
        f"See [help]({live.url}/help), [faq](/faq), [partner](https://partner.example/rates), "
        "[evil](https://evil.example/x), [sneaky](//evil.example/y) and https://evil.example/z."
    )
    stream = sse_body([("meta", {"session_id": "s-l", "trace_id": "t-l"}), ("done", {
        "turn_id": None, "text": text, "facts": [], "decision_trace_ids": []})])  # fmt: skip
    page.route("**/v1/chat", lambda r: r.fulfill(content_type="text/event-stream", body=stream))
    open_demo(page, live, "C0004")
    page.locator("advisor-chat").evaluate(
        "(chat) => chat.setAttribute('link-origins', 'https://partner.example')"
    )
    answer = ask(page, "Where can I read more?")
    hrefs = answer.locator(".body a[href]").evaluate_all("(links) => links.map((a) => a.href)")
    assert hrefs == [f"{live.url}/help", f"{live.url}/faq", "https://partner.example/rates"]
    for shown in ("evil", "sneaky", "https://evil.example/z"):  # kept as plain text
        expect(answer.locator(".body")).to_contain_text(shown)
