// Thumbs under an answer: "Helpful" / "Not helpful" with an optional comment, stored with the
// turn by POST /v1/feedback {turn_id, rating: "up"|"down", comment?}; a refusal shows its reason.
import { ApiError } from "./api.js";
import { h } from "./dom.js";

let comments = 0;

export function feedbackBar(turnId, ctx) {
  const id = `comment-${++comments}`;
  const comment = h("textarea", { id, rows: "2", maxlength: "1000", "aria-label": "Comment (optional)" });
  const commentBox = h("details", { class: "comment" }, h("summary", {}, "Add a comment"), comment);
  const status = h("p", { class: "feedback-status", role: "status" });
  const send = async (rating, pressed) => {
    const body = { turn_id: turnId, rating };
    const text = comment.value.trim();
    if (text) body.comment = text;
    try {
      await ctx.api.json("/v1/feedback", { method: "POST", body });
      for (const b of buttons) b.setAttribute("aria-pressed", String(b === pressed));
      status.className = "feedback-status";
      status.textContent = "Thanks for your feedback.";
    } catch (error) {
      status.className = "feedback-status problem";
      status.textContent = error instanceof ApiError ? error.message : "Your feedback could not be sent.";
    }
  };
  const thumb = (icon, name, rating) => {
    const button = h("button", { type: "button", class: "thumb", "aria-pressed": "false" },
      h("span", { "aria-hidden": "true" }, icon), ` ${name}`);
    button.addEventListener("click", () => send(rating, button));
    return button;
  };
  const buttons = [thumb("\u{1F44D}", "Helpful", "up"), thumb("\u{1F44E}", "Not helpful", "down")];
  return h("div", { class: "feedback", role: "group", "aria-label": "Was this answer helpful?" },
    h("div", { class: "buttons" }, ...buttons), commentBox, status);
}
