/**
 * <advisor-chat>: the trusted advisor's embeddable chat widget (no framework, shadow DOM).
 *
 * Embed with one script tag:
 *   <advisor-chat api-base="https://advisor.example.com"></advisor-chat>
 *   <script src="https://advisor.example.com/widget/advisor.js"></script>
 *   ...and in the host's own code:
 *   document.querySelector("advisor-chat").tokenProvider = async () => fetchMyAdvisorToken();
 *
 * Attributes:
 *   api-base   the advisor API's origin (default: the origin advisor.js was loaded from)
 *   heading    the title shown in the widget (default "Your advisor")
 *   inbox      "off" hides the notifications inbox
 *   link-origins  more origins (space-separated) whose links are clickable; links to the API's
 *              origin and the host page's own origin always are, any other shows as text
 * Properties:
 *   tokenProvider  async () => bearer token; asked again once when a request gets 401.
 *                  Setting another provider (a different customer) starts afresh: no session,
 *                  no conversation, no notifications of the previous customer.
 *
 * CSS custom properties (set them on advisor-chat; defaults meet WCAG 2.2 AA):
 *   --advisor-font, --advisor-font-size (16px), --advisor-height (600px), --advisor-radius (12px)
 *   --advisor-bg (#ffffff), --advisor-fg (#1b1f24), --advisor-muted (#4a5361)
 *   --advisor-accent (#0a58ca), --advisor-accent-fg (#ffffff), --advisor-focus (#0a58ca)
 *   --advisor-border (#6b7686), --advisor-user-bg (#e7f0fd), --advisor-bot-bg (#f1f3f5)
 *   --advisor-error (#a3001b), --advisor-error-bg (#fdecee)
 *
 * Events handled from POST /v1/chat: meta, token, fact, citation, guard, grounding (retract),
 * action, done, error; from GET /v1/notifications/stream: notification.
 */
import { AnswerView } from "./answer.js";
import { Api, ApiError } from "./api.js";
import { h } from "./dom.js";
import { Inbox } from "./inbox.js";
import { readEvents } from "./sse.js";
import { STYLES } from "./styles.js";

const DEFAULT_MAX_CHARS = 2000;
const ANNOUNCE_GAP_MS = 700; // each announcement is read before the next replaces it
const ANNOUNCE_QUEUE = 4; // beyond this, waiting announcements are joined into the last one
const DROPPED = "The connection dropped before the answer was finished. Your message was not lost: try again.";
const AUTO_RECONNECTS = 1; // a cut stream is re-asked this many times before Retry is offered
const RECONNECT_DELAY_MS = 500;
const SCRIPT_ORIGIN = (() => {
  try {
    return new URL(document.currentScript.src).origin;
  } catch {
    return "";
  }
})();

export class AdvisorChat extends HTMLElement {
  constructor() {
    super();
    this.api = new Api(this);
    this.maxChars = DEFAULT_MAX_CHARS;
    this.sessionId = null;
    this.busy = false;
    this.announcements = [];
    this.ctx = {
      api: this.api,
      announce: (text) => this.announce(text),
      accountNames: () => this.accountNames(),
      linkOrigins: () => this.linkOrigins(),
    };
  }

  get apiBase() {
    return (this.getAttribute("api-base") ?? SCRIPT_ORIGIN).replace(/\/+$/, "");
  }

  get tokenProvider() {
    return this._tokenProvider;
  }

  set tokenProvider(provider) {
    const changed = provider !== this._tokenProvider;
    this._tokenProvider = provider;
    if (changed) this.forgetCustomer();
    if (this.isConnected && this.shadowRoot) this.signedIn();
  }

  /** Drop everything of the customer signed in so far: token, session, conversation, inbox. */
  forgetCustomer() {
    this.api.reset();
    this.names = null;
    this.sessionId = null;
    if (!this.shadowRoot) return;
    if (this.chat) this.chat.abort();
    this.setBusy(false);
    this.log.replaceChildren();
    this.inbox.reset();
    this.clearAnnouncements();
  }

  /** Origins whose links are clickable: the API's, the host page's, and `link-origins`. */
  linkOrigins() {
    const listed = (this.getAttribute("link-origins") || "").split(/\s+/);
    const origins = new Set([location.origin]);
    for (const entry of [this.apiBase || location.origin, ...listed]) {
      try {
        const url = new URL(entry);
        if (url.protocol === "http:" || url.protocol === "https:") origins.add(url.origin);
      } catch {
        // not an absolute URL: not an origin
      }
    }
    return origins;
  }

  connectedCallback() {
    // A tokenProvider set before this element was defined is an own property: adopt it.
    if (Object.prototype.hasOwnProperty.call(this, "tokenProvider")) {
      const provider = this.tokenProvider;
      delete this.tokenProvider;
      this._tokenProvider = provider;
    }
    if (!this.shadowRoot) this.build();
    if (this.tokenProvider) this.signedIn();
    else this.loadLimits();
  }

  disconnectedCallback() {
    this.inbox.stop();
    this.clearAnnouncements();
    if (this.chat) this.chat.abort();
  }

  signedIn() {
    this.loadLimits();
    if (this.getAttribute("inbox") !== "off") this.inbox.start();
  }

  build() {
    const root = this.attachShadow({ mode: "open" });
    this.inbox = new Inbox(this.ctx);
    this.inbox.element.hidden = this.getAttribute("inbox") === "off";
    this.inbox.element.tabIndex = 0;
    this.log = h("div", { class: "log", role: "log", "aria-live": "off", "aria-label": "Conversation", tabindex: "0" });
    this.live = h("div", { class: "sr-only", id: "advisor-announcer", role: "status", "aria-live": "polite", "aria-atomic": "true" });
    this.input = h("textarea", { rows: "2", "aria-label": "Message", "aria-describedby": "advisor-input-problem advisor-counter", placeholder: "Ask about your money…" });
    this.problem = h("p", { class: "problem", id: "advisor-input-problem", hidden: true });
    this.counter = h("p", { class: "counter", id: "advisor-counter" });
    this.send = h("button", { type: "submit" }, "Send");
    const form = h("form", { "aria-label": "Ask the advisor" }, this.input, this.send, this.counter, this.problem);
    form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    this.input.addEventListener("keydown", (event) => this.keydown(event));
    this.input.addEventListener("input", () => this.checkLength());
    const reset = h("button", { type: "button", class: "link", onclick: () => this.reset() }, "New chat");
    const header = h("header", {}, h("p", { class: "title" }, this.getAttribute("heading") || "Your advisor"), reset);
    const chat = h("section", { class: "chat", "aria-label": "Chat with your advisor" }, header, this.inbox.element, this.log, form, this.live);
    root.append(h("style", {}, STYLES), chat);
  }

  async loadLimits() {
    try {
      const limits = await this.api.json("/v1/limits");
      const max = Number(limits && limits.max_message_chars);
      this.maxChars = Number.isInteger(max) && max > 0 ? max : DEFAULT_MAX_CHARS;
      this.ctx.maxCommentChars = Number(limits && limits.max_feedback_comment_chars) || undefined;
    } catch {
      this.maxChars = DEFAULT_MAX_CHARS;
    }
    this.checkLength();
  }

  /** The customer's account names by id (from their 360 view), asked once; empty on failure. */
  accountNames() {
    this.names ??= this.api.json("/v1/customers/me/context")
      .then((view) => new Map((view.accounts || []).map((a) => [a.id, a.name])))
      .catch(() => {
        this.names = null;
        return new Map();
      });
    return this.names;
  }

  keydown(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    }
  }

  /** The message's length as the server counts it (code points, trimmed); a problem if over. */
  checkLength() {
    const size = [...this.input.value.trim()].length;
    const over = size > this.maxChars;
    this.counter.textContent = size ? `${size} / ${this.maxChars} characters` : "";
    this.input.setAttribute("aria-invalid", String(over));
    this.problem.hidden = !over;
    this.problem.textContent = over ? `Your message is ${size} characters; the limit is ${this.maxChars}. Shorten it to send.` : "";
    return !over;
  }

  submit() {
    const message = this.input.value.trim();
    if (!message || this.busy || !this.checkLength()) {
      if (!this.problem.hidden) {
        this.input.focus();
        this.announce(this.problem.textContent); // said when sending is refused, not per key
      }
      return;
    }
    this.input.value = "";
    this.checkLength();
    this.log.append(h("div", { class: "msg user" }, h("span", { class: "sr-only" }, "You: "), message));
    const answer = new AnswerView(this.ctx);
    this.log.append(answer.element);
    this.scroll(true);
    this.ask(message, answer);
  }

  /** Stream one answer into `answer`; a stream cut before `done` or `error` is re-asked once by
   * itself (same session, after a short pause), a second cut, an error event or a refusal shows why. */
  async ask(message, answer) {
    const controller = (this.chat = new AbortController());
    const retry = () => {
      if (this.busy) return;
      this.input.focus(); // the Retry button goes away: focus back to the message box
      this.ask(message, answer);
    };
    this.setBusy(true);
    try {
      for (let attempt = 0; ; attempt += 1) {
        answer.begin(); // cards of a cut attempt are superseded, its text stays until replaced
        const outcome = await this.stream(message, answer, retry, controller.signal);
        if (outcome !== "dropped") return;
        if (attempt >= AUTO_RECONNECTS) {
          answer.fail(DROPPED, retry); // role="alert": read out once
          return;
        }
        answer.reconnecting();
        this.announce("Reconnecting");
        if (!(await pause(RECONNECT_DELAY_MS, controller.signal))) return;
      }
    } finally {
      if (this.chat === controller) this.setBusy(false); // not a newer question's busy state
    }
  }

  /** One request and its events: "ended" (done or error), "dropped" (cut), "failed" or "aborted". */
  async stream(message, answer, retry, signal) {
    let ended = false;
    try {
      const body = { message, ...(this.sessionId ? { session_id: this.sessionId } : {}) };
      const response = await this.api.fetch("/v1/chat", { method: "POST", body, headers: { Accept: "text/event-stream" }, signal });
      for await (const { event, data } of readEvents(response)) {
        ended = this.handle(event, data, answer, retry) || ended;
        this.scroll();
      }
      return ended ? "ended" : "dropped";
    } catch (error) {
      if (signal.aborted) return "aborted";
      if (ended) return "ended"; // a drop after done or error changes nothing
      if (!(error instanceof ApiError)) return "dropped"; // the body broke off mid-stream
      if (error.status === 404) this.sessionId = null;
      answer.fail(error.message, error.retryable ? retry : null);
      return "failed";
    }
  }

  /** One chat event; true when it ends the answer (done or error). */
  handle(event, data, answer, retry) {
    if (event === "meta" && data.session_id) this.sessionId = data.session_id;
    else if (event === "token") answer.token(String(data.text ?? ""));
    else if (event === "grounding") answer.grounding(data);
    else if (event === "guard") answer.guard(data);
    else if (event === "fact") answer.fact(data);
    else if (event === "citation") answer.citation(data);
    else if (event === "action") answer.action(data);
    else if (event === "done") {
      const text = answer.done(data);
      if (text) this.announce(`Advisor: ${text}`);
      return true;
    } else if (event === "error") {
      answer.fail("Sorry, the answer could not be completed. Try again.", retry);
      return true;
    }
    return false;
  }

  setBusy(busy) {
    this.busy = busy;
    this.send.setAttribute("aria-disabled", String(busy));
    this.log.setAttribute("aria-busy", String(busy));
  }

  /** Say `text` once in the polite live region (finished answers, results, new nudges), after
   * those already waiting: a short queue, each given time to be read, none replaced. */
  announce(text) {
    if (!text) return;
    const queue = this.announcements;
    if (queue.length >= ANNOUNCE_QUEUE) queue[queue.length - 1] += `. ${text}`;
    else queue.push(text);
    if (!this.speaking) this.nextAnnouncement();
  }

  nextAnnouncement() {
    const text = this.announcements.shift();
    this.speaking = text !== undefined;
    if (!this.speaking) return;
    this.live.textContent = "";
    this.speakingFrame = requestAnimationFrame(() => {
      this.live.textContent = text;
      this.speakingTimer = setTimeout(() => this.nextAnnouncement(), ANNOUNCE_GAP_MS);
    });
  }

  clearAnnouncements() {
    cancelAnimationFrame(this.speakingFrame);
    clearTimeout(this.speakingTimer);
    this.announcements = [];
    this.speaking = false;
    if (this.live) this.live.textContent = "";
  }

  scroll(force = false) {
    const near = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 120;
    if (force || near) this.log.scrollTop = this.log.scrollHeight;
  }

  reset() {
    if (this.chat) this.chat.abort();
    this.sessionId = null;
    this.log.replaceChildren();
    this.input.focus();
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => resolve(!signal.aborted), ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(false); }, { once: true });
  });
}

if (!customElements.get("advisor-chat")) customElements.define("advisor-chat", AdvisorChat);
