// Safe rendering of text from the model, the corpus or a nudge: markdown by `marked`, raw HTML
// in the markdown shown as text (never parsed), the result sanitised by DOMPurify to a short
// allow-list; links only http(s) (relative ones resolve to the host's own pages), opened with
// rel="noopener noreferrer".
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
purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName !== "A") return;
  const href = safeHref(node.getAttribute("href"));
  if (href === null) {
    node.removeAttribute("href");
    return;
  }
  node.setAttribute("href", href);
  node.setAttribute("target", "_blank");
  node.setAttribute("rel", "noopener noreferrer");
});

/** The link as an absolute http(s) URL, or null for any other scheme (javascript:, data:...). */
export function safeHref(href) {
  if (!href) return null;
  try {
    const url = new URL(href, document.baseURI);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** Markdown text as a sanitised DocumentFragment. */
export function renderMarkdown(text) {
  const html = markdown.parse(String(text ?? ""));
  return purifier.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ["href", "title"],
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
}

/** Replace `element`'s children with the rendered markdown. */
export function showMarkdown(element, text) {
  element.replaceChildren(renderMarkdown(text));
}
