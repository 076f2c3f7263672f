"""The HTML report: summary, outcomes by category, latency distribution, failure diffs."""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:64rem;color:#1b2330}
h1{color:#0b4f8a}table{border-collapse:collapse;width:100%;margin:1rem 0}
td,th{border-bottom:1px solid #dde3ea;padding:.3rem .5rem;text-align:left;vertical-align:top}
.pass{color:#1d7a35}.fail{color:#b3261e}.pending{color:#8a6d00}.card{display:inline-block;
padding:.6rem 1rem;margin:.3rem;border:1px solid #dde3ea;border-radius:.5rem}
code{background:#f3f5f8;padding:0 .2rem}svg text{font:12px system-ui,sans-serif}"""


COLOURS = {"passed": "#1d7a35", "failed": "#b3261e", "pending": "#d08a00"}


def _bars(groups: dict[str, dict[str, Any]]) -> str:
    """Stacked SVG bars per category: conversations passed, failed and pending."""
    height, rows = 22, []
    for i, (name, group) in enumerate(groups.items()):
        y, x, total = i * height, 260, group["conversations"] or 1
        rows.append(f'<text x="0" y="{y + 15}">{escape(name)}</text>')
        for status, colour in COLOURS.items():
            width = int(group.get(status, 0) / total * 400)
            rows.append(f'<rect x="{x}" y="{y + 3}" width="{width}" height="16" fill="{colour}"/>')
            x += width
        label = ", ".join(f"{group.get(s, 0)} {s}" for s in COLOURS if group.get(s, 0))
        rows.append(f'<text x="{x + 6}" y="{y + 15}">{label}</text>')
    return (
        f'<svg width="900" height="{len(groups) * height + 4}" role="img" '
        f'aria-label="conversations passed, failed and pending by category">{"".join(rows)}</svg>'
    )


def _histogram(values: list[float], bins: int = 12) -> str:
    """SVG histogram of turn latencies."""
    if not values:
        return "<p>No turns.</p>"
    top = max(values) or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int(value / top * bins))] += 1
    peak, bars = max(counts), []
    for i, count in enumerate(counts):
        h = int(count / peak * 120)
        bars.append(
            f'<rect x="{i * 50}" y="{130 - h}" width="44" height="{h}" fill="#0b4f8a"/>'
            f'<text x="{i * 50}" y="146">{int((i + 1) * top / bins)}</text>'
        )
    return (
        f'<svg width="{bins * 50}" height="150" role="img" aria-label="latency histogram">'
        f"{''.join(bars)}</svg><p>Turn latency in ms (upper bound of each bin).</p>"
    )


def _failures(report: dict[str, Any]) -> str:
    """Per-turn diffs of every failed check."""
    rows = []
    for conv in report["results"]:
        for turn in conv["turns"]:
            bad = [c for c in turn["checks"] if c["status"] == "failed"]
            if turn["error"]:
                bad.append({"name": "error", "detail": turn["error"]})
            for check in bad:
                rows.append(
                    f"<tr><td><code>{escape(conv['id'])}</code><br>{escape(conv['category'])}"
                    f"</td><td>{escape(turn['user'])}</td><td>{escape(turn['answer'])}</td>"
                    f"<td class=fail><b>{escape(check['name'])}</b>: "
                    f"{escape(check['detail'])}</td></tr>"
                )
    if not rows:
        return "<p class=pass>No failures.</p>"
    return (
        "<table><tr><th>conversation</th><th>user</th><th>advisor answered</th>"
        f"<th>expected, and what differed</th></tr>{''.join(rows)}</table>"
    )


def render_html(report: dict[str, Any]) -> str:
    """The whole page."""
    checks = report["checks"]
    suites = "".join(
        f"<tr><td>{escape(n)}</td><td>{s['conversations']}</td><td>{s['turns']}</td>"
        f"<td class=pass>{s['passed']}</td><td class=fail>{s['failed']}</td>"
        f"<td class=pending>{s.get('pending', 0)}</td></tr>"
        for n, s in report["suites"].items()
    )
    return f"""<!doctype html><html lang=en><meta charset=utf-8>
<title>Advisor evaluation {escape(report["generated"])}</title><style>{STYLE}</style>
<h1>Advisor evaluation</h1>
<p>Run {escape(report["generated"])} against {escape(report["target"])}
in {report["seconds"]} s.</p>
<div class=card><b>{report["conversations"]}</b> conversations</div>
<div class=card><b>{report["turns"]}</b> turns</div>
<div class="card pass"><b>{report["passed"]}</b> passed</div>
<div class="card fail"><b>{report["failed"]}</b> failed</div>
<div class="card pending"><b>{report.get("pending", 0)}</b> pending
(<b>{checks.get("pending", 0)}</b> checks wait for later features)</div>
<div class=card>latency p50 <b>{report["latency_ms"]["p50"]}</b> ms, p95
<b>{report["latency_ms"]["p95"]}</b> ms</div>
<h2>Suites</h2><table><tr><th>suite</th><th>conversations</th><th>turns</th><th>passed</th>
<th>failed</th><th>pending</th></tr>{suites}</table>
<p>A conversation is pending when any of its checks waits for a later feature, even if every
other check passed; it counts as neither passed nor failed.</p>
<h2>Conversations by category</h2>{_bars(report["categories"])}
<h2>Latency</h2>{_histogram(report["latency_ms"]["all"])}
<h2>Failures</h2>{_failures(report)}
</html>
"""
