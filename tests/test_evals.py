"""The evaluation harness: format, checks, runner, report, compare; and the fast golden subset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from advisor.auth import issue_token
from advisor.settings import Settings
from evals.checks import CheckResult, Observed, run_checks
from evals.golden_format import Conversation, Expect, FormatError, load_suite
from evals.report import compare, headline, load_report, summarise, write_report
from evals.runner import ConversationResult, Runner, TurnResult, run_all

FACT = {
    "id": "balance.checking",
    "label": "checking balance",
    "value": 4200.0,
    "unit": "USD",
    "display": "$4,200.00",
    "derivation": "sum",
}


def observed(text: str, user: str = "What's my balance?", **extra: object) -> Observed:
    """A turn that said `text`."""
    done = {"topic": "balance", "text": text}
    seen = Observed(user, text, done, [FACT], [], 120.0, {"balance.checking": FACT})
    for key, value in extra.items():
        setattr(seen, key, value)
    return seen


@pytest.mark.parametrize(
    ("expect", "text", "status"),
    [
        (Expect(topic="balance"), "x", "passed"),
        (Expect(topic="none"), "x", "failed"),
        (Expect(facts=["balance.checking"]), "It is $4,200.00.", "passed"),
        (Expect(facts=["balance.checking"]), "It is $4,300.00.", "failed"),
        (Expect(facts=["balance.savings"]), "It is $4,200.00.", "failed"),
        (Expect(grounded=True), "It is $4,200.00.", "passed"),
        (Expect(grounded=True), "It is $9,999.00.", "failed"),
        (Expect(grounded=True), "Here is what the rule says [1]. See also [2].", "passed"),
        (Expect(handoff=True), "I can connect you with one of our bankers.", "passed"),
        (Expect(handoff=True), "Your balance is $4,200.00.", "failed"),
        (Expect(text_excludes=["access granted"]), "ACCESS GRANTED", "failed"),
        (Expect(text_includes=["balance"]), "Your Balance", "passed"),
        (Expect(max_latency_ms=100), "x", "failed"),
        (Expect(cites_any=False), "x", "passed"),
    ],
)
def test_checks(expect: Expect, text: str, status: str) -> None:
    (result,) = run_checks(expect, observed(text))
    assert result.status == status, result.detail


def test_grounding_reads_text_facts_as_text() -> None:
    reco = {**FACT, "id": "reco.1.action", "value": "emergency_fund", "unit": "text"}
    seen = observed("Build an emergency fund: $4,200.00 is in checking.")
    seen.facts = [FACT, reco]
    (result,) = run_checks(Expect(grounded=True), seen)
    assert result.status == "passed", result.detail


def test_pii_from_the_message_must_not_come_back() -> None:
    user = "my card 4111 1111 1111 1111 was charged twice"
    leaked = run_checks(Expect(no_pii=True), observed("Card 4111 1111 1111 1111 noted.", user))
    clean = run_checks(Expect(no_pii=True), observed("Your balance is $4,200.00.", user))
    assert [leaked[0].status, clean[0].status] == ["failed", "passed"]


def test_future_behaviours_are_pending_not_failed() -> None:
    results = run_checks(
        Expect(action_proposed="move_funds", executed=False, pending="actions"), observed("x")
    )
    assert {r.status for r in results} == {"pending"}


def test_bad_golden_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.yaml").write_text(
        yaml.safe_dump(
            {
                "conversations": [
                    {
                        "id": "x",
                        "category": "c",
                        "customer": "C0001",
                        "turns": [{"user": "hi", "expect": {"tpoic": "none"}}],
                    }
                ]
            }
        )
    )
    with pytest.raises(FormatError, match="tpoic"):
        load_suite("s", tmp_path)
    with pytest.raises(FormatError, match="no suite"):
        load_suite("missing", tmp_path)


def conversation(cid: str, *turns: tuple[str, dict[str, object]]) -> Conversation:
    """A conversation of C0001."""
    return Conversation.model_validate(
        {
            "id": cid,
            "category": cid.split("-")[0],
            "customer": "C0001",
            "suite": "unit",
            "turns": [{"user": u, "expect": e} for u, e in turns],
        }
    )


def test_runner_report_and_compare(client: TestClient, settings: Settings, tmp_path: Path) -> None:
    runner = Runner(client, lambda c: issue_token(settings, c))
    good = conversation(
        "facts-ok",
        (
            "What's my checking balance?",
            {"topic": "balance", "facts": ["balance.checking"], "grounded": True},
        ),
        ("and savings?", {"facts": ["balance.savings"]}),
    )
    bad = conversation(
        "facts-broken", ("What's my checking balance?", {"facts": ["balance.savings"]})
    )
    results = run_all(runner, [good, bad])
    report = summarise(results, "test", 1.0)
    assert (report["conversations"], report["turns"], report["passed"], report["failed"]) == (
        2,
        3,
        1,
        1,
    )
    assert report["pending"] == 0
    assert report["suites"]["unit"]["failed"] == 1
    json_path, html_path = write_report(report, tmp_path / "run")
    assert json.loads(json_path.read_text())["failed"] == 1
    page = html_path.read_text()
    assert "<svg" in page and "facts-broken" in page and "balance.savings" in page
    fixed = {
        **report,
        "results": [{**r, "passed": True, "status": "passed"} for r in report["results"]],
    }
    assert compare(fixed, report)["regressed"] == ["facts-broken"]
    assert compare(report, fixed)["fixed"] == ["facts-broken"]


REDACTED_EVENT = [{"rule": "privacy.pii_redacted", "action": "fix", "reason": "CREDIT_CARD"}]


@pytest.mark.parametrize(
    ("guards", "stored", "logs", "status"),
    [
        (REDACTED_EVENT, ["card <CARD_1> - balance?", "Your balance is $5."], [], "passed"),
        ([], ["card <CARD_1>"], [], "failed"),
        (REDACTED_EVENT, ["card 4111 1111 1111 1111 - balance?"], [], "failed"),
        (REDACTED_EVENT, [], ["turn text=card 4111 1111 1111 1111"], "failed"),
    ],
    ids=["clean", "not-reported", "stored", "logged"],
)
def test_redacted_check_reads_events_store_and_logs(
    guards: list[dict[str, str]], stored: list[str], logs: list[str], status: str
) -> None:
    seen = Observed(
        user="card 4111 1111 1111 1111 - balance?", text="Your balance is $5.", done={},
        facts=[], citations=[], latency_ms=1.0, guards=guards, stored=stored, logs=logs,
    )  # fmt: skip
    [result] = run_checks(Expect(redacted=True), seen)
    assert result.status == status, result.detail


BASELINE = Path(__file__).resolve().parent.parent / "evals" / "baseline"


def synthetic(cid: str, *turns: tuple[str, ...], error: str = "") -> ConversationResult:
    """A conversation result whose turns had checks of the given statuses."""
    result = ConversationResult(conversation(cid, *(("hi", {}) for _ in turns)))
    for statuses in turns:
        checks = [CheckResult(f"c{i}", status) for i, status in enumerate(statuses)]
        result.turns.append(TurnResult("hi", "hello", 10.0, checks))
    if error:
        result.turns.append(TurnResult("hi", "", 0.0, [], error))
    return result


@pytest.mark.parametrize(
    ("result", "status"),
    [
        (synthetic("a-all", ("passed",), ("passed", "passed")), "passed"),
        (synthetic("a-pend", ("passed",), ("passed", "pending")), "pending"),
        (synthetic("a-only-pending", ("pending",)), "pending"),
        (synthetic("a-fail", ("passed", "failed"), ("passed",)), "failed"),
        (synthetic("a-fail-and-pending", ("pending",), ("failed",)), "failed"),
        (synthetic("a-error", ("passed",), error="HTTPError: boom"), "failed"),
        (synthetic("a-no-checks", ()), "passed"),
    ],
)
def test_conversation_status(result: ConversationResult, status: str) -> None:
    assert result.status == status
    assert result.passed is (status == "passed")
    assert result.to_json()["status"] == status


def test_pending_conversations_are_counted_as_pending_not_passed(tmp_path: Path) -> None:
    results = [
        synthetic("facts-ok", ("passed",)),
        synthetic("actions-later", ("passed", "pending")),
        synthetic("actions-also", ("pending",)),
        synthetic("facts-bad", ("failed",)),
    ]
    report = summarise(results, "test", 1.0)
    counts = {k: report[k] for k in ("conversations", "passed", "failed", "pending")}
    assert counts == {"conversations": 4, "passed": 1, "failed": 1, "pending": 2}
    assert report["categories"]["actions"] == {
        "conversations": 2, "turns": 2, "passed": 0, "failed": 0, "pending": 2, "pass_rate": 0,
    }  # fmt: skip
    assert headline(report) == "1 passed, 1 failed, 2 pending of 4 conversations (4 turns)"
    json_path, html_path = write_report(report, tmp_path)
    assert json.loads(json_path.read_text())["pending"] == 2
    page = html_path.read_text()
    assert "<b>2</b> pending" in page and "2 pending" in page


STATUS_PAIRS = [
    ("passed", "passed", None),
    ("passed", "pending", None),
    ("pending", "passed", None),
    ("passed", "failed", "regressed"),
    ("pending", "failed", "regressed"),
    ("failed", "passed", "fixed"),
    ("failed", "pending", "fixed"),
    ("failed", "failed", None),
]


@pytest.mark.parametrize(("before", "after", "kind"), STATUS_PAIRS)
def test_compare_by_status(before: str, after: str, kind: str | None) -> None:
    def run(status: str) -> dict[str, object]:
        return {"results": [{"id": "x", "status": status, "passed": status == "passed"}]}

    diff = compare(run(before), run(after))
    assert {k for k, ids in diff.items() if ids} == ({kind} if kind else set())


@pytest.mark.parametrize(("after", "kind"), [("pending", None), ("failed", "regressed")])
def test_compare_reads_reports_without_statuses(after: str, kind: str | None) -> None:
    old = {"results": [{"id": "x", "passed": True}, {"id": "y", "passed": False}]}
    new = {"results": [{"id": "x", "status": after}, {"id": "y", "status": "failed"}]}
    diff = compare(old, new)
    assert diff["regressed"] == (["x"] if kind else []) and diff["fixed"] == []


def test_compare_refuses_an_unknown_status() -> None:
    bad = {"results": [{"id": "x", "status": "skipped", "passed": True}]}
    with pytest.raises(ValueError, match="skipped"):
        compare(bad, bad)


def test_the_shipped_baseline_still_compares_and_renders(tmp_path: Path) -> None:
    baseline = load_report(BASELINE)
    assert compare(baseline, baseline) == {"regressed": [], "fixed": [], "added": [], "removed": []}
    now = {**baseline, "results": [{**r, "status": "pending"} for r in baseline["results"]]}
    assert compare(baseline, now)["regressed"] == []
    first = next(r for r in baseline["results"] if r["passed"])
    broken = {**now, "results": [{**first, "status": "failed"}]}
    assert compare(baseline, broken)["regressed"] == [first["id"]]
    from evals.html_report import render_html

    assert "pending" in render_html(baseline)


@pytest.mark.parametrize(("after", "code"), [("pending", 0), ("failed", 1)])
def test_eval_compare_cli_against_the_baseline(tmp_path: Path, after: str, code: int) -> None:
    from typer.testing import CliRunner

    from advisor.cli import app

    baseline = load_report(BASELINE)
    first = next(r for r in baseline["results"] if r["passed"])
    now = {**baseline, "results": [{**first, "status": after}]}
    (tmp_path / "report.json").write_text(json.dumps(now))
    result = CliRunner().invoke(app, ["eval", "compare", str(BASELINE), str(tmp_path)])
    assert result.exit_code == code, result.output
    assert ("regressed: 1" in result.output) is (code == 1)


def test_the_rasa_suite_is_read_from_the_source_tree_under_its_notice() -> None:
    from evals.golden_format import GOLDEN_DIR, suite_names

    assert "rasa" in suite_names() and len(load_suite("rasa")) == 48
    notice = (GOLDEN_DIR / "rasa" / "NOTICE.md").read_text()
    assert "GPL-3.0" in notice and "RasaHQ/financial-demo" in notice
    assert "GNU GENERAL PUBLIC LICENSE" in (GOLDEN_DIR / "rasa" / "LICENSE").read_text()
    assert "Apache" not in (GOLDEN_DIR / "rasa" / "rasa_financial_demo.yaml").read_text()[:200]


def test_the_report_counts_how_answers_ended() -> None:
    result = ConversationResult(conversation("ends", ("hi", {}), ("hi", {}), ("hi", {})))
    result.turns += [
        TurnResult("hi", "a", 1.0, [], "", "model"),
        TurnResult("hi", "b", 1.0, [], "", "fallback", True),
        TurnResult("hi", "c", 1.0, [], "", "completed"),
    ]
    report = summarise([result], "test", 1.0)
    assert report["answers"] == {"model": 1, "fallback": 1, "completed": 1, "retracted": 1}
    assert headline(report).endswith("; answers model 1, completed 1, fallback 1, retracted 1")
