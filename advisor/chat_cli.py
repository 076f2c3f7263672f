"""The testers' chat client: streams answers from a running advisor over SSE."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from httpx_sse import connect_sse
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from advisor.auth import issue_token
from advisor.context_service import ContextService
from advisor.errors import BackendUnavailable, InvalidInput, NotFound
from advisor.settings import Settings

PROMPT = "[bold cyan]you[/] > "
DECISIONS = {"/confirm": "confirm", "/decline": "decline"}  # chat command -> actions API verb


@dataclass
class ChatClient:
    """One customer's session against the advisor's `/v1/chat`."""

    base_url: str
    token: str
    session_id: str | None = None
    timeout: float = 120.0
    facts: list[dict[str, Any]] = field(default_factory=list)
    http: httpx.Client | None = None  # an open client to use (tests: the app's TestClient)

    @classmethod
    def for_customer(cls, settings: Settings, customer: str, base_url: str) -> ChatClient:
        """A client holding a token for `customer` (minted with the local secret)."""
        context = ContextService(settings.resolved_database_url, settings.emergency_buffer_usd)
        if not context.exists(customer):
            raise NotFound(f"no customer {customer!r}; list them with `advisor customers`")
        return cls(base_url.rstrip("/"), issue_token(settings, customer))

    def ask(self, message: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield (event, data) pairs of one streamed answer."""
        body = {"message": message, "session_id": self.session_id}
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            with (
                self._http() as http,
                connect_sse(
                    http, "POST", f"{self.base_url}/v1/chat", json=body, headers=headers
                ) as source,
            ):
                if source.response.status_code >= 400:
                    source.response.read()
                    raise InvalidInput(_detail(source.response))
                for sse in source.iter_sse():
                    data = json.loads(sse.data) if sse.data else {}
                    if sse.event == "meta":
                        self.session_id = data["session_id"]
                    yield sse.event, data
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                f"cannot reach the advisor at {self.base_url} ({exc.__class__.__name__}); "
                "start it with `make run` or `advisor serve`"
            ) from exc

    @contextlib.contextmanager
    def _http(self) -> Iterator[httpx.Client]:
        """The injected client, or a new one closed after use."""
        if self.http is not None:
            yield self.http
            return
        with httpx.Client(timeout=self.timeout) as http:
            yield http

    def decide(self, action_id: str, decision: str) -> dict[str, Any]:
        """Confirm or decline a proposed action under a fresh Idempotency-Key: the action."""
        url = f"{self.base_url}/v1/actions/{quote(action_id, safe='')}/{decision}"
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": uuid.uuid4().hex}
        try:
            with self._http() as http:
                response = http.post(url, headers=headers)
        except httpx.TransportError as exc:
            raise BackendUnavailable(f"cannot reach the advisor at {self.base_url}") from exc
        if response.status_code == 404:
            raise NotFound(f"no action {action_id!r} of yours")
        if response.status_code >= 400:
            raise InvalidInput(_detail(response))
        found: dict[str, Any] = response.json()
        return found


def _detail(response: httpx.Response) -> str:
    """The server's reason for a 4xx/5xx."""
    try:
        return f"{response.status_code}: {response.json().get('detail')}"
    except ValueError:
        return f"{response.status_code}: {response.text[:200]}"


@dataclass
class Shown:
    """What one streamed answer showed: its text, facts, rails and notes for testers."""

    answer: Text = field(default_factory=Text)
    facts: list[dict[str, Any]] = field(default_factory=list)
    guards: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def see(self, event: str, data: dict[str, Any]) -> None:
        """Take one event; a retraction wipes what was shown (only the final answer stays)."""
        if event == "fact":
            self.facts.append(data)
        elif event == "token":  # the answer starts at its first visible character
            self.answer.append(data["text"] if self.answer.plain else data["text"].lstrip())
        elif event == "grounding":
            self.answer = Text() if data.get("retract") else self.answer
            if data["outcome"] != "model":
                self.notes.append(f"{data['outcome']}: {data['reason']}")
        elif event == "guard":
            self.guards.append(data)
        elif event == "error":
            self.notes.append(f"error: {data.get('message')}")
        elif event == "action" and data.get("status") == "pending":
            action = data["id"]
            self.notes.append(f"action {action}: /confirm {action} or /decline {action}")


def render_answer(client: ChatClient, message: str, console: Console, show_facts: bool) -> None:
    """Stream one answer to the terminal as it arrives, then its notes, each on its own line."""
    shown = Shown()
    try:
        with Live(_answer_view(shown.answer), console=console, auto_refresh=False) as live:
            for event, data in client.ask(message):
                shown.see(event, data)
                live.update(_answer_view(shown.answer), refresh=True)
    finally:
        end_live_line(console)
    for note in shown.notes:  # why the answer is the bank's draft, for testers
        console.print(f"({note})", style="yellow")
    for item in shown.guards:  # what the rails did, for testers
        console.print(f"rails: {item['rule']} ({item['action']}: {item['reason']})", style="dim")
    if show_facts and shown.facts:
        table = Table("fact", "value", "derivation", title="facts used", title_justify="left")
        for item in shown.facts:
            table.add_row(item["id"], item["display"], item["derivation"])
        console.print(table, style="dim")


def end_live_line(console: Console) -> None:
    """End the answer's line: rich's Live does so on a terminal only, so piped or redirected
    output had the notes and the next prompt glued to the answer."""
    if not console.is_terminal:
        console.line()


def _answer_view(answer: Text) -> Text:
    """The answer as the customer reads it, after the advisor's label."""
    return Text.assemble(("advisor", "bold green"), " > ", answer)


def decide_action(client: ChatClient, command: str, console: Console) -> bool:
    """`/confirm ID` or `/decline ID`: print the action's new status; False when it failed."""
    verb, _, action_id = command.partition(" ")
    if not action_id.strip():
        console.print(f"[red]usage: {verb} ACTION_ID[/]")
        return False
    try:
        action = client.decide(action_id.strip(), DECISIONS[verb])
    except (NotFound, InvalidInput, BackendUnavailable) as exc:
        console.print(f"[red]{verb[1:]} failed: {exc}[/]")
        return False
    reason = f" ({action['reason']})" if action.get("reason") else ""
    console.print(f"action {action['id']}: {action['status']}{reason}")
    return True


def run_command(client: ChatClient, message: str, console: Console) -> bool:
    """Run `/reset`, `/confirm ID` or `/decline ID`; False when the message is no command."""
    if message == "/reset":
        client.session_id = None
        console.print("[dim]new session[/]")
        return True
    if message.split(" ", 1)[0] in DECISIONS:
        decide_action(client, message, console)
        return True
    return False


def run_repl(client: ChatClient, console: Console, show_facts: bool) -> None:
    """Read questions until /quit or end of input; /reset starts a new session."""
    console.print(
        "Ask about your accounts. [dim]/confirm ID or /decline ID decides a proposed action, "
        "/reset starts over, /quit leaves.[/]"
    )
    while True:
        try:
            message = console.input(PROMPT).strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if message in ("/quit", "/exit"):
            return
        if message and not run_command(client, message, console):
            try:
                render_answer(client, message, console, show_facts)
            except InvalidInput as exc:
                console.print(f"[red]rejected: {exc}[/]")
