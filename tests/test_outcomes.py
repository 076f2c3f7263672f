"""Outcomes: every served suggestion is logged (API, chat, nudge) with context, candidates,
choice and propensity; confirmations, declines, expiries, thumbs and product openings join to
it; unknown ids are refused and counted; the export writes Parquet or CSV whole."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, inspect, select, text
from typer.testing import CliRunner

from advisor.api.app import create_app
from advisor.cli import app
from advisor.context_service import ContextService
from advisor.decisions.policy import shipped_policy
from advisor.decisions.service import RecommendationService
from advisor.errors import InvalidInput
from advisor.learning.bandit import MODEL_NAME, BanditModel
from advisor.learning.chooser import Choice
from advisor.learning.config import shipped_config
from advisor.learning.features import FEATURE_NAMES, as_array
from advisor.learning.join import FEEDBACK, Joined, joined
from advisor.learning.nudges import InBackground, NudgeLogger
from advisor.learning.serving import context, permitted
from advisor.learning.suggestions import Served, SuggestionLog, UnknownSuggestion
from advisor.orchestration import runtime
from advisor.orchestration.actions import ActionService, Proposal
from advisor.orchestration.sweep import INVESTING
from advisor.predict.registry import Registry
from advisor.settings import Settings, get_settings
from advisor.store import ChatSession, ChatTurn, upgrade_turns
from evals.nba_audit import list_violations
from portfolio_context.db import create_schema, engine_for, session_scope
from portfolio_context.models import Account
from portfolio_context.seed import seed_bank
from tests.conftest import AS_OF, bearer, make_settings
from tests.fakes import FakeBackend
from tests.orchestration_fixtures import orch, orch_settings, template_bank  # noqa: F401
from tests.orchestration_helpers import payroll, wait_for
from tests.pg import fresh_database
from tests.sse import chat_events, done

CONFIG, POLICY = shipped_config(), shipped_policy()
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime.now(dt.UTC)
runner = CliRunner()


@pytest.fixture
def bank(tmp_path: Path) -> str:
    """A bank of three customers of its own."""
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    seed_bank(url, 3, 42, AS_OF)
    return url


def suggest(log: SuggestionLog, arm: str, at: dt.datetime, channel: str = "api",
            action_id: str | None = None, customer: str = "C0001",
            trace_id: str | None = None) -> str:  # fmt: skip
    """Log a suggestion of `arm` served at `at`; its id."""
    choice = Choice(arm, 1.0, (arm, "pay_down_card"), "ranking", arm)
    served = Served(customer, channel, choice, {"bias": 1.0}, [arm], trace_id, action_id)
    return log.log(served, at)


def outcomes_of(log: SuggestionLog) -> dict[str, Joined]:
    """Every suggestion's joined outcomes, by id."""
    return {j.row.id: j for j in joined(log, EPOCH, CONFIG, POLICY, NOW)}


def test_an_outcome_for_an_unknown_suggestion_is_refused_and_counted(bank: str) -> None:
    log = SuggestionLog(bank)
    known = suggest(log, "term_deposit", NOW)
    with pytest.raises(UnknownSuggestion, match="unknown suggestion id"):
        log.record("sug_nobody", "confirmed")
    with pytest.raises(InvalidInput, match="outcome must be one of"):
        log.record(known, "loved_it")
    assert log.record(known, "confirmed") and not log.record(known, "confirmed")
    assert log.rejected() == {"unknown_suggestion": 1, "unknown_outcome": 1}
    assert [o.outcome for o in outcomes_of(log)[known].outcomes] == ["confirmed"]


def nudge(sweep_to: str | None, action_id: str) -> dict[str, object]:
    """A notification as the notification service hands it to its hooks."""
    facts = [] if sweep_to is None else [{"id": "sweep.destination", "derivation": sweep_to}]
    kind = "credit_limit_offer" if sweep_to is None else "surplus_sweep"
    return {"customer_id": "C0001", "id": 1, "kind": kind, "facts": facts,
            "action": {"id": action_id, "status": "pending"}}  # fmt: skip


def test_nudges_are_logged_and_their_actions_decide_the_outcome(bank: str) -> None:
    log, actions = SuggestionLog(bank), ActionService(bank)
    with session_scope(bank) as db:
        accounts = {a.type: a.id for a in db.scalars(select(Account).where(
            Account.customer_id == "C0001"))}  # fmt: skip
    made = [actions.propose(Proposal("C0001", "transfer", Decimal("1.00"), accounts["checking"],
                                     accounts["savings"], f"test:{i}", 3600))[0]
            for i in range(3)]  # fmt: skip
    hook = NudgeLogger(log, lambda customer: {"bias": 1.0, "age": 0.4})
    hook(nudge("high-yield savings", made[0].id))
    hook(nudge(INVESTING, made[1].id))
    hook(nudge(None, made[2].id))
    hook({"customer_id": "C0001", "kind": "statement_ready", "action": None})  # no nudge
    assert actions.decide("C0001", made[0].id, "confirm", "k1").status == "executed"
    assert actions.decide("C0001", made[1].id, "decline", "k2").status == "declined"
    assert actions.expire(made[2].id).status == "expired"
    found = {j.row.action_id: j for j in outcomes_of(log).values()}
    assert len(found) == 3
    expected = [("build_emergency_fund", "confirmed", 1.0),
                ("investment_account", "declined", -0.25),
                ("credit_limit_review", "expired", 0.0)]  # fmt: skip
    for action, (arm, outcome, reward) in zip(made, expected, strict=True):
        item = found[action.id]
        assert (item.row.chosen, item.row.channel, item.row.policy) == (arm, "nudge", "rule")
        assert [o.outcome for o in item.outcomes] == [outcome] and item.reward == reward
        assert json.loads(item.row.context)["age"] == 0.4


def test_the_background_nudge_logger_finishes_its_queue_and_stops_on_close() -> None:
    seen: list[object] = []
    hook = InBackground(lambda n: seen.append(n["id"]))
    for i in range(3):
        hook({"id": i})
    hook.close()
    assert seen == [0, 1, 2]
    with pytest.raises(RuntimeError, match="shutdown"):  # its thread pool is shut down
        hook.pool.submit(print)
    hook({"id": 3})  # a notification after the stop is not logged, and does not raise
    assert seen == [0, 1, 2]


def add_turn(bank: str, at: dt.datetime, facts: list[str], rating: str,
             traces: list[str] | None = None) -> None:  # fmt: skip
    """A chat turn of C0001 at `at` whose answer stated `facts` and rested on the decision
    `traces` (None: a turn stored before turns kept them), rated up or down."""
    create_schema(bank)
    with session_scope(bank) as db:
        session_id = f"s-{at.timestamp()}"
        db.add(ChatSession(id=session_id, customer_id="C0001", created_at=at))
        stored = None if traces is None else json.dumps(traces)
        turn = ChatTurn(session_id=session_id, turn_index=1, trace_id="t", user_text="q",
                        answer_text="a", grounding="model", finish_reason="stop",
                        fact_ids=json.dumps(facts), created_at=at,
                        decision_trace_ids=stored)  # fmt: skip
        db.add(turn)
        db.flush()
        if not inspect(db.connection()).has_table("turn_feedback"):  # another part's table
            FEEDBACK.create(db.connection())
        at_rating = at + dt.timedelta(seconds=30)
        db.execute(insert(FEEDBACK).values(turn_id=turn.id, customer_id="C0001", rating=rating,
                                           created_at=at_rating))  # fmt: skip


def test_thumbs_on_a_chat_turn_rate_the_chat_suggestion_served_just_before(bank: str) -> None:
    log, start = SuggestionLog(bank), NOW - dt.timedelta(hours=2)
    rated = suggest(log, "retirement_review", start, channel="chat")
    unrated = suggest(log, "wedding_plan", start + dt.timedelta(minutes=30), channel="chat")
    api = suggest(log, "job_change_review", start + dt.timedelta(minutes=59))
    add_turn(bank, start + dt.timedelta(seconds=4), ["reco.1.action", "reco.1.reason"], "down")
    add_turn(bank, start + dt.timedelta(minutes=31), ["balance.checking"], "up")  # no reco
    add_turn(bank, start + dt.timedelta(minutes=60), ["reco.1.action"], "up")  # api, too late
    found = outcomes_of(log)
    assert [o.outcome for o in found[rated].outcomes] == ["thumbs_down"]
    assert found[rated].reward == -0.5
    assert found[unrated].outcomes == [] and found[api].outcomes == []


RECO = ["reco.1.action", "reco.1.reason"]
S = dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("served", "turn_at", "traces", "facts", "expected"),
    [
        # another chat suggestion (a second tab) served between this one and the turn's end:
        # the window took the later one; the turn's traces name the right one
        ({"tr_a": 0, "tr_b": 10}, 20, ["tr_a", "tr_a2"], RECO, {"tr_a"}),
        # the turn ended past the window (a slow answer): the window found nothing
        ({"tr_a": 0}, 400, ["tr_a"], RECO, {"tr_a"}),
        # the answer rested on no suggestion (no traces) though a suggestion was just served
        ({"tr_a": 0}, 20, [], RECO, set()),
        # a credit decision's trace is no suggestion: nothing rated
        ({"tr_a": 0}, 20, ["tr_credit"], ["credit.decision"], set()),
        # a turn stored before turns kept their traces: the window is the fallback
        ({"tr_a": 0, "tr_b": 10}, 20, None, RECO, {"tr_b"}),
        ({"tr_a": 0}, 400, None, RECO, set()),
        ({"tr_a": 0}, 20, None, ["balance.checking"], set()),
    ],
)
def test_thumbs_join_the_suggestion_the_turns_decision_traces_name(
    bank: str, served: dict[str, int], turn_at: int, traces: list[str] | None,
    facts: list[str], expected: set[str],
) -> None:  # fmt: skip
    log, start = SuggestionLog(bank), NOW - dt.timedelta(hours=2)
    ids = {trace: suggest(log, "retirement_review", start + after * S, channel="chat",
                          trace_id=trace) for trace, after in served.items()}  # fmt: skip
    add_turn(bank, start + turn_at * S, facts, "up", traces)
    found = outcomes_of(log)
    rated = {trace for trace, sid in ids.items() if found[sid].outcomes}
    assert rated == expected
    assert all([o.outcome for o in found[ids[t]].outcomes] == ["thumbs_up"] for t in expected)


def test_a_chat_turn_stores_its_decision_traces_and_its_thumbs_join_by_them(
    bank: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, bank)
    with TestClient(create_app(settings, backend=FakeBackend())) as client:
        auth = bearer(settings, "C0003")
        end = done(chat_events(client, auth, "What should I do with my money?"))
        rating = {"turn_id": end["turn_id"], "rating": "down"}
        assert client.post("/v1/feedback", json=rating, headers=auth).status_code in (200, 201)
    assert end["plan"] == "facts" and end["decision_trace_ids"]
    with session_scope(bank) as db:
        turn = db.get(ChatTurn, end["turn_id"])
        assert turn is not None and turn.decision_trace_ids is not None
        assert json.loads(turn.decision_trace_ids) == end["decision_trace_ids"]
    log = SuggestionLog(bank)
    (row,) = [r for r in log.served_since(EPOCH) if r.channel == "chat"]
    assert row.trace_id == end["decision_trace_ids"][0]
    assert [o.outcome for o in outcomes_of(log)[row.id].outcomes] == ["thumbs_down"]


def test_a_bank_made_before_turns_kept_traces_gets_the_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with engine_for(url).begin() as conn:
        conn.execute(text("CREATE TABLE chat_turns (id INTEGER PRIMARY KEY, fact_ids TEXT)"))
        conn.execute(text("INSERT INTO chat_turns (id, fact_ids) VALUES (1, '[]')"))
    upgrade_turns(url)
    upgrade_turns(url)  # once only
    with engine_for(url).connect() as conn:
        rows = conn.execute(text("SELECT id, decision_trace_ids FROM chat_turns")).all()
    assert [tuple(r) for r in rows] == [(1, None)]


def test_a_later_product_opening_joins_and_silence_becomes_no_response(bank: str) -> None:
    log = SuggestionLog(bank)
    opened = suggest(log, "term_deposit", NOW - dt.timedelta(days=20))
    old = suggest(log, "open_high_yield_savings", NOW - dt.timedelta(days=20), customer="C0002")
    fresh = suggest(log, "retirement_review", NOW - dt.timedelta(days=1))
    with session_scope(bank) as db:
        day = (NOW - dt.timedelta(days=3)).date()
        db.add(Account(id="TD-1", customer_id="C0001", type="term_deposit", name="Term deposit",
                       balance=Decimal("5000"), opened=day))  # fmt: skip
    found = outcomes_of(log)
    assert [o.outcome for o in found[opened].outcomes] == ["product_opened"]
    assert (found[opened].status, found[opened].reward) == ("rewarded", 1.0)
    assert (found[old].status, found[old].reward) == ("no_response", 0.0)  # savings held before
    assert (found[fresh].status, found[fresh].reward) == ("pending", None)


def test_an_opening_credits_only_the_latest_suggestion_within_the_window(bank: str) -> None:
    log, window = SuggestionLog(bank), CONFIG.opening_window_days
    stale = suggest(log, "term_deposit", NOW - dt.timedelta(days=window + 40))
    earlier = suggest(log, "term_deposit", NOW - dt.timedelta(days=20))
    latest = suggest(log, "term_deposit", NOW - dt.timedelta(days=8))
    after = suggest(log, "term_deposit", NOW - dt.timedelta(days=1))
    day = (NOW - dt.timedelta(days=5)).date()
    with session_scope(bank) as db:
        db.add(Account(id="TD-9", customer_id="C0001", type="term_deposit", name="Term deposit",
                       balance=Decimal("5000"), opened=day))  # fmt: skip
    found = outcomes_of(log)
    assert [o.outcome for o in found[latest].outcomes] == ["product_opened"]
    assert all(found[s].outcomes == [] for s in (stale, earlier, after))
    assert (found[earlier].status, found[stale].status) == ("no_response", "no_response")


def test_joining_tolerates_a_database_without_the_other_tables(tmp_path: Path) -> None:
    log = SuggestionLog(f"sqlite:///{tmp_path / 'only.db'}")
    sid = suggest(log, "term_deposit", NOW, action_id="act_x")
    assert outcomes_of(log)[sid].status == "pending"


@pytest.fixture
def cli_bank(bank: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at the bank."""
    monkeypatch.setenv("ADVISOR_DATABASE_URL", bank)
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ADVISOR_JWT_SECRET", "test-secret-" + "x" * 32)
    get_settings.cache_clear()
    yield bank
    get_settings.cache_clear()


def test_export_writes_parquet_or_csv_and_refuses_bad_input(cli_bank: str, tmp_path: Path) -> None:
    log = SuggestionLog(cli_bank)
    sid = suggest(log, "term_deposit", dt.datetime(2026, 12, 2, tzinfo=dt.UTC))
    suggest(log, "wedding_plan", dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    log.record(sid, "thumbs_up", source="test")
    for fmt, read in (("parquet", pq.read_table), ("csv", pa_csv.read_csv)):
        out = tmp_path / f"outcomes.{fmt}"
        result = runner.invoke(app, ["outcomes", "export", "--since", "2026-12-01", "--format",
                                     fmt, "--out", str(out)])  # fmt: skip
        assert result.exit_code == 0, result.output
        rows = read(out).to_pylist()
        assert [r["suggestion_id"] for r in rows] == [sid]
        assert rows[0]["outcome_names"] == "thumbs_up" and rows[0]["reward"] == 0.5
        assert json.loads(rows[0]["candidates"]) == ["term_deposit", "pay_down_card"]
    bad = runner.invoke(app, ["outcomes", "export", "--since", "2026-02-30", "--out",
                              str(tmp_path / "x.parquet")])  # fmt: skip
    assert bad.exit_code == 2 and "--since must be a date" in bad.output
    nowhere = runner.invoke(app, ["outcomes", "export", "--since", "2026-12-01", "--out",
                                  str(tmp_path / "no" / "x.csv")])  # fmt: skip
    assert nowhere.exit_code == 2 and not (tmp_path / "x.parquet").exists()


def test_export_to_a_folder_it_cannot_write_exits_2_with_a_message(cli_bank: str) -> None:
    out = "/proc/outcomes.csv"  # an existing folder no one (not even root) can create files in
    result = runner.invoke(app, ["outcomes", "export", "--since", "2026-12-01", "--format",
                                 "csv", "--out", out])  # fmt: skip
    assert result.exit_code == 2 and "cannot write there" in result.output
    assert not isinstance(result.exception, OSError)


def test_the_cli_refuses_and_counts_an_unknown_suggestion(cli_bank: str) -> None:
    refused = runner.invoke(app, ["outcomes", "record", "sug_ghost", "confirmed"])
    assert refused.exit_code == 2 and "unknown suggestion id" in refused.output
    stats = runner.invoke(app, ["outcomes", "stats", "--json"])
    assert json.loads(stats.output)["rejected"] == {"unknown_suggestion": 1}


def service(bank: str, tmp_path: Path, **extra: object) -> tuple[RecommendationService, Settings]:
    """The recommendation service on the bank (settings as given)."""
    settings = make_settings(tmp_path, bank, **extra)
    return RecommendationService.from_settings(
        settings, ContextService.from_settings(settings)
    ), settings


def test_served_recommendations_are_logged_by_channel_with_context(
    bank: str, tmp_path: Path
) -> None:
    recs_service, _ = service(bank, tmp_path)
    recs = recs_service.recommend("C0003")
    recs_service.recommend_assessed("C0003", channel="chat")
    logged = SuggestionLog(bank).served_since(EPOCH)
    assert [row.channel for row in logged] == ["api", "chat"]
    row = logged[0]
    assert (row.chosen, row.policy, row.propensity) == (recs[0].action_id, "ranking", 1.0)
    assert row.trace_id == recs[0].trace_id
    shown, candidates = json.loads(row.shown), json.loads(row.candidates)
    assert shown == [r.action_id for r in recs] and set(shown) <= set(candidates)
    assert set(json.loads(row.context)) == set(FEATURE_NAMES)


def test_the_switched_on_bandit_leads_with_its_choice_within_policy(
    bank: str, tmp_path: Path
) -> None:
    off, settings = service(bank, tmp_path)
    assessed = off.assess("C0003")
    candidates = [r.action.id for r in permitted(off.policy, assessed)]
    assert len(candidates) >= 2
    liked = candidates[-1]  # the ranking's last permitted action
    model = BanditModel.new([a.id for a in POLICY.actions], CONFIG)
    x = as_array([context(assessed)] * 50)
    model.update([liked] * 25 + [candidates[0]] * 25, [1.0] * 25 + [0.0] * 25, x)
    with Registry.from_settings(settings).stage(MODEL_NAME) as stage:
        model.save(stage)
    on, _ = service(bank, tmp_path, bandit_enabled=True)
    picks = [on.recommend("C0003") for _ in range(20)]
    assert sum(p[0].action_id == liked for p in picks) >= 15
    view = on.context.view("C0003")
    assert all(not list_violations(view, p) for p in picks)
    rows = [r for r in SuggestionLog(bank).served_since(EPOCH) if r.policy == "bandit"]
    trace = on.traces.get(picks[0][0].trace_id, "C0003")
    assert trace is not None and trace["chooser"]["policy"] == "bandit"
    assert trace["chooser"]["candidates"] == candidates
    k = len(candidates)
    assert {round(r.propensity, 6) for r in rows if r.chosen == liked} == {
        round(0.9 + 0.1 / k, 6)}  # fmt: skip
    assert np.isclose(CONFIG.explore_share, 0.1)


def test_a_payday_nudge_is_logged_and_its_decline_joins(
    orch: runtime.Orchestration,  # noqa: F811
) -> None:
    orch.events.accept(payroll("pay-learning-1"))
    note = wait_for(lambda: orch.notifications.for_customer("C0001"))[0]
    url = orch.settings.resolved_database_url
    log = SuggestionLog(url)
    row = wait_for(lambda: log.served_since(EPOCH))[0]  # logged off the workflow's thread
    assert (row.channel, row.action_id) == ("nudge", note["action"]["id"])
    assert row.chosen in ("build_emergency_fund", "investment_account")
    assert set(json.loads(row.context)) == set(FEATURE_NAMES)
    orch.actions.decide("C0001", row.action_id or "", "decline", "no-thanks")
    item = outcomes_of(log)[row.id]
    assert [o.outcome for o in item.outcomes] == ["declined"] and item.reward == -0.25


@pytest.mark.postgres
def test_outcomes_join_alike_on_postgresql() -> None:
    with fresh_database("advisor_outcomes") as url:
        seed_bank(url, 2, 42, AS_OF)
        log, actions = SuggestionLog(url), ActionService(url)
        with session_scope(url) as db:
            mine = select(Account.id).where(Account.customer_id == "C0001")
            checking, savings = (db.scalar(mine.where(Account.type == t))
                                 for t in ("checking", "savings"))  # fmt: skip
        made, _ = actions.propose(Proposal("C0001", "transfer", Decimal("1.00"), checking,
                                           savings, "pg:1", 3600))  # fmt: skip
        nudged = suggest(log, "build_emergency_fund", NOW, "nudge", made.id)
        start = NOW - dt.timedelta(hours=1)
        chat = suggest(log, "retirement_review", start, channel="chat")
        add_turn(url, start + dt.timedelta(seconds=4), ["reco.1.action"], "up")
        actions.decide("C0001", made.id, "decline", "pg-key")
        found = outcomes_of(log)
        assert [o.outcome for o in found[nudged].outcomes] == ["declined"]
        assert [o.outcome for o in found[chat].outcomes] == ["thumbs_up"]
