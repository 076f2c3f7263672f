// The widget's stylesheet (inside its shadow root). Every colour, the font, radius and height
// are CSS custom properties the host page may set on `advisor-chat` (see advisor-chat.js).
// The defaults meet WCAG 2.2 AA: text >= 4.5:1, controls and focus rings >= 3:1.
export const STYLES = `
:host {
  --_bg: var(--advisor-bg, #ffffff);
  --_fg: var(--advisor-fg, #1b1f24);
  --_muted: var(--advisor-muted, #4a5361);
  --_accent: var(--advisor-accent, #0a58ca);
  --_accent-fg: var(--advisor-accent-fg, #ffffff);
  --_border: var(--advisor-border, #6b7686);
  --_user-bg: var(--advisor-user-bg, #e7f0fd);
  --_bot-bg: var(--advisor-bot-bg, #f1f3f5);
  --_error: var(--advisor-error, #a3001b);
  --_error-bg: var(--advisor-error-bg, #fdecee);
  --_focus: var(--advisor-focus, #0a58ca);
  --_radius: var(--advisor-radius, 12px);
  display: block;
  height: var(--advisor-height, 600px);
  max-width: 100%;
  color: var(--_fg);
  font-family: var(--advisor-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: var(--advisor-font-size, 16px);
  line-height: 1.45;
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.chat {
  display: flex; flex-direction: column; height: 100%; min-width: 0;
  background: var(--_bg); border: 1px solid var(--_border); border-radius: var(--_radius); overflow: hidden;
}
header {
  display: flex; align-items: center; justify-content: space-between; gap: .5rem;
  padding: .5rem .75rem; border-bottom: 1px solid var(--_border);
}
.title { margin: 0; font-weight: 700; }
.inbox { flex: none; max-height: 40%; overflow-y: auto; padding: .25rem .75rem; border-bottom: 1px solid var(--_border); }
.inbox-list, .notes { list-style: none; margin: 0; padding: 0; }
.log { flex: 1 1 auto; overflow-y: auto; padding: .75rem; display: flex; flex-direction: column; gap: .75rem; }
.msg { max-width: 92%; padding: .5rem .75rem; border-radius: var(--_radius); overflow-wrap: anywhere; }
.msg.user { align-self: flex-end; background: var(--_user-bg); white-space: pre-wrap; }
.msg.advisor { align-self: flex-start; background: var(--_bot-bg); }
.body > :first-child { margin-top: 0; }
.body > :last-child { margin-bottom: 0; }
.body.pending::after { content: "Thinking…"; color: var(--_muted); }
.notes li { font-size: .85em; color: var(--_muted); font-style: italic; }
.card { background: var(--_bg); border: 1px solid var(--_border); border-radius: calc(var(--_radius) / 2); padding: .5rem .75rem; margin: .5rem 0; }
.card-title { margin: 0 0 .25rem; font-weight: 600; }
.muted { color: var(--_muted); font-size: .9em; margin: .25rem 0; }
.label { margin: .5rem 0 .25rem; font-weight: 600; font-size: .9em; }
.badge { display: inline-block; padding: 0 .4em; border-radius: 1em; background: var(--_accent); color: var(--_accent-fg); font-size: .8em; font-weight: 600; }
details { margin: .25rem 0; }
summary { cursor: pointer; }
pre { max-width: 100%; overflow-x: auto; }
blockquote { margin: .25rem 0; padding-left: .75rem; border-left: 3px solid var(--_border); }
a { color: var(--_accent); }
a:not([href]) { color: inherit; text-decoration: none; }
button {
  font: inherit; min-height: 2.75rem; min-width: 2.75rem; padding: .4rem .9rem; border-radius: .5rem; cursor: pointer;
  border: 1px solid var(--_accent); background: var(--_bg); color: var(--_accent);
}
button.primary, form button { background: var(--_accent); color: var(--_accent-fg); }
button.link { border: none; background: none; padding: .25rem; min-height: 2.75rem; text-decoration: underline; }
button[disabled], button[aria-disabled="true"] { opacity: .7; cursor: not-allowed; }
button[aria-pressed="true"] { background: var(--_accent); color: var(--_accent-fg); }
.icon { width: 1.1em; height: 1.1em; vertical-align: -.15em; }
.icon.down { transform: rotate(180deg); }
.buttons { display: flex; flex-wrap: wrap; gap: .5rem; margin: .25rem 0; }
.problem { color: var(--_error); background: var(--_error-bg); padding: .25rem .5rem; border-radius: .25rem; margin: .25rem 0; }
.problem-box { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; }
form { flex: none; display: flex; flex-wrap: wrap; gap: .5rem; padding: .5rem .75rem; border-top: 1px solid var(--_border); }
textarea {
  flex: 1 1 12rem; min-width: 0; font: inherit; color: var(--_fg); background: var(--_bg);
  border: 1px solid var(--_border); border-radius: .5rem; padding: .5rem; resize: vertical;
}
textarea[aria-invalid="true"] { border-color: var(--_error); }
form .problem, .counter { flex-basis: 100%; }
.counter { margin: 0; font-size: .8em; color: var(--_muted); }
.feedback textarea { width: 100%; }
:focus-visible { outline: 3px solid var(--_focus); outline-offset: 2px; }
.log:focus-visible, .inbox:focus-visible, .result:focus-visible { outline-offset: -3px; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@media (prefers-reduced-motion: reduce) { * { scroll-behavior: auto !important; } }
`;
