"""`advisor bandit`: batch update from logged outcomes, and the simulator's report."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from advisor.cli_fail import fail
from advisor.errors import AdvisorError
from advisor.settings import get_settings

bandit_app = typer.Typer(help="The contextual bandit that chooses the first suggestion.")
console = Console()


@bandit_app.command("update")
def update(
    since: Annotated[str, typer.Option(help="Learn from suggestions served since YYYY-MM-DD")] = (
        "1970-01-01"
    ),
    promote: Annotated[
        str, typer.Option(help="auto (when the evaluation clears the bar), always or never")
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON")] = False,
) -> None:
    """Refit the bandit from every rewarded suggestion, evaluate it off-policy, register it."""
    from advisor.learning.export import parse_since
    from advisor.learning.suggestions import SuggestionLog
    from advisor.predict.registry import Registry
    from advisor.training.bandit_update import update as run_update

    settings = get_settings()
    try:
        start = parse_since(since)
    except ValueError:
        raise fail(f"--since must be a date YYYY-MM-DD (or an ISO time), got {since!r}") from None
    try:
        found = run_update(
            SuggestionLog(settings.resolved_database_url),
            Registry.from_settings(settings),
            start,
            promote,
        )
    except AdvisorError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(found.__dict__, sort_keys=True, default=str))
        return
    state = "promoted" if found.promoted else "registered, not promoted"
    console.print(
        f"bandit v{found.version} {state} ({found.reason}); learned from "
        f"{found.rewarded} rewarded suggestions, {found.pending} still pending"
    )
    if not settings.bandit_enabled:
        console.print("the bandit is off: ADVISOR_BANDIT_ENABLED=true lets it choose")


@bandit_app.command("simulate")
def simulate(
    rounds: Annotated[int, typer.Option(min=200, max=100_000, help="Customers per policy")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same report)")] = 0,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Rounds per bandit update")] = 100,
    logging_explore: Annotated[
        float, typer.Option(min=0.01, max=1.0, help="The logging policy's exploration share")
    ] = 0.3,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON")] = False,
) -> None:
    """Regret of bandit, greedy, logging and random policies on synthetic customers, and
    off-policy estimates (IPS, SNIPS, DR) of the bandit against its true value."""
    from advisor.decisions.policy import shipped_policy
    from advisor.learning.config import shipped_config
    from advisor.learning_eval.simulator import simulate as run

    found = run(shipped_policy(), shipped_config(), rounds, seed, batch, logging_explore)
    typer.echo(json.dumps(found, sort_keys=True) if as_json else _table(found))


def _table(found: dict[str, Any]) -> str:
    """The report as lines of text."""
    lines = [
        f"{name:8} regret {p['regret']:8.1f}  reward {p['reward']:.3f}"
        for name, p in found["policies"].items()
    ]
    lines += [
        f"{name:8} {e['estimate']:.4f} [{e['ci_low']:.4f}, {e['ci_high']:.4f}]"
        for name, e in found["ope"].items()
    ]
    lines.append(
        f"true value of the bandit {found['true_value']:.4f}; logging policy "
        f"{found['logging_value']['estimate']:.4f}"
    )
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add `advisor bandit ...` to the CLI."""
    app.add_typer(bandit_app, name="bandit")
