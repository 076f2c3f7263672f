"""The app served by uvicorn in its own process, as `advisor serve` runs it (fake back-end,
rails off), on a test's var dir and bank: what a server prints and leaves when it stops."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from advisor.api.app import create_app
from advisor.settings import RailsSettings, Settings
from tests import fakes

SECRET = "test-secret-" + "x" * 32  # tests.conftest.make_settings's


def settings_of(var_dir: Path, url: str) -> Settings:
    """The settings the test and this process share (one DBOS executor, one bank)."""
    return Settings(var_dir=var_dir, database_url=url, jwt_secret=SECRET,
                    rails=RailsSettings(enabled=False))  # fmt: skip


def main(var_dir: str, url: str, port: str) -> None:
    """Serve until stopped (SIGINT or SIGTERM: uvicorn's graceful shutdown)."""
    fakes.register()
    app = create_app(settings_of(Path(var_dir), url), backend=fakes.FakeBackend())
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="info")


if __name__ == "__main__":
    main(*sys.argv[1:4])
