// "Why am I seeing this?": a button that loads GET /v1/traces/{id} and shows the trace's `why`
// text and reasons; without a trace, the facts the item rests on.
import { ApiError } from "./api.js";
import { h } from "./dom.js";

let panels = 0;

/** The reasons a trace lists, in the customer's words. */
function traceReasons(trace) {
  const found = trace.recommendation?.reasons ?? trace.reasons ?? [];
  return found.map((r) => (typeof r === "string" ? r : r.text)).filter(Boolean);
}

function factItems(facts) {
  return facts.map((f) => h("li", {}, `${f.label}: ${f.display}`, f.derivation ? h("span", { class: "muted" }, ` (${f.derivation})`) : null));
}

async function fill(panel, traceId, facts, ctx) {
  panel.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    const parts = [];
    if (traceId) {
      const trace = await ctx.api.json(`/v1/traces/${encodeURIComponent(traceId)}`);
      if (trace.why) parts.push(h("p", {}, trace.why));
      const reasons = traceReasons(trace);
      if (reasons.length) parts.push(h("ul", {}, reasons.map((r) => h("li", {}, r))));
    }
    if (facts.length) parts.push(h("p", {}, "Based on:"), h("ul", {}, factItems(facts)));
    if (!parts.length) parts.push(h("p", {}, "This was sent because of activity on your accounts."));
    panel.replaceChildren(...parts);
    return true;
  } catch (error) {
    const reason = error instanceof ApiError ? error.message : "Could not load the explanation.";
    panel.replaceChildren(h("p", { class: "problem", role: "alert" }, reason));
    return false;
  }
}

/** The button and its panel (hidden until asked); `label` names the button. */
export function whyButton({ label = "Why am I seeing this?", traceId = null, facts = [], ctx }) {
  const id = `why-${++panels}`;
  const panel = h("div", { class: "why-panel", id, hidden: true });
  let loaded = false;
  const button = h("button", { type: "button", class: "link", "aria-expanded": "false", "aria-controls": id }, label);
  button.addEventListener("click", async () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    panel.hidden = !open;
    if (open && !loaded) loaded = await fill(panel, traceId, facts, ctx);
  });
  return h("div", { class: "why" }, button, panel);
}
