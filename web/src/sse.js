// Server-sent events read from a fetch() Response: the chat needs POST and an Authorization
// header, which EventSource cannot send. Follows the WHATWG event-stream parsing rules.

/** Incremental parser: feed() text as it arrives, get back the completed events. */
export class SseParser {
  constructor() {
    this.buffer = "";
    this.lastEventId = "";
    this.reset();
  }

  reset() {
    this.event = "";
    this.data = [];
    this.id = null;
  }

  /** Completed events ({event, data, id}) in `chunk`; a partial line waits for the next. */
  feed(chunk) {
    this.buffer += chunk;
    const found = [];
    let match;
    const line = /\r\n|\r|\n/g;
    let start = 0;
    while ((match = line.exec(this.buffer))) {
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      const event = this.line(this.buffer.slice(start, match.index));
      if (event) found.push(event);
      start = line.lastIndex;
    }
    this.buffer = this.buffer.slice(start);
    return found;
  }

  /** One line: a field, a comment, or the blank line that dispatches the event. */
  line(text) {
    if (text === "") return this.dispatch();
    if (text.startsWith(":")) return null;
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.id = value;
    return null;
  }

  dispatch() {
    if (this.id !== null) this.lastEventId = this.id;
    const event = this.data.length
      ? { event: this.event || "message", data: this.data.join("\n"), id: this.lastEventId }
      : null;
    this.reset();
    return event;
  }
}

/** The events of a streaming Response body, data parsed as JSON where it is JSON. */
export async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const item of parser.feed(value)) yield { ...item, data: parseJson(item.data) };
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
