"""The widget on a phone-sized viewport, under an automated accessibility scan (axe-core), and
embedded with one script tag by a host page on another origin."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from advisor.auth import issue_token
from tests.browser.conftest import AXE, Live
from tests.browser.widget import ask, fact_display, open_demo, wait_answer

pytestmark = pytest.mark.browser
SCROLL_WIDTH = """() => {
  const chat = document.querySelector("advisor-chat");
  const wide = [...chat.shadowRoot.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
    .map((el) => el.tagName + "." + el.className);
  return {page: document.documentElement.scrollWidth, view: window.innerWidth, wide};
}"""
# The host's token provider: an expired token first, then a good one (asked again on 401).
TOKENS_IN_TURN = """(tokens) => {
  window.__tokensAsked = 0;
  document.querySelector("advisor-chat").tokenProvider = async () =>
    tokens[Math.min(window.__tokensAsked++, tokens.length - 1)];
}"""
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 3)}));
}"""


def test_a_375_px_viewport_has_no_horizontal_scroll(browser: Any, page: Any, live: Live) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    open_demo(page, live, "C0004")
    answer = ask(page, "How do I avoid the monthly fee on Everyday Checking?")
    answer.locator("details.citation summary").first.click()
    measured = page.evaluate(SCROLL_WIDTH)
    assert measured["page"] <= measured["view"], measured
    assert measured["wide"] == [], measured
    send = page.get_by_role("button", name="Send").bounding_box()
    assert send is not None and send["x"] + send["width"] <= 375 and send["height"] >= 44


def test_axe_finds_no_serious_or_critical_violations(page: Any, live: Live) -> None:
    open_demo(page, live, "C0001")
    answer = ask(page, "move $20 to savings")  # an action card
    expect(answer.get_by_role("button", name="Confirm")).to_be_visible()
    cited = ask(page, "How do I avoid the monthly fee on Everyday Checking?")  # sources, thumbs
    cited.locator("details.citation summary").first.click()
    cited.get_by_text("Add a comment").click()
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(AXE_RUN)
    grave = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert grave == [], grave


def test_a_host_page_on_another_origin_embeds_the_widget_and_chats(page: Any, live: Live) -> None:
    assert live.host_url.split(":")[-1] != live.url.split(":")[-1]  # another origin
    answered: list[tuple[str, int]] = []  # (path, status) of every API response, in order
    page.on("response", lambda r: answered.append((r.url.split("?")[0][len(live.url) :], r.status)))
    page.goto(live.host_url)
    chat = page.locator("advisor-chat")
    expect(chat).to_have_count(1)
    page.wait_for_function("() => !!customElements.get('advisor-chat')")
    expired = issue_token(live.settings, "C0005", ttl_s=-60)
    page.evaluate(TOKENS_IN_TURN, [expired, live.token("C0005")])
    expect(page.get_by_role("heading", name="Your accounts")).to_be_visible()
    expect(chat).to_contain_text("Northbank advisor")
    box = page.get_by_role("textbox", name="Message")
    box.fill("What's my checking balance?")
    page.get_by_role("button", name="Send").click()
    answer = wait_answer(page, 1)
    expect(answer.locator(".body")).to_contain_text(fact_display(live, "C0005", "balance.checking"))
    # The widget's first requests share one provider call (the expired token): the inbox's
    # authenticated stream got a 401, one shared refresh got the good token, and the retry and
    # every later request (the chat) used it.
    inbox = [status for path, status in answered if path == "/v1/notifications/stream"]
    assert inbox[:2] == [401, 200], answered
    assert [s for path, s in answered if path == "/v1/chat"] == [200], answered
    assert page.evaluate("() => window.__tokensAsked") == 2
    scripts = page.evaluate("() => [...document.scripts].map((s) => s.src).filter(Boolean)")
    assert scripts == [f"{live.url}/widget/advisor.js"]
