"""One replica for the two-replica test: the app as `advisor serve` builds it (settings from the
ADVISOR_* environment, uvicorn on a loopback port), on the fake back-end, in its own process."""

from __future__ import annotations

import sys

import uvicorn

from advisor.api.app import create_app
from advisor.llm import GenerationRequest
from advisor.settings import Settings
from tests import fakes


def greeting(request: GenerationRequest) -> str:
    """The draft, greeting the session's first person: their name only this session's vault
    holds (a replica without it would show the placeholder)."""
    return "Hi <PERSON_1>! " + fakes.echo_draft(request).removeprefix("Sure! ")


def main(port: str) -> None:
    """Serve until killed."""
    fakes.register()
    backend = fakes.FakeBackend()
    backend.script = greeting
    app = create_app(Settings(), backend=backend)
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1])
