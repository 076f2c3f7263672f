"""The testers' CLI: seed, customers, token, chat (against a live server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.api.app import create_app
from advisor.auth import verify_token
from advisor.cli import app
from advisor.settings import Settings, get_settings
from tests.fakes import FakeBackend
from tests.live import serve

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Environment pointing the CLI at the test bank and secret."""
    env = {
        "ADVISOR_DATABASE_URL": settings.resolved_database_url,
        "ADVISOR_JWT_SECRET": str(settings.jwt_secret),
        "ADVISOR_VAR_DIR": str(settings.var_dir),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def test_customers_json_lists_seeded_ids(cli_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["customers", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [f"C{i:04d}" for i in range(1, 9)]


def test_token_names_the_customer(cli_env: dict[str, str], settings: Settings) -> None:
    result = runner.invoke(app, ["token", "--customer", "C0003"])
    assert result.exit_code == 0
    assert verify_token(settings, result.output.strip()).customer_id == "C0003"


def test_a_service_token_names_no_customer(cli_env: dict[str, str], settings: Settings) -> None:
    refused = runner.invoke(app, ["token", "--scope", "service", "--customer", "C0003"])
    assert refused.exit_code == 2 and "--scope service names no customer" in refused.output
    result = runner.invoke(app, ["token", "--scope", "service"])
    assert result.exit_code == 0, result.output
    principal = verify_token(settings, result.output.strip())
    assert (principal.scope, principal.customer_id) == ("service", "service")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["token", "--customer", "C9999"], "no customer 'C9999'"),
        (["token", "--customer", "C0001", "--scope", "root"], "scope must be one of"),
        (["seed", "--as-of", "yesterday"], "--as-of must be YYYY-MM-DD"),
        (["seed", "--customers", "0"], "Invalid value"),
        (["chat", "--customer", "C9999"], "no customer 'C9999'"),
    ],
)
def test_bad_cli_input_gets_a_message(
    cli_env: dict[str, str], args: list[str], message: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert message in result.output


def test_chat_streams_and_handles_reset_and_quit(
    cli_env: dict[str, str], settings: Settings
) -> None:
    with serve(create_app(settings, backend=FakeBackend())) as url:
        result = runner.invoke(
            app,
            ["chat", "--customer", "C0001", "--url", url],
            input=(
                "What's my checking balance?\n/reset\nand last month?\n"
                "How do I launder money?\n/quit\n"
            ),
        )
    assert result.exit_code == 0, result.output
    assert "rails: harmful.money_laundering (refuse" in result.output
    assert "Your checking balance is $" in result.output
    assert "balance.checking" in result.output  # the facts table
    assert "new session" in result.output
    assert "I can answer questions about your own accounts" in result.output


def test_chat_without_a_server_says_how_to_start_one(cli_env: dict[str, str]) -> None:
    result = runner.invoke(
        app,
        ["chat", "--customer", "C0001", "--url", "http://127.0.0.1:9"],
        input="What's my checking balance?\n",
    )
    assert result.exit_code != 0
    assert "cannot reach the advisor" in result.output


def test_seed_entry_point_in_a_fresh_process(tmp_path: Path) -> None:
    env = {**os.environ, "ADVISOR_VAR_DIR": str(tmp_path), "ADVISOR_DATABASE_URL": ""}
    env.pop("ADVISOR_DATABASE_URL")
    advisor = str(Path(sys.executable).parent / "advisor")

    def run(*args: str) -> str:
        done = subprocess.run(
            [advisor, *args], env=env, capture_output=True, text=True, timeout=120, check=True
        )
        return done.stdout

    assert "seeded 3 customers" in run("seed", "--customers", "3", "--as-of", "2026-11-28")
    assert "already seeded" in run("seed", "--if-empty")
    listed = run("customers", "--json")
    assert json.loads(listed) == ["C0001", "C0002", "C0003"]
    assert (tmp_path / "advisor.db").exists()


class ScriptedClient:
    """A chat client that replays one answer's events."""

    def __init__(self, items: list[tuple[str, dict[str, object]]]) -> None:
        self.items = items

    def ask(self, message: str) -> Iterator[tuple[str, dict[str, object]]]:
        """The scripted events."""
        yield from self.items


def test_chat_shows_only_the_final_answer_after_a_retraction() -> None:
    import io

    from rich.console import Console

    from advisor.chat_cli import render_answer

    items: list[tuple[str, dict[str, object]]] = [
        ("token", {"text": "I'm sorry, I can't"}),
        ("grounding", {"outcome": "fallback", "reason": "security.prompt_leak", "retract": True}),
        ("token", {"text": "Your checking balance is $1,017.37."}),
        ("done", {}),
    ]
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=100)
    render_answer(ScriptedClient(items), "balance?", console, False)  # type: ignore[arg-type]
    shown = out.getvalue()
    assert "Your checking balance is $1,017.37." in shown and "sorry" not in shown
    assert "fallback: security.prompt_leak" in shown


def retracted(text: str) -> list[tuple[str, dict[str, object]]]:
    """A drafted token, its retraction, then the answer's tokens."""
    grounding = {"outcome": "fallback", "reason": "deadline", "retract": True}
    return [("token", {"text": " Sorry"}), ("grounding", grounding), ("token", {"text": text})]


@pytest.mark.parametrize(
    ("items", "line"),
    [
        ([("token", {"text": " Your"}), ("token", {"text": " balance."})], "Your balance."),
        ([("token", {"text": " \n "}), ("token", {"text": "\tHello"}), ("token", {"text": " you"})],
         "Hello you"),
        (retracted(" Your balance."), "Your balance."),
        ([("token", {"text": "Hi"}), ("token", {"text": "  there"})], "Hi  there"),
    ],
    ids=["leading space", "blank first tokens", "after a retraction", "inner spaces kept"],
)  # fmt: skip
def test_chat_answer_starts_at_its_first_visible_character(
    items: list[tuple[str, dict[str, object]]], line: str
) -> None:
    import io

    from rich.console import Console

    from advisor.chat_cli import render_answer

    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=100)
    render_answer(ScriptedClient([*items, ("done", {})]), "hi", console, False)  # type: ignore[arg-type]
    assert f"advisor > {line}\n" in out.getvalue(), out.getvalue()


ANSI = r"\x1b\[[0-9;?]*[A-Za-z]"
FALLBACK_TURN: list[tuple[str, dict[str, object]]] = [
    ("token", {"text": "Your checking balance is $1,017.37."}),
    ("grounding", {"outcome": "fallback", "reason": "deadline", "retract": False}),
    ("guard", {"rule": "pii.input", "action": "redact", "reason": "personal data hidden"}),
    ("done", {}),
]
PLAIN_TURN: list[tuple[str, dict[str, object]]] = [("token", {"text": "Hello."}), ("done", {})]


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
@pytest.mark.parametrize("items", [FALLBACK_TURN, PLAIN_TURN], ids=["with notes", "no notes"])
def test_chat_notes_and_the_next_prompt_start_on_their_own_lines(
    terminal: bool, items: list[tuple[str, dict[str, object]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins
    import io
    import re

    from rich.console import Console

    from advisor.chat_cli import run_repl

    out, typed = io.StringIO(), iter(["balance?", "balance?", "/quit"])

    def typing(prompt: str = "") -> str:
        """The tester types a line; the terminal echoes it."""
        line = next(typed)
        out.write(line + "\n")
        return line

    monkeypatch.setattr(builtins, "input", typing)
    console = Console(file=out, force_terminal=terminal, width=100, color_system=None)
    run_repl(ScriptedClient(items), console, show_facts=False)  # type: ignore[arg-type]
    # What a reader sees of each line: escapes gone, the last redraw after a carriage return.
    lines = [re.sub(ANSI, "", line).split("\r")[-1] for line in out.getvalue().split("\n")]
    answer = "advisor > " + str(items[0][1]["text"])
    assert lines.count(answer) == 2, lines
    assert [line for line in lines if "you > " in line] == ["you > balance?"] * 2 + ["you > /quit"]
    notes = ["(fallback: deadline)", "rails: pii.input (redact: personal data hidden)"]
    if items is FALLBACK_TURN:
        assert all(lines.count(note) == 2 for note in notes), lines
