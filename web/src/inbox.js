// The notifications inbox: GET /v1/notifications/stream (SSE `notification` events whose id is
// the notification's): the backlog first (?follow=false, not announced), then the following
// stream, reconnecting with Last-Event-ID after a drop so nothing is shown twice or missed;
// each nudge with its action card and a "Why am I seeing this?" button.
import { actionCard } from "./actions.js";
import { h, when } from "./dom.js";
import { showMarkdown } from "./render.js";
import { readEvents } from "./sse.js";
import { whyButton } from "./trace.js";

const MAX_WAIT_MS = 30000;

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });

export class Inbox {
  constructor(ctx) {
    this.ctx = ctx;
    this.lastId = 0;
    this.seen = new Set();
    this.list = h("ul", { class: "inbox-list", id: "advisor-inbox-list" });
    this.empty = h("p", { class: "muted" }, "No notifications yet.");
    this.state = h("p", { class: "muted inbox-state" });
    this.count = h("span", { class: "badge", hidden: true });
    this.toggle = h("button", { type: "button", class: "link", "aria-expanded": "true", "aria-controls": "advisor-inbox-list" },
      "Notifications ", this.count);
    this.toggle.addEventListener("click", () => this.setOpen(this.toggle.getAttribute("aria-expanded") !== "true"));
    this.element = h("section", { class: "inbox", "aria-label": "Notifications" }, this.toggle, this.state, this.empty, this.list);
  }

  /** Forget every notification shown (another customer signed in) and stop following. */
  reset() {
    this.stop();
    this.lastId = 0;
    this.seen = new Set();
    this.backlogRead = false;
    this.list.replaceChildren();
    this.state.textContent = "";
    this.count.textContent = "";
    this.count.hidden = true;
    this.setOpen(this.toggle.getAttribute("aria-expanded") === "true");
  }

  setOpen(open) {
    this.toggle.setAttribute("aria-expanded", String(open));
    this.list.hidden = !open;
    this.empty.hidden = !open || this.seen.size > 0;
  }

  /** Follow the stream until stopped, reconnecting with back-off. */
  start() {
    this.stop();
    this.controller = new AbortController();
    this.run(this.controller.signal);
  }

  stop() {
    if (this.controller) this.controller.abort();
    this.controller = null;
  }

  async run(signal) {
    let wait = 1000;
    while (!signal.aborted) {
      try {
        if (!this.backlogRead) await this.follow(signal, false); // what is there: not announced
        this.backlogRead = true;
        await this.follow(signal, true); // then every new one, live
        wait = 1000;
      } catch (error) {
        if (signal.aborted) return;
        if (error.status >= 400 && error.status < 500 && ![401, 408, 429].includes(error.status)) {
          this.state.textContent = `Notifications are unavailable: ${error.message}`;
          return;
        }
        this.state.textContent = "Notifications are reconnecting…";
      }
      await sleep(wait, signal);
      wait = Math.min(wait * 2, MAX_WAIT_MS);
    }
  }

  /** Read the stream after the last id seen; `live`: follow it (and announce what comes). */
  async follow(signal, live) {
    const headers = { Accept: "text/event-stream" };
    if (this.lastId) headers["Last-Event-ID"] = String(this.lastId);
    const path = live ? "/v1/notifications/stream" : "/v1/notifications/stream?follow=false";
    const response = await this.ctx.api.fetch(path, { headers, signal });
    this.state.textContent = "";
    for await (const item of readEvents(response)) {
      if (signal.aborted) return; // stopped (or another customer): nothing more of this stream
      if (item.event !== "notification" || typeof item.data !== "object") continue;
      this.add(item.data, live);
      this.lastId = Math.max(this.lastId, Number(item.id || item.data.id) || 0);
    }
  }

  /** One notification at the top of the list (newest first), once. */
  add(note, live) {
    if (this.seen.has(note.id)) return;
    this.seen.add(note.id);
    const body = h("div", { class: "body" });
    showMarkdown(body, note.body || "", this.ctx.linkOrigins?.());
    const item = h("li", { class: "card notification", "data-id": String(note.id) },
      h("p", { class: "card-title" }, note.read ? null : h("span", { class: "badge" }, "New"), ` ${note.title || ""}`),
      h("p", { class: "muted" }, when(note.created_at)),
      body,
      note.action ? actionCard(note.action, this.ctx) : null,
      whyButton({ traceId: note.trace_id || null, facts: note.facts || [], ctx: this.ctx }));
    this.list.prepend(item);
    this.empty.hidden = true;
    const unread = this.list.querySelectorAll(".card-title .badge").length;
    this.count.textContent = `${unread} new`;
    this.count.hidden = unread === 0;
    if (live) this.ctx.announce(`New notification: ${note.title || ""}`);
  }
}
