"""`advisor` command line: serve, seed, token, customers, chat."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from advisor import (
    cli_audit,
    cli_bandit,
    cli_credit_review,
    cli_models,
    cli_outcomes,
    cli_rails,
    cli_route,
    cli_score,
    cli_train,
)
from advisor.cli_fail import fail
from advisor.errors import AdvisorError, NotFound
from advisor.rails.offline import keep_offline
from advisor.settings import get_settings

if TYPE_CHECKING:
    from advisor.llm.base import LLMBackend
    from advisor.settings import Settings
    from retrieval.service import RetrievalService

app = typer.Typer(help="Trusted-advisor service for retail banking.", no_args_is_help=True)
console = Console()




@app.callback()
def check_settings() -> None:
    """Refuse bad settings (environment, .env, profile) with a message, before any command."""
    from pydantic import ValidationError

    try:
        get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'settings'}: {e['msg']}"
            for e in exc.errors()
        )
        raise fail(f"invalid settings: {problems}") from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Serve the chat API (and the web widget) on the configured model."""
    import uvicorn

    from advisor.api.app import create_app

    settings = get_settings()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    backend = start_backend(settings)
    try:
        uvicorn.run(
            create_app(settings, backend=backend),
            host=host or settings.host,
            port=port or settings.port,
            log_level="info",
        )
    finally:
        backend.close()


def start_backend(settings: Settings) -> LLMBackend:
    """The configured model back-end, started (the llama-server engine up and healthy);
    a back-end that cannot start (missing binary, port taken, bad model) exits 2 naming why."""
    from advisor.errors import BackendUnavailable
    from advisor.llm import create_backend

    try:
        return create_backend(settings.llm)
    except BackendUnavailable as exc:
        raise fail(f"the {settings.llm.engine} model engine cannot start: {exc}") from None


@app.command()
def seed(
    customers: Annotated[int, typer.Option(min=1, max=100_000, help="How many customers")] = 50,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed")] = 42,
    as_of: Annotated[str | None, typer.Option(help="As-of date YYYY-MM-DD (default today)")] = None,
    if_empty: Annotated[bool, typer.Option(help="Only seed when the bank is empty")] = False,
    database_url: Annotated[
        str | None, typer.Option(help="Database to seed (default: the settings' database)")
    ] = None,
) -> None:
    """Generate the deterministic synthetic bank into the database."""
    from sqlalchemy.exc import SQLAlchemyError

    url = _seed_url(database_url)
    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        raise fail(f"--as-of must be YYYY-MM-DD, got {as_of!r}") from None
    try:
        if _seed_with_progress(url, customers, seed_value, day, if_empty):
            _retire_audit_heads(url)
    except (OSError, SQLAlchemyError) as exc:
        raise fail(f"cannot seed {url}: {exc.__class__.__name__}: {exc}") from None


def _retire_audit_heads(url: str) -> None:
    """A reseed starts a new audit chain: the old chain's published heads are set aside."""
    from advisor.orchestration.audit_heads import retire

    settings = get_settings()
    if url == settings.resolved_database_url and (kept := retire(settings.audit_anchor_file)):
        console.print(f"the old audit chain's published heads were kept as {kept}")


def _seed_url(database_url: str | None) -> str:
    """The database to seed: the option's URL once it parses, else the settings' database."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if database_url is None:
        return get_settings().resolved_database_url
    try:
        make_url(database_url)
    except ArgumentError:
        raise fail(f"--database-url is not a database URL: {database_url!r}") from None
    return database_url


def _seed_with_progress(url: str, customers: int, seed: int, day: dt.date, if_empty: bool) -> bool:
    """Seed with a progress bar, or say the bank is already seeded (--if-empty); whether it
    seeded."""
    from portfolio_context.seed import seed_bank, seeded_as_of

    if if_empty and (existing := seeded_as_of(url)):
        console.print(f"bank already seeded (as of {existing}); nothing to do")
        return False
    with Progress(console=console) as progress:
        task = progress.add_task("seeding customers", total=customers)
        rows = seed_bank(url, customers, seed, day, lambda n: progress.advance(task, n))
    console.print(f"seeded {customers} customers ({rows} rows) as of {day} into {url}")
    return True


def retrieval_service() -> RetrievalService:
    """The retrieval service for the configured var dir, Chroma URL and shared data."""
    from retrieval.service import RetrievalService

    return RetrievalService.from_settings(get_settings())


@app.command()
def ingest() -> None:
    """Index the regulations and the product corpus (only what changed is embedded)."""
    from retrieval.regulations import CorpusError

    service = retrieval_service()
    try:
        with Progress(console=console) as progress:
            task = progress.add_task("embedding changed passages", total=None)
            report = service.ingest(
                lambda n: progress.advance(task, n),
                lambda total: progress.update(task, total=max(total, 1)),
            )
    except CorpusError as exc:
        raise fail(f"{exc}; the previous index is unchanged") from None
    console.print(
        f"added {report.added}, updated {report.updated}, removed {report.removed}, "
        f"unchanged {report.unchanged} in {report.seconds:.1f} s"
    )
    cli_train.train_rails()


@app.command()
def search(
    queries: Annotated[list[str], typer.Argument(help="One or more questions")],
    k: Annotated[int, typer.Option(help="Passages per question (1-50)")] = 5,
    source: Annotated[
        str | None,
        typer.Option(help="reg_b, reg_e, reg_dd, reg_p, reg_v, gdpr, products, servicing"),
    ] = None,
    product_type: Annotated[str | None, typer.Option(help="e.g. credit_card, cd")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Search the corpus; prints citations (or JSON lines with --json)."""
    from retrieval.search import SearchError

    service = retrieval_service()
    for query in queries:
        try:
            hits = service.search(query, k, source, product_type)
        except SearchError as exc:
            raise fail(str(exc)) from None
        if as_json:
            typer.echo(json.dumps({"query": query, "results": [h.to_json() for h in hits]}))
            continue
        console.print(f"[bold]{query}[/]")
        for hit in hits:
            console.print(f"  {hit.chunk.citation}  [dim]{hit.chunk.title}[/]")


@app.command()
def token(
    customer: Annotated[str | None, typer.Option(help="Customer id, e.g. C0001")] = None,
    scope: Annotated[str, typer.Option(help="customer, admin, service or ops")] = "customer",
    ttl: Annotated[int | None, typer.Option(help="Lifetime in seconds")] = None,
) -> None:
    """Print a bearer token for one customer (or, --scope service or ops, for no customer)."""
    from advisor.auth import NO_CUSTOMER_SUBJECTS, issue_token
    from advisor.context_service import ContextService

    settings = get_settings()
    if scope in NO_CUSTOMER_SUBJECTS and customer is not None:
        raise fail(f"--scope {scope} names no customer: drop --customer")
    if scope in NO_CUSTOMER_SUBJECTS:
        customer = NO_CUSTOMER_SUBJECTS[scope]
    if customer is None:
        raise fail("--customer is required (only --scope service or ops names no customer)")
    context = ContextService(settings.resolved_database_url, settings.emergency_buffer_usd)
    if scope == "customer" and not context.exists(customer):
        raise fail(f"no customer {customer!r}; list them with `advisor customers`")
    try:
        typer.echo(issue_token(settings, customer, scope, ttl))
    except ValueError as exc:
        raise fail(str(exc)) from None


@app.command()
def customers(
    as_json: Annotated[bool, typer.Option("--json", help="JSON array of ids")] = False,
) -> None:
    """List the seeded customers."""
    from sqlalchemy import select

    from portfolio_context.db import create_schema, session_scope
    from portfolio_context.models import Customer

    url = get_settings().resolved_database_url
    create_schema(url)
    with session_scope(url) as db:
        rows = list(db.scalars(select(Customer).order_by(Customer.id)))
    if as_json:
        typer.echo(json.dumps([c.id for c in rows]))
        return
    table = Table("id", "name", "profile", "income")
    for c in rows:
        table.add_row(c.id, c.name, c.profile, c.income_type)
    console.print(table)


@app.command()
def chat(
    customer: Annotated[str, typer.Option(help="Customer id to chat as")],
    url: Annotated[str | None, typer.Option(help="Advisor base URL")] = None,
    show_facts: Annotated[bool, typer.Option(help="Show the facts each answer rests on")] = True,
) -> None:
    """Chat with the running advisor as one customer (/reset, /quit)."""
    from advisor.chat_cli import ChatClient, run_repl

    settings = get_settings()
    try:
        client = ChatClient.for_customer(settings, customer, url or settings.url)
        run_repl(client, console, show_facts)
    except (AdvisorError, NotFound) as exc:
        raise fail(str(exc)) from None


eval_app = typer.Typer(help="Golden-conversation evaluation.", invoke_without_command=True)
app.add_typer(eval_app, name="eval")


@eval_app.callback()
def run_eval(
    ctx: typer.Context,
    suite: Annotated[list[str] | None, typer.Option(help="Suite name (repeatable)")] = None,
    report: Annotated[Path, typer.Option(help="Directory for report.json and .html")] = Path(
        "reports/eval"
    ),
    url: Annotated[str | None, typer.Option(help="A running advisor (default: in-process)")] = None,
    tag: Annotated[str | None, typer.Option(help="Only conversations with this tag")] = None,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Parallel sessions with --url")] = 4,
    baseline: Annotated[
        Path | None, typer.Option(help="Fail only on regressions against this earlier report")
    ] = None,
) -> None:
    """Run golden conversations and write DIR/report.json and DIR/report.html."""
    if ctx.invoked_subcommand is not None:
        return
    from evals.golden_format import FormatError
    from evals.harness import evaluate, select
    from evals.report import headline, write_report

    try:
        conversations = select(suite, tag)
    except FormatError as exc:
        raise fail(str(exc)) from None
    with Progress(console=console) as bar:
        task = bar.add_task("conversations", total=len(conversations))
        result = evaluate(get_settings(), conversations, url, workers, lambda: bar.advance(task))
    json_path, html_path = write_report(result, report)
    colour = "green" if result["failed"] == 0 else "red"
    console.print(f"[{colour}]{headline(result)}[/]; {json_path} and {html_path}")
    if baseline is not None:
        _exit_on_regressions(baseline, report)
    elif result["failed"]:
        raise typer.Exit(1)


def _exit_on_regressions(before: Path, after: Path) -> None:
    """Print the comparison of two reports; exit 1 when a conversation regressed."""
    from evals.report import compare, load_report

    try:
        diff = compare(load_report(before), load_report(after))
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"cannot read the reports: {exc}") from None
    for kind, ids in diff.items():
        colour = "red" if kind == "regressed" and ids else "default"
        console.print(f"[{colour}]{kind}: {len(ids)}[/]" + "".join(f"\n  {i}" for i in ids))
    if diff["regressed"]:
        raise typer.Exit(1)


@eval_app.command("compare")
def eval_compare(
    before: Annotated[Path, typer.Argument(help="Earlier report dir or report.json")],
    after: Annotated[Path, typer.Argument(help="Later report dir or report.json")],
) -> None:
    """Show regressions and fixes between two evaluation runs (exit 1 on regressions)."""
    _exit_on_regressions(before, after)


cli_rails.register(app)
cli_route.register(app)
cli_train.register(app)
cli_audit.register(app)
cli_models.register(app)
cli_score.register(app)
cli_outcomes.register(app)
cli_bandit.register(app)
cli_credit_review.register(app)


def main() -> None:
    """Entry point."""
    keep_offline()
    app()


if __name__ == "__main__":
    main()
