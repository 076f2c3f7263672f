// In-app chat widget: streams /v1/chat (server-sent events over fetch) into the page.
"use strict";

const log = document.getElementById("log");
const form = document.getElementById("ask");
const input = document.getElementById("message");
const tokenInput = document.getElementById("token");
let sessionId = null;

tokenInput.value = sessionStorage.getItem("advisor-token") || "";
tokenInput.addEventListener("change", () => sessionStorage.setItem("advisor-token", tokenInput.value));
document.getElementById("reset").addEventListener("click", () => { sessionId = null; log.replaceChildren(); });

function bubble(role, text) {
  const item = document.createElement("li");
  item.className = role;
  const body = document.createElement("p");
  body.textContent = text;
  item.append(body);
  log.append(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

function showFacts(item, facts) {
  if (!facts.length) return;
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = "Why this answer";
  const list = document.createElement("ul");
  for (const fact of facts) {
    const row = document.createElement("li");
    row.textContent = `${fact.label}: ${fact.display} (${fact.derivation})`;
    list.append(row);
  }
  details.append(summary, list);
  item.append(details);
}

// Parse an SSE byte stream into {event, data} objects (blank line ends an event).
async function* sseEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

async function ask(message) {
  bubble("you", message);
  const item = bubble("advisor", "");
  const text = item.querySelector("p");
  const facts = [];
  const response = await fetch("/v1/chat", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${tokenInput.value}` },
    body: JSON.stringify({ message, session_id: sessionId }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    text.textContent = `Sorry: ${body.detail || response.statusText}`;
    item.classList.add("error");
    return;
  }
  for await (const { event, data } of sseEvents(response)) {
    if (event === "meta") sessionId = data.session_id;
    else if (event === "fact") facts.push(data);
    else if (event === "token") text.textContent += data.text;
    else if (event === "grounding" && data.retract) text.textContent = "";
    else if (event === "done") text.textContent = data.text;
    else if (event === "error") { text.textContent = data.message; item.classList.add("error"); }
  }
  showFacts(item, facts);
}

form.addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const message = input.value.trim();
  if (!message) return;
  input.value = "";
  form.querySelector("button").disabled = true;
  try { await ask(message); } finally { form.querySelector("button").disabled = false; input.focus(); }
});
