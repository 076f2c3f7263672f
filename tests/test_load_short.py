"""The short load test (CI): bench/load/run.py --short drives /v1/chat with Locust sessions at
1 and 4 concurrent sessions on a served app (the fake back-end: seconds, not the model's
minutes; `make bench` runs the engines) and writes its report: zero errors, every level measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.load
ROOT = Path(__file__).resolve().parents[1]


def test_short_load_run_has_no_errors_and_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    command = [
        sys.executable, "bench/load/run.py", "--short", "--engines", "fake", "--duration", "8",
        "--customers", "40", "--work-dir", str(tmp_path), "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    levels = results["runs"][0]["levels"]
    assert [level["sessions"] for level in levels] == [1, 4]
    for level in levels:
        summary = level["summary"]
        assert summary["errors"] == 0, summary["error_kinds"]
        assert summary["turns"] > 0 and summary["ttft_p50_s"] is not None
        assert summary["model_turns"] > 0  # some turns went through the (fake) model
        assert level["machine"]["peak_mib"] > 0
    report = out.read_text()
    assert "<!-- bench_load:begin -->" in report and "| fake | 4 |" in report
