"""The widget's serving: bundle at /widget/advisor.js (503 until built), demo page at /."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from advisor.api import web_routes

HOST_PAGE = Path(__file__).parent / "fixtures" / "host_page.html"
WEB = Path(__file__).resolve().parents[1] / "web"


def test_demo_page_loads_the_widget(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/widget/advisor.js"></script>' in page.text
    assert "development profile only: set ADVISOR_PROFILE=development" in page.text


def test_bundle_is_served_as_javascript(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "advisor.js"
    bundle.write_text('customElements.define("advisor-chat", class extends HTMLElement {});')
    monkeypatch.setattr(web_routes, "BUNDLE", bundle)
    served = client.get("/widget/advisor.js")
    assert served.status_code == 200 and served.text == bundle.read_text()
    assert served.headers["content-type"].startswith("application/javascript")


def test_unbuilt_bundle_says_run_make_web(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_routes, "BUNDLE", tmp_path / "missing.js")
    served = client.get("/widget/advisor.js")
    assert served.status_code == 503 and "run make web" in served.json()["detail"]


def test_built_bundle_defines_the_element() -> None:
    assert web_routes.BUNDLE.is_file(), "web/dist/advisor.js is missing: run make web"
    script = web_routes.BUNDLE.read_text("utf-8")
    assert '"advisor-chat"' in script and "/v1/chat" in script


def test_host_page_embeds_the_widget_with_one_script_tag() -> None:
    page = HOST_PAGE.read_text("utf-8")
    assert re.findall(r"<script\b[^>]*>", page) == [
        '<script src="ADVISOR_ORIGIN/widget/advisor.js">'
    ]
    assert "<advisor-chat" in page


def test_widget_sse_parser_node_tests_pass() -> None:
    node = shutil.which("node")
    assert node, "node is needed to build and test the widget (make web)"
    run = subprocess.run(
        [node, "--test", "test/"], cwd=WEB, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
