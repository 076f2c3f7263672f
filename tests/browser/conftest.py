"""The browser suite's fixtures: one live server on the embedded model, Debian's Chromium.

One uvicorn server (real HTTP, the real embedded llama.cpp model, the rails, a small trained
router and a small corpus index) on a bank of its own, with the development routes on (the
demo page at / mints tokens) and CORS for a host page served from another loopback port.
Every test leaves a screenshot in var/test-artifacts/browser/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from advisor.api.app import create_app
from advisor.auth import SERVICE_SUBJECT, issue_token
from advisor.settings import LLMSettings, Settings
from portfolio_context.seed import seed_bank
from retrieval.index import CorpusIndex, chroma_client
from retrieval.products import product_chunks
from tests.conftest import AS_OF, make_settings
from tests.live import serve
from tests.test_router_trained import router_dir  # noqa: F401  (the small trained router)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
BUNDLE = ROOT / "web" / "dist" / "advisor.js"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
HOST_PAGE = ROOT / "tests" / "fixtures" / "host_page.html"
ARTIFACTS = ROOT / "var" / "test-artifacts" / "browser"
CUSTOMERS = 5
INDEXED = 14  # the first products' sections: the Clear Rate Visa, Everyday Checking, card services
MAX_MESSAGE_CHARS = 600  # not the widget's default (2000): the page must use the server's


@dataclass(frozen=True)
class Live:
    """The running advisor and the host page's origin."""

    url: str
    settings: Settings
    host_url: str

    def token(self, customer: str) -> str:
        """A customer's bearer token."""
        return issue_token(self.settings, customer)

    def headers(self, customer: str) -> dict[str, str]:
        """A customer's Authorization header."""
        return {"Authorization": f"Bearer {self.token(customer)}"}

    def service_headers(self) -> dict[str, str]:
        """A service token's header (posts core-banking events)."""
        return {"Authorization": f"Bearer {issue_token(self.settings, SERVICE_SUBJECT, 'service')}"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser is a browser test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def missing_prerequisite() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return "no /usr/bin/chromium (make install runs apt-get install chromium as root)"
    if not BUNDLE.exists() or not AXE.exists():
        return "the widget is not built (make web: npm ci and esbuild in web/)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (Python) is not installed"
    return None


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    if reason := missing_prerequisite():
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


def host_app(origin: dict[str, str]) -> FastAPI:
    """A bank's own page on another origin, embedding the widget with one script tag."""
    app = FastAPI()

    @app.get("/")
    def page() -> HTMLResponse:
        return HTMLResponse(HOST_PAGE.read_text().replace("ADVISOR_ORIGIN", origin["url"]))

    return app


def live_settings(var: Path, url: str, router: Path, host_url: str) -> Settings:
    """The embedded model, rails on, development routes, CORS for the host page."""
    return make_settings(
        var,
        url,
        llm=LLMSettings(backend="llama_cpp", max_tokens=96),
        router_model_dir=router,
        dev_routes=True,
        cors_origins=[host_url],
        max_message_chars=MAX_MESSAGE_CHARS,
    )


# Package scope: the server (and DBOS, one per process) stops before other test modules start
# apps on banks of their own.
@pytest.fixture(scope="package")
def live(
    browser: Any,
    tmp_path_factory: pytest.TempPathFactory,
    router_dir: Path,  # noqa: F811
) -> Iterator[Live]:
    """The advisor on its own seeded bank and small index, and the host page's server."""
    var = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{var / 'bank.db'}"
    seed_bank(url, CUSTOMERS, 42, AS_OF)
    CorpusIndex(chroma_client(var / "chroma", None)).ingest(product_chunks()[:INDEXED])
    origin: dict[str, str] = {}
    with serve(host_app(origin)) as host_url:
        settings = live_settings(var, url, router_dir, host_url)
        with serve(create_app(settings), startup_timeout=300) as advisor_url:
            origin["url"] = advisor_url
            yield Live(advisor_url, settings, host_url)


@pytest.fixture(scope="session", autouse=True)
def clean_artifacts() -> None:
    """Screenshots of this run only."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page (its own context); a screenshot of it is kept whatever the outcome."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.page_errors = errors
    try:
        yield opened
    finally:
        opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()
