"""Kill -9 a service process in the middle of a payday workflow: after a restart DBOS
recovers it, and the sweep proposes once, notifies once and moves the money once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.orchestration_fixtures import settings_on_copy, template_bank  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def child(tmp_path: Path, url: str, mode: str) -> subprocess.Popen[str]:
    """A service process on the test's bank and var dir."""
    env = os.environ | {"ADVISOR_PROFILE": "test"}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.orchestration_child", str(tmp_path), url, mode],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def test_a_killed_workflow_finishes_once_after_restart(
    tmp_path: Path, template_bank: Path  # noqa: F811
) -> None:
    url = settings_on_copy(tmp_path, template_bank).resolved_database_url
    first = child(tmp_path, url, "accept")
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "accepted"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    second = child(tmp_path, url, "recover")
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["actions"] == ["executed"] and result["outcome"] == "executed"
    assert result["notifications"] == 1
    assert [k.split(":")[0] for k in result["postings"]] == ["action", "action", "event"]
