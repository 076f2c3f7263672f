"""A server stopped while a credit-limit offer waits for the customer (its DBOS workflow
awaiting the decision on the server's event loop) stops quietly and leaves the wait PENDING:
the next launch resumes it and the customer's later answer ends it. Before 1f4f380 the loop's
shutdown cancelled each wait after DBOS's thread pool had closed: a traceback per offer."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from dbos import DBOS, DBOSClient

from advisor.orchestration import runtime
from advisor.orchestration.runtime import workflow_database_url
from advisor.settings import Settings
from tests.conftest import bearer
from tests.credit_fixtures import GOOD
from tests.live import free_port
from tests.orchestration_helpers import wait_for
from tests.server_child import settings_of
from tests.test_credit_flow import template  # noqa: F401  (its bank and credit model)

ROOT = Path(__file__).resolve().parents[1]


def start_server(settings: Settings, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The app in its own process (tests/server_child.py), answering /healthz."""
    port = free_port()
    env = os.environ | {"ADVISOR_PROFILE": "test", "HF_HUB_OFFLINE": "1"}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.server_child", str(settings.var_dir),
             settings.resolved_database_url, str(port)],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # a loaded 2-core machine takes minutes to import
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.25)
    process.kill()
    pytest.fail(f"the server did not start:\n{log.read_text()[-3000:]}")


def wait_in_place(settings: Settings, workflow: str) -> None:
    """Poll (up to 60 s) DBOS's system database for the workflow's recv timeout checkpoint (a
    'DBOS.sleep' step, written by recv just before it waits on the server's loop)."""
    client = DBOSClient(system_database_url=workflow_database_url(settings))
    try:
        wait_for(lambda: any(step["function_name"] == "DBOS.sleep"
                             for step in client.list_workflow_steps(workflow, load_output=False)),
                 timeout_s=60)  # fmt: skip
    finally:
        client.destroy()


def test_a_server_stopped_while_an_offer_waits_is_quiet_and_the_wait_resumes(
    tmp_path: Path,
    template: Path,  # noqa: F811
) -> None:
    var = tmp_path / "var"
    shutil.copytree(template / "models", var / "models")
    shutil.copy(template / "bank.db", var / "bank.db")
    settings = settings_of(var, f"sqlite:///{var / 'bank.db'}")
    log = tmp_path / "server.log"
    process, url = start_server(settings, log)
    try:
        answer = httpx.post(f"{url}/v1/credit-limit/requests",
                            headers=bearer(settings, GOOD), timeout=60).json()  # fmt: skip
        assert answer["decision"] == "raise", answer
        wait_in_place(settings, f"credit_offer:{answer['trace_id']}")
    finally:
        process.send_signal(signal.SIGINT)  # as Ctrl-C on `advisor serve`
        process.wait(timeout=60)
    printed = log.read_text()
    assert process.returncode == 0, printed
    assert "Traceback" not in printed and "ERROR" not in printed, printed
    workflow = f"credit_offer:{answer['trace_id']}"
    with runtime.running(settings) as services:
        waiting = DBOS.get_workflow_status(workflow)
        assert waiting is not None and waiting.status in ("PENDING", "ENQUEUED"), waiting
        services.actions.decide(GOOD, answer["action"]["id"], "decline", "after-restart")
        wait_for(lambda: getattr(DBOS.get_workflow_status(workflow), "status", "") == "SUCCESS")
        assert DBOS.retrieve_workflow(workflow).get_result() == "declined"
