// Thumbs under an answer: "Helpful" / "Not helpful" with an optional comment, stored with the
// turn by POST /v1/feedback {turn_id, rating: "up"|"down", comment?}; a refusal shows its reason.
import { ApiError } from "./api.js";
import { h } from "./dom.js";

let comments = 0;
const SVG = "http://www.w3.org/2000/svg";
// Material Design "thumb_up" (Apache-2.0); the down thumb is the same, turned over.
const THUMB = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";

function thumbIcon(down) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", down ? "icon down" : "icon");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", THUMB);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

export function feedbackBar(turnId, ctx) {
  const id = `comment-${++comments}`;
  const comment = h("textarea", { id, rows: "2", maxlength: String(ctx.maxCommentChars || 1000), "aria-label": "Comment (optional)" });
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
  const thumb = (name, rating) => {
    const button = h("button", { type: "button", class: "thumb", "aria-pressed": "false" },
      thumbIcon(rating === "down"), ` ${name}`);
    button.addEventListener("click", () => send(rating, button));
    return button;
  };
  const buttons = [thumb("Helpful", "up"), thumb("Not helpful", "down")];
  return h("div", { class: "feedback", role: "group", "aria-label": "Was this answer helpful?" },
    h("div", { class: "buttons" }, ...buttons), commentBox, status);
}
