// A tiny element builder: text children are always text nodes, never parsed HTML.

/** `<tag>` with attributes (`on*` functions become listeners, `class` the class name). */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

/** Money as the customer reads it: "$1,250.50" (the API sends decimal strings). */
export function usd(amount) {
  const value = Number(amount);
  if (amount === null || amount === undefined || Number.isNaN(value)) return "";
  return value.toLocaleString("en-US", { style: "currency", currency: "USD" });
}

/** An ISO time as a short local date and time. */
export function when(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
}
