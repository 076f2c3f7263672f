// The streaming SSE parser: split lines across chunks, CRLF/CR/LF, comments (pings), ids.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SseParser } from "../src/sse.js";

test("events split anywhere across chunks come out whole, once", () => {
  const text = 'event: token\r\ndata: {"text":"Hi"}\r\n\r\n: ping\r\n\r\nevent: done\ndata: {"text":"Hi there"}\n\n';
  for (let cut = 0; cut <= text.length; cut++) {
    const parser = new SseParser();
    const found = [...parser.feed(text.slice(0, cut)), ...parser.feed(text.slice(cut))];
    assert.deepEqual(found.map((e) => [e.event, e.data]), [
      ["token", '{"text":"Hi"}'],
      ["done", '{"text":"Hi there"}'],
    ]);
  }
});

test("a lone CR ends a line; multi-line data joins with newlines; id persists", () => {
  const parser = new SseParser();
  const found = parser.feed("id: 7\revent: notification\rdata: a\rdata: b\r\rdata: c\n\n");
  assert.deepEqual(found, [
    { event: "notification", data: "a\nb", id: "7" },
    { event: "message", data: "c", id: "7" },
  ]);
});

test("an event without a blank line after it is not dispatched", () => {
  const parser = new SseParser();
  assert.deepEqual(parser.feed("event: done\ndata: {}\n"), []);
});
