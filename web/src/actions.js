// An action card: what is proposed, with explicit "Confirm" and "Decline" buttons that call
// POST /v1/actions/{id}/confirm|decline under an Idempotency-Key (one key per decision, reused
// when the same decision is retried, so a retry never acts twice), then the result.
import { ApiError, newKey } from "./api.js";
import { h, usd, when } from "./dom.js";

const RESULTS = {
  executed: "Done.",
  declined: "Declined. Nothing was changed.",
  expired: "This proposal has expired. Nothing was changed.",
  rejected: "Not done",
  cancelled: "Cancelled. Nothing was changed.",
};

/** What the action does, in words; `names` maps account ids to the customer's account names
 * (chat sends from/to, the notifications from_account/to_account). */
export function describe(action, names = new Map()) {
  const account = (id) => names.get(id) || `account ${id}`;
  const from = account(action.from ?? action.from_account);
  const to = account(action.to ?? action.to_account);
  const amount = usd(action.amount);
  if (action.kind === "transfer") return `Move ${amount} from ${from} to ${to}`;
  if (action.kind === "card_freeze") return `Freeze the card on ${from}`;
  if (action.kind === "credit_limit_change") return `Change the credit limit on ${to} to ${amount}`;
  const words = String(action.kind || "action").replace(/_/g, " ");
  return amount ? `${words}: ${amount}` : words;
}

function resultText(action) {
  const text = RESULTS[action.status] ?? `Status: ${action.status}`;
  return action.reason ? `${text} ${action.reason}` : text;
}

/** A servicing offer (no action to confirm yet): the label and how to go on. */
function offerCard(offer) {
  return h("div", { class: "card action offer", role: "group", "aria-label": "Suggested action" },
    h("p", { class: "card-title" }, offer.label || "Suggested action"),
    h("p", { class: "muted" }, "Ask me to do this, or use the app."));
}

/** The card for a proposed action; `ctx` gives `api` and `announce`. */
export function actionCard(action, ctx) {
  if (action.status === "offered" || typeof action.confirm === "boolean") return offerCard(action);
  const keys = {};
  let superseded = false;
  const result = h("p", { class: "result", tabindex: "-1" });
  const problem = h("p", { class: "problem", role: "alert", hidden: true });
  const buttons = h("div", { class: "buttons" });
  const decide = async (decision) => {
    if (superseded || buttons.getAttribute("aria-busy") === "true") return;
    keys[decision] ??= newKey();
    setBusy(buttons, true);
    problem.hidden = true;
    try {
      const path = `/v1/actions/${encodeURIComponent(action.id)}/${decision}`;
      const answered = await ctx.api.json(path, { method: "POST", headers: { "Idempotency-Key": keys[decision] } });
      showResult(answered);
    } catch (error) {
      problem.textContent = error instanceof ApiError ? error.message : "Something went wrong. Try again.";
      problem.hidden = false;
      setBusy(buttons, false);
    }
  };
  const showResult = (answered, decided = true) => {
    result.textContent = resultText(answered);
    if (answered.status === "pending") return setBusy(buttons, false);
    buttons.remove();
    note.remove();
    if (decided) {
      ctx.announce(result.textContent);
      result.focus(); // the buttons are gone: keep keyboard focus in the card
    }
  };
  buttons.append(
    h("button", { type: "button", class: "primary", onclick: () => decide("confirm") }, "Confirm"),
    h("button", { type: "button", class: "secondary", onclick: () => decide("decline") }, "Decline"),
  );
  const expires = action.expires_at ? `Until ${when(action.expires_at)}. ` : "";
  const title = h("p", { class: "card-title" }, describe(action));
  const note = h("p", { class: "muted" }, `${expires}Nothing happens until you confirm.`);
  if (ctx.accountNames) ctx.accountNames().then((names) => { title.textContent = describe(action, names); });
  const card = h("div", { class: "card action", role: "group", "aria-label": "Proposed action" },
    title,
    note,
    buttons, result, problem);
  if (action.status && action.status !== "pending") showResult(action, false);
  // A retried answer proposes afresh: this card's buttons go, so one question never has two
  // live Confirm buttons (a decision already sent still shows its result).
  card.supersede = () => {
    if (superseded || !buttons.isConnected || buttons.getAttribute("aria-busy") === "true") return;
    superseded = true;
    buttons.remove();
    note.textContent = "Replaced by the retried answer. Nothing was changed.";
    card.classList.add("superseded");
  };
  return card;
}

/** While a decision is sent: buttons marked unavailable but kept focusable (focus stays put). */
function setBusy(buttons, busy) {
  for (const button of buttons.querySelectorAll("button")) button.setAttribute("aria-disabled", String(busy));
  buttons.setAttribute("aria-busy", String(busy));
}
