// One advisor answer in the conversation: streamed text (a `grounding` retract, a retry or the
// automatic reconnect after a cut stream replaces it in place: the old text stays until the new
// one arrives, never both; retracted text is never left alone on screen nor announced), guard
// notes, action cards (a retry's or reconnect's cards supersede the earlier attempt's),
// citations, the "why this answer" panel, feedback, a "Reconnecting…" note and a retryable problem.
import { actionCard } from "./actions.js";
import { h } from "./dom.js";
import { feedbackBar } from "./feedback.js";
import { showMarkdown } from "./render.js";
import { whyButton } from "./trace.js";

// Short notes for the rails that acted, by rule prefix (others are not worth a note).
const GUARD_NOTES = [
  ["privacy.pii_redacted", "Personal data hidden"],
  ["privacy.", "Someone else's data is not shared"],
  ["injection.instruction_in_data", "A source was left out for safety"],
  ["injection", "Request blocked for your security"],
  ["security.", "Request blocked for your security"],
  ["harmful.", "Request declined"],
  ["compliance.", "Checked for compliance"],
];

export class AnswerView {
  constructor(ctx) {
    this.ctx = ctx;
    this.body = h("div", { class: "body pending" });
    this.notes = h("ul", { class: "notes" });
    this.cards = h("div", { class: "cards" });
    this.sources = h("div", { class: "sources" });
    this.extras = h("div", { class: "extras" });
    this.problem = h("div", { class: "problem-box", hidden: true });
    this.status = h("p", { class: "muted reconnecting", hidden: true }); // not a live region
    this.element = h("div", { class: "msg advisor" },
      h("span", { class: "sr-only" }, "Advisor: "),
      this.notes, this.body, this.status, this.cards, this.sources, this.extras, this.problem);
    this.shown = ""; // the text on screen
    this.retracted = false; // whether the text on screen was retracted and not yet replaced
    this.facts = new Map();
    this.cited = new Set();
    this.frame = 0;
    this.begin();
  }

  /** A (re)start: text already on screen stays until the new stream's text replaces it. */
  begin() {
    for (const card of this.cards.children) card.supersede?.();
    this.streamed = "";
    this.held = this.shown;
    this.problem.hidden = true;
    this.problem.replaceChildren();
    this.finished = false;
  }

  /** The stream was cut and is asked again: the text so far stays (retracted text goes), a note says so. */
  reconnecting() {
    if (this.frame) this.paint();
    this.dropRetracted();
    this.status.textContent = "Reconnecting…";
    this.status.hidden = false;
  }

  token(text) {
    this.status.hidden = true;
    this.streamed += text;
    // After a retract or a retry the old text stays until the new text is at least as long.
    const next = this.streamed.length >= this.held.length ? this.streamed : this.held;
    if (next === this.streamed) this.retracted = false;
    if (next !== this.shown) this.show(next);
  }

  /** `grounding` with `retract`: the shown text stays until the first token that replaces it
   * (no blank flash), then the new text alone is shown; if none comes it is cleared. */
  grounding(data) {
    if (!data || !data.retract) return;
    this.held = "";
    this.streamed = "";
    this.retracted = Boolean(this.shown);
  }

  /** Take retracted text off the screen (nothing replaced it). */
  dropRetracted() {
    if (!this.retracted) return;
    this.retracted = false;
    this.show("", true);
  }

  show(text, now = false) {
    this.shown = text;
    if (now) return this.paint();
    if (!this.frame) this.frame = requestAnimationFrame(() => this.paint());
  }

  paint() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.body.classList.toggle("pending", !this.shown);
    showMarkdown(this.body, this.shown, this.ctx.linkOrigins?.());
  }

  guard(data) {
    const rule = String(data?.rule || "");
    const note = GUARD_NOTES.find(([prefix]) => rule.startsWith(prefix));
    if (!note || [...this.notes.children].some((li) => li.textContent === note[1])) return;
    this.notes.append(h("li", {}, note[1]));
  }

  fact(data) {
    if (data && data.id) this.facts.set(data.id, data);
  }

  citation(data) {
    const key = data.citation || data.title;
    if (!key || this.cited.has(key)) return;
    this.cited.add(key);
    const title = [data.index ? `[${data.index}]` : "", data.citation, data.title && data.title !== data.citation ? `– ${data.title}` : ""];
    const quote = data.snippet ? h("blockquote", {}, data.snippet) : null;
    this.sourceList().append(h("details", { class: "citation" },
      h("summary", {}, title.filter(Boolean).join(" ")), quote,
      h("p", { class: "muted" }, `Cited as ${data.citation}`)));
  }

  sourceList() {
    if (!this.sources.firstChild) this.sources.append(h("p", { class: "label" }, "Sources"));
    return this.sources;
  }

  action(data) {
    this.cards.append(actionCard(data, this.ctx));
  }

  /** The final text replaces the streamed text; then sources, why-this-answer and feedback. */
  done(data) {
    this.finished = true;
    this.status.hidden = true;
    const fallback = this.retracted ? "" : this.shown; // retracted text is never the answer
    const text = typeof data.text === "string" && data.text ? data.text : fallback;
    this.retracted = false;
    this.show(text, true);
    for (const citation of data.citations || []) this.citation({ citation });
    this.extras.replaceChildren(...this.whyParts(data));
    if (data.turn_id) this.extras.append(feedbackBar(data.turn_id, this.ctx));
    return text;
  }

  whyParts(data) {
    const facts = (data.facts || []).map((id) => this.facts.get(id)).filter(Boolean);
    const parts = [];
    if (facts.length) {
      parts.push(h("details", { class: "why-answer" }, h("summary", {}, "Why this answer"),
        h("ul", {}, facts.map((f) => h("li", {}, `${f.label}: ${f.display}`,
          f.derivation ? h("span", { class: "muted" }, ` (${f.derivation})`) : null)))));
    }
    for (const traceId of data.decision_trace_ids || []) {
      parts.push(whyButton({ label: "How was this decided?", traceId, ctx: this.ctx }));
    }
    return parts;
  }

  /** A problem under the answer; `retry` adds a Retry button. */
  fail(message, retry) {
    this.status.hidden = true;
    if (this.frame) this.paint(); // what arrived before the failure stays visible...
    this.dropRetracted(); // ...unless it was retracted
    this.body.classList.remove("pending");
    const button = retry ? h("button", { type: "button", class: "secondary", onclick: retry }, "Retry") : null;
    this.problem.replaceChildren(h("p", { class: "problem", role: "alert" }, message), button);
    this.problem.hidden = false;
    return button;
  }
}
