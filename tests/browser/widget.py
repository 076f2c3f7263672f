"""Driving the widget in a page: open the demo, ask, wait for the answer, read the stream."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.browser.conftest import Live

Events = list[tuple[str, dict[str, Any]]]
ANSWER_TIMEOUT_MS = 60_000
# True once the widget has `answers` advisor bubbles and is no longer streaming.
IDLE = """([n]) => {
  const root = document.querySelector("advisor-chat")?.shadowRoot;
  const log = root?.querySelector("[role=log]");
  return !!log && root.querySelectorAll(".msg.advisor").length >= n
    && log.getAttribute("aria-busy") === "false";
}"""
ANSWERS = """() => document.querySelector("advisor-chat").shadowRoot
  .querySelectorAll(".msg.advisor").length"""


# Keeps a copy of every /v1/chat stream the widget reads (Chromium does not keep the body of
# a streamed fetch for Playwright): window.__streams[i] = {text, done}.
TEE_CHAT = """(() => {
  const original = window.fetch;
  window.__streams = [];
  window.fetch = async (...args) => {
    const response = await original(...args);
    const url = String(args[0] && args[0].url ? args[0].url : args[0]);
    if (!url.endsWith("/v1/chat") || !response.body) return response;
    const [mine, copy] = response.body.tee();
    const entry = {text: "", done: false};
    window.__streams.push(entry);
    (async () => {
      const reader = copy.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        entry.text += decoder.decode(value, {stream: true});
      }
      entry.done = true;
    })();
    const {status, statusText, headers} = response;
    return new Response(mine, {status, statusText, headers});
  };
})();"""


def streams(page: Any) -> list[Events]:
    """The events of every finished /v1/chat stream the page read, in order."""
    page.wait_for_function("() => window.__streams.every((s) => s.done)")
    return [sse(text) for text in page.evaluate("() => window.__streams.map((s) => s.text)")]


def open_demo(page: Any, live: Live, customer: str) -> None:
    """The demo page at / with a seeded customer picked (development profile)."""
    page.add_init_script(TEE_CHAT)
    page.goto(f"{live.url}/?customer={customer}")
    page.get_by_role("textbox", name="Message").wait_for()


def ask(page: Any, text: str) -> Any:
    """Type a message, press Send, wait until the answer ended; the answer's bubble."""
    before = page.evaluate(ANSWERS)
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("button", name="Send").click()
    return wait_answer(page, before + 1)


def wait_answer(page: Any, count: int) -> Any:
    """Wait for the `count`-th answer to end (done, error or a problem); its bubble."""
    page.wait_for_function(IDLE, arg=[count], timeout=ANSWER_TIMEOUT_MS)
    return page.locator(".msg.advisor").nth(count - 1)


def sse(body: str) -> Events:
    """A server-sent event stream's (event, data) pairs."""
    events: Events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields and "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def sse_body(events: Events) -> str:
    """Events as a server-sent event stream."""
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def done_of(events: Events) -> dict[str, Any]:
    """The `done` event's data."""
    return next(data for name, data in events if name == "done")


def fact_display(live: Live, customer: str, fact_id: str) -> str:
    """A fact's display value from the customer's own 360 view."""
    view = httpx.get(f"{live.url}/v1/customers/me/context", headers=live.headers(customer))
    return str(next(f["display"] for f in view.json()["facts"] if f["id"] == fact_id))


def flat(text: str) -> str:
    """Text with its whitespace collapsed."""
    return " ".join(text.split())


# Every change of the polite live region, with when it happened: [{text, at}] (ms).
WATCH_ANNOUNCER = """() => {
  const region = document.querySelector("advisor-chat").shadowRoot
    .querySelector("#advisor-announcer");
  window.__spoken = [];
  new MutationObserver(() => {
    window.__spoken.push({text: region.textContent, at: performance.now()});
  }).observe(region, {childList: true, characterData: true, subtree: true});
}"""


def announced(page: Any) -> list[tuple[str, float]]:
    """Each non-empty text the live region showed and how long it stayed (ms; the last: inf)."""
    spoken = page.evaluate("() => window.__spoken")
    said: list[tuple[str, float]] = []
    for i, entry in enumerate(spoken):
        if not entry["text"]:
            continue
        until = spoken[i + 1]["at"] if i + 1 < len(spoken) else float("inf")
        said.append((entry["text"], until - entry["at"]))
    return said


def words(text: str) -> Events:
    """`text` as streamed `token` events, a word at a time."""
    return [("token", {"text": w if i == 0 else f" {w}"}) for i, w in enumerate(text.split())]


def done(text: str) -> tuple[str, dict[str, Any]]:
    """A `done` event with `text` and nothing else."""
    return ("done", {"turn_id": None, "text": text, "facts": [], "decision_trace_ids": []})
