"""The load test: Locust drives `/v1/chat` with multi-turn sessions over many seeded customers,
at 1, 4, 16 and 32 concurrent sessions, for each engine, in one run, on loopback only.

    python bench/load/run.py --out BENCHMARKS.md            # full: ~2 x 4 levels x 60 s
    python bench/load/run.py --short --out var/load.md      # CI: 1 and 4 sessions, 20 s each
    python bench/load/run.py --engines fake --short ...     # the fake back-end (tests)
    python bench/load/run.py --postgres ...                 # the bank on PostgreSQL, its cost
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from advisor.auth import issue_token
from advisor.settings import Settings
from bench.load import pg
from bench.load.server import ROOT, Sampler, Server
from bench.load.summary import markers, render, summarise
from bench.report import replace_section

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SECRET = "load-test-signing-secret-" + "l" * 32
AS_OF = dt.date(2026, 11, 28)
Result = dict[str, Any]


def parse(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--short", action="store_true", help="1 and 4 sessions, 20 s each")
    parser.add_argument("--engines", default="llama-server,in-process", help="comma-separated")
    parser.add_argument("--sessions", default=None, help="comma-separated (default 1,4,16,32)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per level (60)")
    parser.add_argument("--customers", type=int, default=200, help="seeded customers")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "var" / "bench-load")
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var", help="router, index, models")
    parser.add_argument("--postgres", action="store_true", help="the bank on the local PostgreSQL")
    parser.add_argument(
        "--think", choices=("none", "human"), default="none",
        help="none: closed loop (saturation); human: read the answer, type the next message",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.sessions = [int(n) for n in (args.sessions or ("1,4" if args.short else "1,4,16,32"))
                     .split(",")]  # fmt: skip
    args.duration = args.duration or (20.0 if args.short else 60.0)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    args.work_dir, args.var_dir = args.work_dir.resolve(), args.var_dir.resolve()
    return args


@contextmanager
def seeded_bank(args: argparse.Namespace) -> Iterator[str]:
    """The URL of a bank of `customers` seeded once (each engine serves a copy of it)."""
    from portfolio_context.db import engine_for
    from portfolio_context.seed import seed_bank

    if args.postgres:
        with pg.database() as url:
            seed_bank(url, args.customers, 42, AS_OF)
            engine_for(url).dispose()  # a template database takes no connections
            yield url
        return
    template = args.work_dir / f"template-{args.customers}.db"
    if not template.exists():
        partial = template.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        seed_bank(f"sqlite:///{partial}", args.customers, 42, AS_OF)
        partial.rename(template)
    yield f"sqlite:///{template}"


@contextmanager
def bank_copy(template: str, engine: str, args: argparse.Namespace) -> Iterator[str]:
    """A fresh copy of the seeded bank for one engine's server."""
    if args.postgres:
        with pg.database(template=make_url(template).database) as url:
            yield url
        return
    copy = args.work_dir / f"bank-{engine}.db"
    shutil.copyfile(make_url(template).database or "", copy)
    yield f"sqlite:///{copy}"


def write_tokens(work: Path, bank: str) -> Path:
    """A bearer token for every seeded customer, in a JSON file Locust reads."""
    from sqlalchemy import select

    from portfolio_context.db import engine_for, session_scope
    from portfolio_context.models import Customer

    with session_scope(bank) as db:
        ids = list(db.scalars(select(Customer.id).order_by(Customer.id)))
    engine_for(bank).dispose()
    settings = Settings(jwt_secret=SECRET)
    tokens = {cid: issue_token(settings, cid, ttl_s=12 * 3600) for cid in ids}
    path = work / "tokens.json"
    path.write_text(json.dumps(tokens))
    return path


def server_env(engine: str, args: argparse.Namespace, bank: str) -> dict[str, str]:
    """The server's settings: its own bank copy, fixed secrets, telemetry off."""
    var_dir = args.work_dir / "var-fake" if engine == "fake" else args.var_dir
    return os.environ | {
        "ADVISOR_PROFILE": "test" if engine == "fake" else "default",
        "ADVISOR_DATABASE_URL": bank,
        "ADVISOR_WORKFLOW_DATABASE_URL": f"sqlite:///{args.work_dir / f'dbos-{engine}.db'}",
        "ADVISOR_WORKFLOW_EXECUTOR_ID": f"bench-load-{engine}",
        "ADVISOR_JWT_SECRET": SECRET,
        "ADVISOR_VAULT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ADVISOR_VAR_DIR": str(var_dir),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "OTEL_SDK_DISABLED": "true",
        "TOKENIZERS_PARALLELISM": "false",
    }


def warm_up(server: Server, tokens: Path) -> None:
    """Two turns before measuring (first-use loads and the model's prompt cache)."""
    token = next(iter(json.loads(tokens.read_text()).values()))
    headers = {"Authorization": f"Bearer {token}"}
    for message in ("What's my checking balance?", "How much do I spend on groceries a month?"):
        body = {"message": message}
        httpx.post(f"{server.url}/v1/chat", json=body, headers=headers, timeout=120).read()


def run_level(server: Server, sessions: int, args: argparse.Namespace, tokens: Path) -> Result:
    """One concurrency level: Locust for `duration` s while the server's use is sampled."""
    before = pg.counters(server.bank) if args.postgres else {}
    samples = args.work_dir / f"samples-{server.engine}-{sessions}.jsonl"
    samples.unlink(missing_ok=True)
    env = os.environ | {
        "ADVISOR_LOAD_TOKENS": str(tokens), "ADVISOR_LOAD_SAMPLES": str(samples),
        "ADVISOR_LOAD_THINK": args.think,
    }  # fmt: skip
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(sessions), "-r", str(sessions), "-t", f"{args.duration:.0f}s",
        "--host", server.url, "--stop-timeout", "60", "--only-summary",
        "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    log = args.work_dir / f"locust-{server.engine}-{sessions}.log"
    with Sampler(server) as sampler, log.open("w") as sink:
        subprocess.run(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
            timeout=args.duration + 240, check=True,
        )  # fmt: skip
    lines = samples.read_text().splitlines() if samples.exists() else []
    turns = [json.loads(line) for line in lines]
    summary = summarise(turns, args.duration)
    if args.postgres:
        summary["db_per_turn"] = pg.per_turn(before, pg.counters(server.bank), summary["turns"])
    print(f"{server.engine} x{sessions}: {json.dumps(summary)}", flush=True)
    return {"sessions": sessions, "summary": summary, "machine": sampler.result()}


def run_engine(engine: str, args: argparse.Namespace, template: str, tokens: Path) -> Result:
    """Serve one engine on a fresh copy of the bank and run every level against it."""
    with bank_copy(template, engine, args) as bank:
        result = serve_levels(engine, args, bank, tokens)
        if args.postgres:
            result["stored"] = pg.stored_bytes(bank, ("chat_turns", "chat_sessions", "chat_vaults"))
        return result


def serve_levels(engine: str, args: argparse.Namespace, bank: str, tokens: Path) -> Result:
    """Start the engine's server, warm it, measure every level, stop it."""
    log = args.work_dir / f"server-{engine}.log"
    log.unlink(missing_ok=True)
    server = Server.start(engine, server_env(engine, args, bank), log, bank)
    try:
        server.wait_ready()
        warm_up(server, tokens)
        idle = server.memory()
        levels = [run_level(server, n, args, tokens) for n in args.sessions]
    finally:
        server.stop()
    backend = server.health.get("llm")
    return {"engine": engine, "backend": json.dumps(backend), "idle": idle, "levels": levels}


def main(argv: list[str]) -> int:
    """Run every engine at every level; write the report section and the raw results."""
    args = parse(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    with seeded_bank(args) as template:
        tokens = write_tokens(args.work_dir, template)
        runs = [run_engine(engine, args, template, tokens) for engine in args.engines]
    notes = {
        "cpus": os.cpu_count(),
        "customers": args.customers,
        "duration_s": args.duration,
        "database": "PostgreSQL" if args.postgres else "SQLite",
        "router": (args.var_dir / "models" / "router" / "router.npz").exists(),
        "index": (args.var_dir / "chroma").is_dir(),
        "think": args.think,
    }
    section = render(runs, ["bench/load/run.py", *argv], notes)
    replace_section(args.out, *markers(args.think), section)
    results: dict[str, Any] = {"argv": argv, "notes": notes, "runs": runs}
    (args.work_dir / "results.json").write_text(json.dumps(results, indent=1))
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
