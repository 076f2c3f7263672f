"""Credit-limit decisions: the risk model, the policy, Regulation B reasons, the API and traces."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from advisor.api.app import create_app
from advisor.api.credit_routes import get_credit
from advisor.auth import SERVICE_SUBJECT
from advisor.chat.decision_facts import matched_intent
from advisor.context_service import ContextService
from advisor.decisions.credit import decide
from advisor.decisions.credit_chat import credit_limit, requested_limit
from advisor.decisions.credit_rules import load_policy, load_reason_codes
from advisor.decisions.credit_service import CreditService
from advisor.decisions.traces import TraceStore
from advisor.errors import BackendUnavailable
from advisor.predict.credit_features import FEATURES, PROTECTED, CreditInputs, load_credit_inputs
from advisor.predict.credit_risk import MODEL_NAME, CreditRiskScorer
from advisor.predict.registry import Registry
from advisor.predict.score import Score
from advisor.settings import Settings
from advisor.training.credit_risk_data import load_table
from advisor.training.credit_risk_train import register_model
from advisor.training.router_data import TrainingDataError
from portfolio_context.db import session_scope
from portfolio_context.models import CreditProfile
from portfolio_context.seed import seed_bank
from portfolio_context.view import build_view
from tests import fakes
from tests.conftest import bearer, make_settings
from tests.credit_fixtures import DELINQUENT, GOOD, HARDSHIP, NO_CARD, prepare_bank, synthetic_table
from tests.sse import chat_events, done

AS_OF = dt.date(2026, 11, 28)
RULES = (load_policy(), load_reason_codes())
REG_B = Path(Settings().shared_data_dir) / "regulations" / "cfpb-reg-b-1002.json"


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var dir whose registry holds a credit-risk model trained on the synthetic table."""
    var = tmp_path_factory.mktemp("credit")
    register_model(Registry(var / "models" / "registry"), synthetic_table(), 0.0)
    return var


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The tiny prepared bank."""
    url = f"sqlite:///{tmp_path_factory.mktemp('creditbank') / 'bank.db'}"
    prepare_bank(url)
    return url


@pytest.fixture(scope="module")
def settings(var_dir: Path, bank: str) -> Settings:
    return make_settings(var_dir, bank)


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, backend=fakes.FakeBackend())) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def scorer(var_dir: Path) -> CreditRiskScorer:
    found = CreditRiskScorer.from_registry(Registry(var_dir / "models" / "registry"))
    assert found is not None
    return found


def inputs(**values: float) -> CreditInputs:
    """Inputs of a customer with average figures, a $5,000 card and $6,000 a month."""
    base = dict.fromkeys(FEATURES, 0.0) | {"bureau_score": 720.0, "monthly_income": 6000.0}
    return CreditInputs(
        "C0001", base | values, (), False, False, Decimal(5000), Decimal("24.99"), Decimal(6000)
    )


def score(probability: float, **contributions: float) -> Score:
    return Score(probability, MODEL_NAME, 1, dict.fromkeys(FEATURES, -0.1) | contributions)


# --- features and the model -------------------------------------------------------------


def test_no_protected_basis_among_the_features(var_dir: Path) -> None:
    registered = Registry(var_dir / "models" / "registry").promoted(MODEL_NAME)
    assert registered is not None
    for names in (list(FEATURES), registered.meta["features"]):
        assert not set(names) & PROTECTED
        assert not [n for n in names if any(p in n for p in ("age", "birth", "marital", "state"))]
    assert {"birth_year", "marital", "name", "state", "job"} <= PROTECTED


def test_features_reuse_the_360_view(bank: str) -> None:
    with session_scope(bank) as db:
        view = build_view(db, GOOD)
        found = load_credit_inputs(db, GOOD, AS_OF)
    for feature, fact_id in (
        ("debt_to_income", "debt.dti"),
        ("card_utilization", "credit.utilization"),
    ):
        fact = view.fact(fact_id)
        assert fact is not None and found.values[feature] == pytest.approx(float(str(fact.value)))
    assert found.values["bureau_score"] == 820 and found.current_limit == Decimal(5000)
    assert found.defaults_used == ()


def test_contributions_add_up_to_the_calibrated_probability(scorer: CreditRiskScorer) -> None:
    made = scorer.score_inputs(inputs(card_utilization=85, debt_to_income=45, inquiries_6m=4))
    logit = scorer.base_of(made) + sum(made.contributions.values())
    assert 1 / (1 + math.exp(-logit)) == pytest.approx(made.probability)
    assert set(made.contributions) == set(FEATURES)
    assert made.contributions["card_utilization"] > 0 and made.contributions["inquiries_6m"] > 0


@pytest.mark.parametrize(("feature", "direction"), [("card_utilization", 1), ("bureau_score", -1)])
def test_risk_is_monotone(scorer: CreditRiskScorer, feature: str, direction: int) -> None:
    grid = np.linspace(0, 100, 11) if feature == "card_utilization" else np.linspace(560, 830, 11)
    probs = [scorer.score_inputs(inputs(**{feature: float(v)})).probability for v in grid]
    assert all(direction * (b - a) >= -1e-12 for a, b in itertools.pairwise(probs))
    assert direction * (probs[-1] - probs[0]) > 0


def test_training_on_one_outcome_fails_and_registers_nothing(tmp_path: Path) -> None:
    registry, table = Registry(tmp_path), synthetic_table(300)
    with pytest.raises(TrainingDataError, match="delinquent"):
        register_model(registry, replace(table, labels=np.zeros(300, dtype=np.int8)), 0.0)
    assert registry.versions(MODEL_NAME) == []


def test_a_bank_without_labels_is_refused(bank: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unlabelled.db'}"
    seed_bank(url, 3, 42, AS_OF)
    with session_scope(url) as db:
        db.execute(update(CreditProfile).values(delinquent_12m=None))
    with pytest.raises(TrainingDataError, match="no customer"):
        load_table(url)


# --- policy and reasons -----------------------------------------------------------------


def form_c1_reasons() -> set[str]:
    """The reasons listed in Appendix C of the regulation text, without their blanks."""
    found: set[str] = set()

    def walk(node: dict[str, object]) -> None:
        label = node.get("label") or []
        if (
            isinstance(label, list)
            and label[1:3] == ["C", "I"]
            and str(node["text"]).startswith("__")
        ):
            found.add(str(node["text"]).strip("_ "))
        for child in node.get("children") or []:  # type: ignore[attr-defined]
            walk(child)

    walk(json.loads(REG_B.read_text(encoding="utf-8")))
    return found


def test_reason_texts_are_the_wording_of_form_c1() -> None:
    listed = form_c1_reasons()
    assert "Excessive obligations in relation to income" in listed
    codes = RULES[1]
    for text in codes.texts.values():
        assert text in listed or text.startswith("Other, specify: "), text
    assert set(codes.by_feature) == set(FEATURES)


CASES = [  # (name, inputs, score, requested, decision, first reason text or None)
    ("hardship", replace(inputs(), hardship=True), score(0.01), None, "decline",
     "Other, specify: Account enrolled in a payment hardship programme with us"),
    ("delinquency", inputs(delinquencies_24m=1), score(0.01), None, "decline",
     "Delinquent past or present credit obligations with others"),
    ("default", replace(inputs(), in_default=True), score(0.01), None, "decline",
     "Delinquent past or present credit obligations with others"),
    ("high risk", inputs(), score(0.4, inquiries_6m=0.8), None, "decline",
     "Number of recent inquiries on credit bureau report"),
    ("no credit file", replace(inputs(), defaults_used=("bureau_score",)), score(0.01), None,
     "decline", "No credit file"),
    ("step up", inputs(), score(0.01), None, "raise", None),
    ("request met", inputs(), score(0.05), Decimal(9000), "raise", None),
    ("income bound", inputs(), score(0.01), Decimal(29000), "raise",
     "Income insufficient for amount of credit requested"),
    ("band bound", inputs(), score(0.1, debt_to_income=0.4), Decimal(15000), "raise",
     "Excessive obligations in relation to income"),
    ("no room", inputs(monthly_income=1000), score(0.01), None, "keep",
     "Income insufficient for amount of credit requested"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "given", "scored", "requested", "decision", "first"), CASES)
def test_decision_table(
    name: str,
    given: CreditInputs,
    scored: Score,
    requested: Decimal | None,
    decision: str,
    first: str | None,
) -> None:
    given = replace(given, monthly_income=Decimal(str(given.values["monthly_income"])))
    made = decide(given, Decimal(5000), scored, requested, RULES)
    assert made.decision == decision, made
    assert (made.reasons[0].text if made.reasons else None) == first
    assert len(made.reasons) <= 4
    if decision == "raise":
        assert made.new_limit is not None and made.new_limit > 5000 and made.apr is not None
        assert made.apr <= Decimal("24.99")  # a raise never reprices the card upwards
    if decision == "decline":
        assert made.new_limit is None and made.apr is None


def test_reasons_follow_the_contributions_one_per_code_at_most_four() -> None:
    scored = score(
        0.5, inquiries_6m=0.9, card_utilization=0.7, debt_to_income=0.5, bureau_score=0.3,
        open_tradelines=0.2, months_on_book=0.15, deposit_balance=0.12,
    )  # fmt: skip
    made = decide(inputs(), Decimal(5000), scored, None, RULES)
    assert [r.code for r in made.reasons] == [
        "recent_inquiries", "excessive_obligations", "credit_score", "limited_credit_experience",
    ]  # fmt: skip
    contributions = [r.contribution or 0.0 for r in made.reasons]
    assert contributions == sorted(contributions, reverse=True)


def test_rule_reasons_come_before_model_reasons() -> None:
    given = replace(inputs(delinquencies_24m=3), hardship=True)
    made = decide(given, Decimal(5000), score(0.3, inquiries_6m=0.9), None, RULES)
    assert [r.source for r in made.reasons][:3] == [
        "rule:hardship", "rule:recent_delinquency", "feature:inquiries_6m",
    ]  # fmt: skip
    assert made.rules_fired == ("hardship", "recent_delinquency")


# --- service, API and traces --------------------------------------------------------------


def post(
    client: TestClient, settings: Settings, customer: str, body: object = None
) -> dict[str, Any]:
    response = client.post(
        "/v1/credit-limit/requests", json=body, headers=bearer(settings, customer)
    )
    return {"status": response.status_code, **response.json()}


def test_a_good_customer_gets_the_step_up_without_reasons(
    client: TestClient, settings: Settings
) -> None:
    answer = post(client, settings, GOOD)
    assert answer["status"] == 200, answer
    assert answer["decision"] == "raise" and answer["reasons"] == []
    assert answer["current_limit"] == "5000.00" and answer["new_limit"] == "6200.00"
    assert Decimal(answer["apr"]) > 0 and answer["trace_id"].startswith("tr_")


@pytest.mark.parametrize(
    ("customer", "text"),
    [
        (HARDSHIP, "Other, specify: Account enrolled in a payment hardship programme with us"),
        (DELINQUENT, "Delinquent past or present credit obligations with others"),
    ],
)
def test_hardship_and_delinquency_are_declined_with_reg_b_reasons(
    client: TestClient, settings: Settings, customer: str, text: str
) -> None:
    answer = post(client, settings, customer, {"requested_limit": "50000"})
    assert answer["status"] == 200 and answer["decision"] == "decline"
    assert answer["reasons"][0]["text"] == text and 1 <= len(answer["reasons"]) <= 4
    assert "new_limit" not in answer or answer["new_limit"] is None


def test_the_trace_belongs_to_its_customer(
    client: TestClient, settings: Settings, bank: str
) -> None:
    answer = post(client, settings, DELINQUENT)
    store = TraceStore(bank)
    trace = store.get(answer["trace_id"], DELINQUENT)
    assert trace is not None and trace["kind"] == "credit_decision"
    assert trace["model_versions"] == {MODEL_NAME: 1}
    assert set(trace["contributions"][MODEL_NAME]) == set(FEATURES)
    assert "recent_delinquency" in trace["rules_fired"][0]["rules"]
    assert trace["decision"]["reasons"][0]["code"] == "delinquent_obligations"
    assert store.get(answer["trace_id"], GOOD) is None
    url = f"/v1/traces/{answer['trace_id']}"
    served = client.get(url, headers=bearer(settings, DELINQUENT))
    assert served.status_code == 200 and served.json()["decision"]["decision"] == "decline"
    assert client.get(url, headers=bearer(settings, GOOD)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"requested_limit": "-5"}, {"requested_limit": "0"}, {"requested_limit": "abc"},
     {"requested_limit": "1e9"}, {"requested_limit": "NaN"}, {"requested_limit": "4000"},
     {"requested_limit": "7000.123"}],
)  # fmt: skip
def test_bad_requested_limits_are_422(client: TestClient, settings: Settings, body: object) -> None:
    answer = post(client, settings, GOOD, body)
    assert answer["status"] == 422 and answer["detail"], answer


def test_no_token_is_401_and_no_card_is_404(client: TestClient, settings: Settings) -> None:
    assert client.post("/v1/credit-limit/requests").status_code == 401
    service = bearer(settings, SERVICE_SUBJECT, scope="service")
    assert client.post("/v1/credit-limit/requests", headers=service).status_code == 403
    answer = post(client, settings, NO_CARD)
    assert answer["status"] == 404 and "no credit card" in answer["detail"]


def test_no_trained_model_is_503(
    client: TestClient, settings: Settings, bank: str, tmp_path: Path
) -> None:
    empty = CreditService(bank, Registry(tmp_path), TraceStore(bank))
    with pytest.raises(BackendUnavailable):
        empty.request(GOOD)
    client.app.dependency_overrides[get_credit] = lambda: empty  # type: ignore[attr-defined]
    try:
        assert post(client, settings, GOOD)["status"] == 503
    finally:
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


# --- chat -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Can you raise my credit limit to $8,000?", Decimal(8000)),
        ("increase my limit by 2,000 please", Decimal(7000)),
        ("raise my credit limit", None),
        ("I'd like a higher limit to 12000.50", Decimal(12000)),
    ],
)
def test_the_amount_a_message_asks_for(message: str, expected: Decimal | None) -> None:
    assert requested_limit(message, Decimal(5000)) == expected


def test_chat_states_the_decision_from_facts(settings: Settings, bank: str) -> None:
    context = ContextService.from_settings(settings)
    provide = credit_limit(settings, context)
    raised = provide(GOOD, context.view(GOOD), "please raise my credit limit")
    assert raised is not None and len(raised.trace_ids) == 1
    shown = {f.id: f.display for f in raised.facts}
    assert shown["credit.decision"] == "raise" and shown["credit.new_limit"] == "$6,200.00"
    assert "$5,000.00 to $6,200.00" in raised.draft and "reasons" not in raised.draft
    declined = provide(DELINQUENT, context.view(DELINQUENT), "raise my limit to $50,000")
    assert declined is not None
    facts = {f.id: str(f.value) for f in declined.facts}
    assert facts["credit.decision"] == "decline" and "credit.new_limit" not in facts
    assert facts["credit.reason_1"] == "Delinquent past or present credit obligations with others"
    assert "Delinquent past or present credit obligations with others" in declined.draft
    assert TraceStore(bank).get(declined.trace_ids[0], DELINQUENT) is not None
    no_card = provide(NO_CARD, context.view(NO_CARD), "raise my credit limit")
    assert no_card is not None and no_card.facts == [] and "credit card" in no_card.draft


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("Can you raise my credit limit to $8,000?", "credit_limit_request"),
        ("I'd like a higher limit on my card", "credit_limit_request"),
        ("please get my credit limit increased", "credit_limit_request"),
        ("What's my credit limit?", None),
        ("How much of my credit limit have I used up?", None),
    ],
)
def test_credit_limit_requests_reach_the_provider(message: str, intent: str | None) -> None:
    assert matched_intent(message) == intent


def test_a_chat_request_gets_the_decision_and_its_reasons(
    client: TestClient, settings: Settings, bank: str
) -> None:
    final = done(
        chat_events(client, bearer(settings, DELINQUENT), "Can you raise my credit limit?")
    )
    assert final["plan"] == "facts" and final["topic"] == "credit_decision"
    assert "Delinquent past or present credit obligations with others" in final["text"]
    assert {"credit.decision", "credit.current_limit", "credit.reason_1"} <= set(final["facts"])
    (trace_id,) = final["decision_trace_ids"]
    assert TraceStore(bank).get(trace_id, DELINQUENT) is not None
