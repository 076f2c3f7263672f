// Safe rendering of text from the model, the corpus or a nudge: markdown by `marked`, raw HTML
// in the markdown shown as text (never parsed), the result sanitised by DOMPurify to a short
// allow-list; links only http(s) to the bank's own pages (the origins the caller allows: the
// API's, the host page's, `link-origins`), opened with rel="noopener noreferrer"; any other link
// keeps its text but is not clickable.
import DOMPurify from "dompurify";
import { Marked } from "marked";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

const markdown = new Marked({ gfm: true, breaks: true, async: false });
markdown.use({
  renderer: {
    html: ({ text }) => escapeHtml(text), // "<img onerror=...>" stays visible text
    image: ({ text }) => escapeHtml(text), // no remote images: their alt text only
  },
});

const ALLOWED_TAGS = [
  "p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
  "table", "thead", "tbody", "tr", "th", "td", "h1", "h2", "h3", "h4", "h5", "h6",
];
const purifier = DOMPurify();
let allowedOrigins = new Set(); // of the render in progress (sanitising is synchronous)
purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName !== "A") return;
  const href = safeHref(node.getAttribute("href"), allowedOrigins);
  if (href === null) {
    node.removeAttribute("href");
    return;
  }
  node.setAttribute("href", href);
  node.setAttribute("target", "_blank");
  node.setAttribute("rel", "noopener noreferrer");
});

/** The link as an absolute http(s) URL on one of `origins`, or null for any other scheme
 * (javascript:, data:...) or origin (including protocol-relative //elsewhere). */
export function safeHref(href, origins = new Set([location.origin])) {
  if (!href) return null;
  try {
    const url = new URL(href, document.baseURI);
    const web = url.protocol === "http:" || url.protocol === "https:";
    return web && origins.has(url.origin) ? url.href : null;
  } catch {
    return null;
  }
}

/** Markdown text as a sanitised DocumentFragment; links clickable only to `origins`. */
export function renderMarkdown(text, origins = new Set([location.origin])) {
  const html = markdown.parse(String(text ?? ""));
  allowedOrigins = origins;
  try {
    return purifier.sanitize(html, {
      ALLOWED_TAGS,
      ALLOWED_ATTR: ["href", "title"],
      ALLOW_DATA_ATTR: false,
      RETURN_DOM_FRAGMENT: true,
    });
  } finally {
    allowedOrigins = new Set();
  }
}

/** Replace `element`'s children with the rendered markdown (links only to `origins`). */
export function showMarkdown(element, text, origins) {
  element.replaceChildren(renderMarkdown(text, origins));
}
