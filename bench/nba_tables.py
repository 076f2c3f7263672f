"""The replay's report-half tables for BENCHMARKS.md (bench/bench_nba.py)."""

from __future__ import annotations

from typing import Any

from bench.nba_design import precision


def share(t: dict[str, int], key: str, of: str = "positives") -> str:
    """A count and its share of `of`."""
    return f"{t.get(key, 0)} ({t.get(key, 0) / max(t.get(of, 0), 1):.1%})"


def ci(pair: tuple[float, float], digits: int = 0) -> str:
    """A 95% interval as text."""
    return f"[{pair[0]:.{digits}f}, {pair[1]:.{digits}f}]"


def ranking_row(name: str, found: dict[str, Any], label: str) -> str:
    """One ranking's report-half row: hits and first hits against popularity, with intervals."""
    t, hits, first = found["totals"], found["list"], found["first"]
    ratio = t.get("nba_list", 0) / max(t.get("popularity_list", 0), 1)
    ratio_first = t.get("nba_first", 0) / max(t.get("popularity_first", 0), 1)
    return (
        f"| {name}{label} | {share(t, 'nba_list')} {ci(hits['nba'])} | **{ratio:.2f}x** "
        f"{ci(hits['ratio'], 2)} | {t.get('nba_list', 0) - t.get('popularity_list', 0):+d} "
        f"{ci(hits['difference'])} | {share(t, 'nba_first')} | {ratio_first:.2f}x "
        f"{ci(first['ratio'], 2)} | {t.get('nba_served_right', 0)} of {t.get('nba_served', 0)} "
        f"({precision(t, 'nba'):.1%}) |"
    )


def list_rows(replayed: dict[str, Any]) -> list[str]:
    """The report half's list measures: each ranking against popularity, with intervals."""
    reported, chosen = replayed["reported"], replayed["design"]["chosen"]
    out = [
        "| ranking (report half) | hits in the list [95% CI] | vs popularity [95% CI] | "
        "difference [95% CI] | first life-event action | vs popularity [95% CI] | "
        "life-event actions served: right |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, found in reported.items():
        label = " (shipped)" if name == replayed["shipped"] else ""
        label += " (design choice)" if name == chosen else ""
        out.append(ranking_row(name, found, label))
    t, hits = next(iter(reported.values()))["totals"], next(iter(reported.values()))["list"]
    out.append(
        f"| popularity (design-half rates, expected value) | {share(t, 'popularity_list')} "
        f"{ci(hits['popularity'])} | 1.00x | | {share(t, 'popularity_first')} | 1.00x | "
        f"{t.get('popularity_served_right', 0)} of {t.get('popularity_served', 0)} "
        f"({precision(t, 'popularity'):.1%}) |"
    )
    return out


def action_rows(found: dict[str, dict[str, float]]) -> list[str]:
    """Per life-event action: precision in the top 5% of permitted customers vs their rate."""
    out = [
        "| action (report half) | permitted pairs | event rate among them (popularity) | "
        "top 5% by the action's score | events there | precision | lift |",
        "|---|---|---|---|---|---|---|",
    ]
    for action, f in found.items():
        rate = f["positives"] / max(f["permitted"], 1)
        top = f["top_hits"] / max(f["top"], 1)
        out.append(
            f"| {action} | {f['permitted']:.0f} | {f['positives']:.0f} ({rate:.2%}) | "
            f"{f['top']:.0f} | {f['top_hits']:.0f} | {top:.2%} | "
            + (f"{top / rate:.1f}x |" if rate else "n/a |")
        )
    return out


def counted(c: dict[str, int]) -> str:
    """The report half's size and positives, as text."""
    events = ", ".join(f"{k.removeprefix('event:')} {v}" for k, v in c.items() if ":" in k)
    return (
        f"{c['pairs']} customer x decision-date pairs of {c['customers']} customers, "
        f"{c['positive_pairs']} positive pairs of {c['positive_customers']} customers "
        f"(events: {events})"
    )
