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
from bench.nba_design import VARIANTS, design, report, table
from bench.nba_replay import Pair, collect, measure
from bench.nba_tables import action_rows, counted, list_rows
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


def command(args: argparse.Namespace) -> str:
    """The options this run was given, as the command line shows them."""
    given = [f"--customers {args.customers} "] if args.customers != 400 else []
    given += [f"--dates {args.dates} "] if args.dates != 4 else []
    given += [f"--repeats {args.repeats} "] if args.repeats != 200 else []
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
    started, cpu = time.perf_counter(), time.process_time()
    pairs = collect(service, ids, args.dates)
    print(f"scored {len(pairs)} pairs in {time.perf_counter() - started:.0f} s wall, "
          f"{time.process_time() - cpu:.0f} s CPU")  # fmt: skip
    if args.pairs is not None:
        args.pairs.write_bytes(pickle.dumps(pairs))
    return pairs


def shipped_variant(service: RecommendationService) -> str:
    """The design variant the shipped policy's life-event ranking is (else expected value)."""
    found = [n for n, r in VARIANTS.items() if r == service.policy.life_events]
    return found[0] if found else "expected_value"


def replayed_with_design(service: RecommendationService, pairs: list[Pair]) -> dict[str, Any]:
    """Choose the life-event ranking on the design half; measure the previous one (expected
    value), the shipped one and the chosen one on the report half, once each."""
    chosen = design(service.policy, pairs)
    shipped = shipped_variant(service)
    names = list(dict.fromkeys(["expected_value", shipped, chosen["chosen"]]))
    reported = report(service.policy, pairs, names)
    return measure(service.policy, pairs) | {
        "design": chosen, "reported": reported, "shipped": shipped,
    }  # fmt: skip


def section(args: argparse.Namespace, audit: dict[str, Any], speed: dict[str, float],
            replayed: dict[str, Any]) -> str:  # fmt: skip
    """The BENCHMARKS.md section."""
    models = ", ".join(f"{m} ({n} scores)" for m, n in replayed["models"].items()) or (
        "none promoted: every life-event propensity at its policy default"
    )
    c = replayed["counts"]
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
        f"- **Offline replay** (bench/nba_replay.py; customers split by id into a design half "
        f"and a report half; decision dates {', '.join(str(d) for d in replayed['dates'])}; "
        f"models: {models}). Report half: {counted(c)}. Each customer is seen as the bank held "
        "them on the decision date (accounts open then, balances rolled back, bills and "
        "transactions up to it; bench/nba_asof.py) and scored on it; a positive is a life event "
        "planted in the 91 days after it. How the ranking weighs life-event propensities, "
        "chosen on the design half only (bench/nba_design.py: most hits in the list, ties to "
        "first hits, then precision):",
        "",
        *table(replayed["design"]),
        "",
        "Report half, measured once per ranking (intervals: 2,000 bootstrap draws of "
        "report-half customers):",
        "",
        *list_rows(replayed),
        "",
        "Per action, whom to serve it (report half, per decision date, summed; the shipped "
        "policy's score, which orders customers as the action's model does):",
        "",
        *action_rows(replayed["per_action"]),
        "",
        "A hit: the action the policy ties to the customer's planted event (home_buying -> "
        "home_buying_plan, ...) is in the served list of 3 (first: it is the highest-ranked "
        "life-event action). Popularity ranks with each life-event propensity replaced by the "
        "event's rate among design-half pairs, by expected value, everything else (values, "
        "eligibility, policy) the same. Per action, popularity scores every permitted customer "
        "alike, so its expected precision in any top 5% is the event's rate among them. "
        "No acceptance truth exists for offers (term deposit) in the synthetic bank, so offers "
        "are not replayed.",
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
    parser.add_argument("--dates", type=int, default=4, help="replay decision dates")
    parser.add_argument("--replay-only", action="store_true", help="print the replay only")
    parser.add_argument(
        "--design-only", action="store_true", help="print the design half's table only"
    )
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
    pairs = pairs_of(args, service, ids)
    if args.design_only:  # choose the ranking before the report half is measured
        print("\n".join(table(design(service.policy, pairs))))
        return
    replayed = replayed_with_design(service, pairs)
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
