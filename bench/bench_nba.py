"""Next-best-action: speed, policy violations, and lift over a popularity baseline in an
offline replay against the synthetic bank's planted life events.

    .venv/bin/python bench/bench_nba.py --out BENCHMARKS.md

The replay bank (seed 2027, never a training bank) lives under var/bench/nba/; the registry is
the settings' (var/models/registry), so whatever `advisor train` promoted is what is measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import pickle
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from advisor.context_service import ContextService
from advisor.decisions.policy import Caps
from advisor.decisions.served import ServedLog, ServedRecommendation
from advisor.decisions.service import RecommendationService
from advisor.decisions.traces import DecisionTrace
from advisor.settings import Settings, get_settings
from bench.nba_design import VARIANTS, design, precision, table
from bench.nba_replay import Pair, collect, measure
from bench.report import replace_section
from evals.nba_audit import cap_violations, list_violations
from portfolio_context.db import create_schema, session_scope
from portfolio_context.models import BankMeta, Customer
from portfolio_context.seed import seed_bank
from portfolio_context.view import build_view

BEGIN, END = "<!-- bench_nba:begin -->", "<!-- bench_nba:end -->"
AS_OF = dt.date(2026, 11, 28)


def replay_bank(work: Path, customers: int, seed: int) -> str:
    """The replay bank's URL, seeded unless it already holds these customers; logs cleared."""
    url = f"sqlite:///{(work / f'replay-{seed}-{customers}.db').resolve()}"
    create_schema(url)
    with session_scope(url) as db:
        seeded = db.scalar(select(BankMeta.value).where(BankMeta.key == "customers"))
    if seeded != str(customers):
        started = time.perf_counter()
        seed_bank(url, customers, seed, AS_OF)
        print(f"seeded {customers} customers in {time.perf_counter() - started:.1f} s")
    ServedLog(url)
    with session_scope(url) as db:
        db.execute(delete(ServedRecommendation))
        db.execute(delete(DecisionTrace))
    return url


def customer_ids(url: str) -> list[str]:
    """Every customer of the bank, in id order."""
    with session_scope(url) as db:
        return list(db.scalars(select(Customer.id).order_by(Customer.id)))


def violations(service: RecommendationService, ids: list[str], rounds: int) -> dict[str, Any]:
    """Serve every customer `rounds` lists (caps engage) and audit every list and the log."""
    found: list[str] = []
    lists = 0
    for _ in range(rounds):
        for cid in ids:
            found += list_violations(service.context.view(cid), service.recommend(cid))
            lists += 1
    with session_scope(service.context.url) as db:
        rows = db.execute(select(ServedRecommendation)).scalars().all()
    by_customer: dict[str, list[tuple[str, dt.datetime]]] = {}
    for row in rows:
        at = row.served_at if row.served_at.tzinfo else row.served_at.replace(tzinfo=dt.UTC)
        by_customer.setdefault(row.customer_id, []).append((row.action, at))
    now = dt.datetime.now(dt.UTC)
    for served in by_customer.values():
        found += cap_violations(served, now)
    return {"lists": lists, "served": len(rows), "violations": found, "customers": len(ids)}


def timed(call: Any, repeats: int) -> list[float]:
    """Milliseconds of each of `repeats` calls after 5 warm-up calls."""
    for _ in range(5):
        call()
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def uncapped(settings: Settings) -> RecommendationService:
    """A fresh service (cold caches) whose contact caps never empty a list."""
    service = RecommendationService.from_settings(settings, ContextService.from_settings(settings))
    service.policy = dataclasses.replace(service.policy, caps=Caps(7, 10**9, 10**9))
    return service


def cold(settings: Settings, ids: list[str]) -> list[float]:
    """Milliseconds of each customer's first recommendations (360 view and scores computed),
    models loaded beforehand."""
    service = uncapped(settings)
    service.recommend(ids[0])
    out = []
    for cid in ids[1:]:
        started = time.perf_counter()
        service.recommend(cid)
        out.append((time.perf_counter() - started) * 1000)
    return out


def latency(settings: Settings, ids: list[str], repeats: int) -> dict[str, float]:
    """p50/p95 of one customer's recommendations (traced and logged; caps lifted so the list
    stays full) against a plain 360-view build of the same customer, and the cold p50."""
    service, customer = uncapped(settings), ids[0]
    url = settings.resolved_database_url

    def plain_view() -> None:
        with session_scope(url) as db:
            build_view(db, customer)

    recs, views = timed(lambda: service.recommend(customer), repeats), timed(plain_view, repeats)
    q, first = statistics.quantiles, cold(settings, ids[:31])
    return {
        "p50": statistics.median(recs), "p95": q(recs, n=20)[18],
        "view_p50": statistics.median(views), "view_p95": q(views, n=20)[18],
        "cold_p50": statistics.median(first), "cold_n": len(first),
    }  # fmt: skip


def lift(totals: dict[str, int], key: str) -> str:
    """NBA hits over popularity hits for one measure, as text."""
    base = totals.get(f"popularity_{key}", 0)
    return f"{totals.get(f'nba_{key}', 0) / base:.2f}x" if base else "n/a (baseline 0 hits)"


def command(args: argparse.Namespace) -> str:
    """The options this run was given, as the command line shows them."""
    given = [f"--customers {args.customers} "] if args.customers != 400 else []
    given += [f"--dates {args.dates} "] if args.dates != 4 else []
    given += [f"--audit-customers {args.audit_customers} "] if args.audit_customers else []
    given += [f"--var-dir {args.var_dir} "] if args.var_dir else []
    return "".join(given)


def pairs_of(
    args: argparse.Namespace, service: RecommendationService, ids: list[str]
) -> list[Pair]:
    """The replay's scored pairs, from --pairs when that file exists (else scored and saved)."""
    if args.pairs is not None and args.pairs.exists():
        loaded: list[Pair] = pickle.loads(args.pairs.read_bytes())
        return loaded
    started = time.perf_counter()
    pairs = collect(service, ids, args.dates)
    print(f"scored {len(pairs)} pairs in {time.perf_counter() - started:.0f} s")
    if args.pairs is not None:
        args.pairs.write_bytes(pickle.dumps(pairs))
    return pairs


def replayed_with_design(service: RecommendationService, pairs: list[Pair]) -> dict[str, Any]:
    """Choose the life-event ranking on the design half, measure it on the report half."""
    chosen = design(service.policy, pairs)
    policy = dataclasses.replace(service.policy, life_events=VARIANTS[chosen["chosen"]])
    shipped = measure(service.policy, pairs)["totals"]
    return measure(policy, pairs) | {"design": chosen, "shipped": shipped}


def share(t: dict[str, int], key: str, of: str = "positives") -> str:
    """A count and its share of `of`."""
    return f"{t.get(key, 0)} ({t.get(key, 0) / max(t.get(of, 0), 1):.1%})"


def list_rows(t: dict[str, int], size: int) -> list[str]:
    """The report half's list measures, ranking against popularity."""
    served = (
        f"| life-event actions served in lists: share whose event came | "
        f"{t.get('nba_served_right', 0)} of {t.get('nba_served', 0)} ({precision(t, 'nba'):.1%}) | "
        f"{t.get('popularity_served_right', 0)} of {t.get('popularity_served', 0)} "
        f"({precision(t, 'popularity'):.1%}) | "
    )
    base = precision(t, "popularity")
    return [
        "| measure (report half) | next-best-action | popularity, same weighting | lift |",
        "|---|---|---|---|",
        f"| hits in the served list (top {size}) | {share(t, 'nba_list')} | "
        f"{share(t, 'popularity_list')} | {lift(t, 'list')} |",
        f"| first life-event action is the event's | {share(t, 'nba_first')} | "
        f"{share(t, 'popularity_first')} | {lift(t, 'first')} |",
        served + (f"{precision(t, 'nba') / base:.2f}x |" if base else "n/a |"),
    ]


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


def section(args: argparse.Namespace, audit: dict[str, Any], speed: dict[str, float],
            replayed: dict[str, Any]) -> str:  # fmt: skip
    """The BENCHMARKS.md section."""
    t = replayed["totals"]
    models = ", ".join(f"{m} ({n} scores)" for m, n in replayed["models"].items()) or (
        "none promoted: every life-event propensity at its policy default"
    )
    shipped = replayed["shipped"]
    # fmt: off
    return "\n".join([
        BEGIN,
        "## Next-best-action (bench/bench_nba.py)",
        "",
        f"Run {dt.date.today()} on {platform.machine()}, 2 shared cores. Command: "
        f"`.venv/bin/python bench/bench_nba.py {command(args)}--out BENCHMARKS.md` (replay "
        f"bank: seed {args.seed}, {args.customers} customers, as of {AS_OF}; never a training "
        "bank; models: the promoted ones of the registry under the var dir).",
        "",
        f"- **Speed**: recommendations for one customer (360 view warm, propensities, ranking, "
        f"{args.list_size} traces and the served log written) p50 **{speed['p50']:.1f} ms**, "
        f"p95 {speed['p95']:.1f} ms over {args.repeats} calls; a plain 360-view build of the same "
        f"customer in the same run p50 {speed['view_p50']:.1f} ms (ratio "
        f"{speed['p50'] / speed['view_p50']:.2f}x). Target p50 <= 50 ms. Warm means the 360 "
        "view and the propensities are cached (both kept until the bank is reseeded or a new "
        f"model version is promoted); a customer's first list takes p50 {speed['cold_p50']:.0f} "
        f"ms ({speed['cold_n']} customers: 360 view built and every model scoring).",
        f"- **Policy violations**: **{len(audit['violations'])}** in {audit['lists']} lists "
        f"({args.rounds} rounds over {audit['customers']} customers, {audit['served']} served), "
        "checked by evals/nba_audit.py from the records, not by the ranking's own rules: credit "
        "in hardship or after a delinquency, a held product, a new product in hardship, an "
        "unsuitable investment, list size, contact caps.",
        f"- **Offline replay** (customers split by id into a design half and a report half; "
        f"{t.get('pairs', 0)} report-half customer x reference-date pairs, "
        f"{t.get('positives', 0)} with a planted life event in the next 3 months; reference "
        f"dates {', '.join(str(d) for d in replayed['dates'])}; models: {models}). "
        "How the ranking weighs life-event propensities, chosen on the design half only "
        "(bench/nba_design.py: most hits in the list, ties to precision):",
        "",
        *table(replayed["design"]),
        "",
        f"Report half, chosen variant ({replayed['design']['chosen']}):",
        "",
        *list_rows(t, args.list_size),
        "",
        f"The shipped policy's ranking on the report half: hits in the list "
        f"{share(shipped, 'nba_list')}, first life-event action {share(shipped, 'nba_first')}, "
        f"served life-event actions right {shipped.get('nba_served_right', 0)} of "
        f"{shipped.get('nba_served', 0)}; popularity under it (the strongest baseline: the "
        f"commonest event's action for everyone) {share(shipped, 'popularity_list')}, "
        f"{share(shipped, 'popularity_first')}, {shipped.get('popularity_served_right', 0)} of "
        f"{shipped.get('popularity_served', 0)}.",
        "",
        "Per action, whom to serve it (report half, per reference date, summed):",
        "",
        *action_rows(replayed["per_action"]),
        "",
        "A hit: the action the policy ties to the customer's planted event (home_buying -> "
        "home_buying_plan, ...) is served (or is the first life-event action). The baseline "
        "ranks with each life-event propensity replaced by the event's rate among the design "
        "half; everything else (values, eligibility, policy) is the same. Per action, "
        "popularity scores every permitted customer alike, so its expected precision in any "
        "top 5% is the event's rate among them. Eligibility reads the bank's as-of view, not "
        "the reference date. No acceptance truth exists for offers (term deposit) in the "
        "synthetic bank, so offers are not replayed.",
        END,
    ])
    # fmt: on


def main() -> None:
    """Run the three measurements and write the section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--var-dir", type=Path, default=None, help="whose models/registry")
    parser.add_argument("--dates", type=int, default=4, help="replay reference dates")
    parser.add_argument("--replay-only", action="store_true", help="print the replay only")
    parser.add_argument("--pairs", type=Path, default=None, help="scored replay pairs (cache)")
    parser.add_argument("--audit-customers", type=int, default=0, help="audit the first N only")
    args = parser.parse_args()
    base = get_settings()
    if args.var_dir is not None:
        base = base.model_copy(update={"var_dir": args.var_dir})
    work = base.var_dir / "bench" / "nba"
    work.mkdir(parents=True, exist_ok=True)
    url = replay_bank(work, args.customers, args.seed)
    settings = base.model_copy(update={"database_url": url})
    service = RecommendationService.from_settings(settings, ContextService.from_settings(settings))
    args.list_size = service.policy.list_size
    ids = customer_ids(url)
    replayed = replayed_with_design(service, pairs_of(args, service, ids))
    if args.replay_only:
        print(replayed)
        return
    audited = ids[: args.audit_customers] if args.audit_customers else ids
    audit = violations(service, audited, args.rounds)
    speed = latency(settings, audited, args.repeats)
    text = section(args, audit, speed, replayed)
    print(text, "\n".join(audit["violations"][:20]), sep="\n")
    if args.out:
        replace_section(args.out, BEGIN, END, text)


if __name__ == "__main__":
    main()
