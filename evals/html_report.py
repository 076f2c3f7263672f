"""The HTML report: summary, pass rates by category, latency distribution, failure diffs."""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:64rem;color:#1b2330}
h1{color:#0b4f8a}table{border-collapse:collapse;width:100%;margin:1rem 0}
td,th{border-bottom:1px solid #dde3ea;padding:.3rem .5rem;text-align:left;vertical-align:top}
.pass{color:#1d7a35}.fail{color:#b3261e}.pending{color:#8a6d00}.card{display:inline-block;
padding:.6rem 1rem;margin:.3rem;border:1px solid #dde3ea;border-radius:.5rem}
code{background:#f3f5f8;padding:0 .2rem}svg text{font:12px system-ui,sans-serif}"""


def _bars(rates: dict[str, tuple[float, int]]) -> str:
    """Horizontal SVG bar chart of pass rates, noting checks still pending."""
    height, rows = 22, []
    for i, (name, (rate, pending)) in enumerate(rates.items()):
        note = f" ({pending} checks pending)" if pending else ""
        y, width = i * height, int(rate * 400)
        colour = "#1d7a35" if rate == 1 else "#d08a00" if rate >= 0.8 else "#b3261e"
        rows.append(
            f'<text x="0" y="{y + 15}">{escape(name)}</text>'
            f'<rect x="260" y="{y + 3}" width="{width}" height="16" fill="{colour}"/>'
            f'<text x="{266 + width}" y="{y + 15}">{rate:.0%}{note}</text>'
        )
    return (
        f'<svg width="900" height="{len(rates) * height + 4}" role="img" '
        f'aria-label="pass rate by category">{"".join(rows)}</svg>'
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
        f"<td class=pass>{s['passed']}</td><td class=fail>{s['failed']}</td></tr>"
        for n, s in report["suites"].items()
    )
    pending: dict[str, int] = {}
    for conv in report["results"]:
        count = sum(c["status"] == "pending" for t in conv["turns"] for c in t["checks"])
        pending[conv["category"]] = pending.get(conv["category"], 0) + count
    rates = {n: (c["pass_rate"], pending.get(n, 0)) for n, c in report["categories"].items()}
    return f"""<!doctype html><html lang=en><meta charset=utf-8>
<title>Advisor evaluation {escape(report["generated"])}</title><style>{STYLE}</style>
<h1>Advisor evaluation</h1>
<p>Run {escape(report["generated"])} against {escape(report["target"])}
in {report["seconds"]} s.</p>
<div class=card><b>{report["conversations"]}</b> conversations</div>
<div class=card><b>{report["turns"]}</b> turns</div>
<div class="card pass"><b>{report["passed"]}</b> passed</div>
<div class="card fail"><b>{report["failed"]}</b> failed</div>
<div class="card pending"><b>{checks.get("pending", 0)}</b> checks pending later features</div>
<div class=card>latency p50 <b>{report["latency_ms"]["p50"]}</b> ms, p95
<b>{report["latency_ms"]["p95"]}</b> ms</div>
<h2>Suites</h2><table><tr><th>suite</th><th>conversations</th><th>turns</th><th>passed</th>
<th>failed</th></tr>{suites}</table>
<h2>Pass rate by category</h2>{_bars(rates)}
<h2>Latency</h2>{_histogram(report["latency_ms"]["all"])}
<h2>Failures</h2>{_failures(report)}
</html>
"""
