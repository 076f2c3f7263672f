"""`advisor redact`: JSON lines in, one result line per input line, bad lines reported."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from advisor.cli import app

runner = CliRunner()


def test_redact_json_lines() -> None:
    lines = [
        json.dumps({"text": "card 4111 1111 1111 1111 from John Smith"}),
        "not json",
        json.dumps({"text": "I paid 20 EUR at the ATM"}),
        json.dumps({"nope": 1}),
    ]
    result = runner.invoke(app, ["redact", "--json"], input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["redacted"] == "card <CARD_1> from <PERSON_1>"
    assert [e["type"] for e in out[0]["entities"]] == ["CREDIT_CARD", "PERSON"]
    assert out[1] == {"line": 2, "error": "not JSON (Expecting value)"}
    assert out[2]["entities"] == [] and out[2]["redacted"] == out[2]["text"]
    assert "string" in out[3]["error"]


def test_redact_plain_lines() -> None:
    result = runner.invoke(app, ["redact"], input="email jo@example.com\n")
    assert result.exit_code == 0 and result.stdout.strip() == "email <EMAIL_1>"
