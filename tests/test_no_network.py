"""No outbound network: a whole chat session in a fresh interpreter with the sockets guarded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.llm
ROOT = Path(__file__).resolve().parents[1]
OFFLINE_VARS = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "ANONYMIZED_TELEMETRY",
    "OTEL_SDK_DISABLED",
)


def test_chat_session_makes_no_outbound_connection(corpus_var: Path, tmp_path: Path) -> None:
    # The advisor must switch telemetry off itself: the test environment's offline flags go.
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARS}
    env |= {"HOME": str(tmp_path), "ADVISOR_PROFILE": "default"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.no_network_session", str(corpus_var)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "outbound attempts: []" in result.stdout
    assert result.stdout.count("->") == 4
