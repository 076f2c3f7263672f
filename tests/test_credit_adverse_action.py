"""Adverse action is never given a made-up or a risk-lowering reason, nor made without reasons."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import delete

from advisor.context_service import ContextService
from advisor.decisions.credit import decide, model_reasons
from advisor.decisions.credit_chat import credit_limit, templates
from advisor.decisions.credit_rules import load_policy, load_reason_codes
from advisor.decisions.credit_service import CreditService
from advisor.predict.credit_features import DEFAULTS, FEATURES, CreditInputs
from advisor.predict.credit_risk import MODEL_NAME, CreditRiskScorer, sigmoid
from advisor.predict.registry import Registry
from advisor.predict.score import Score
from advisor.settings import Settings
from advisor.training.credit_risk_train import register_model
from portfolio_context.db import session_scope
from portfolio_context.models import CreditProfile
from tests.conftest import make_settings
from tests.credit_fixtures import GOOD, prepare_bank, synthetic_table

RULES = (load_policy(), load_reason_codes())
BUREAU = ("bureau_score", "delinquencies_24m", "inquiries_6m", "open_tradelines")
NO_INCOME = ("debt_to_income", "income_variability")
NO_FILE_CUSTOMER = "C0006"


def inputs(defaults: tuple[str, ...] = (), **values: float) -> CreditInputs:
    """A customer with a $5,000 card and $6,000 a month; `defaults` filled as the features do."""
    base = dict.fromkeys(FEATURES, 0.0) | {"bureau_score": 720.0, "monthly_income": 6000.0}
    filled = base | values | {name: DEFAULTS[name] for name in defaults}
    income = Decimal(str(filled["monthly_income"]))
    return CreditInputs(
        "C0001", filled, defaults, False, False, Decimal(5000), Decimal("24.99"), income
    )


def score(probability: float, **contributions: float) -> Score:
    return Score(probability, MODEL_NAME, 1, dict.fromkeys(FEATURES, -0.1) | contributions)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A trained credit-risk model and a tiny bank where one card holder has no bureau file."""
    var = tmp_path_factory.mktemp("adverse")
    register_model(Registry(var / "models" / "registry"), synthetic_table(), 0.0)
    url = f"sqlite:///{var / 'bank.db'}"
    prepare_bank(url)
    with session_scope(url) as db:
        db.execute(delete(CreditProfile).where(CreditProfile.customer_id == NO_FILE_CUSTOMER))
    return make_settings(var, url)


# --- 1. no reason from a default ------------------------------------------------------------

RISKY_BUREAU = {"bureau_score": 0.6, "delinquencies_24m": 0.5, "inquiries_6m": 0.4}


@pytest.mark.parametrize("probability", [0.01, 0.5])
def test_no_credit_file_gives_that_reason_only(probability: float) -> None:
    made = decide(inputs(BUREAU), Decimal(5000), score(probability, **RISKY_BUREAU), None, RULES)
    assert made.decision == "decline"
    assert [r.code for r in made.reasons] == ["no_credit_file"]
    assert made.rules_fired == ("no_credit_file",)


@pytest.mark.parametrize(("probability", "decision"), [(0.01, "keep"), (0.5, "decline")])
def test_missing_income_gives_the_income_reason_only(probability: float, decision: str) -> None:
    given = inputs(NO_INCOME, monthly_income=0.0)
    hurting = score(probability, debt_to_income=0.9, income_variability=0.8, monthly_income=0.3)
    made = decide(given, Decimal(5000), hurting, None, RULES)
    assert made.decision == decision
    assert [r.code for r in made.reasons] == ["income_insufficient"]


def test_a_customer_without_a_bureau_file_is_not_called_delinquent(settings: Settings) -> None:
    made = CreditService.from_settings(settings).request(NO_FILE_CUSTOMER).decision
    assert made.decision == "decline" and made.reasons[0].code == "no_credit_file"
    assert "recent_delinquency" not in made.rules_fired
    sources = {r.source for r in made.reasons}
    assert not sources & {f"feature:{name}" for name in BUREAU}, made.reasons


# --- 2. no reason from a contribution that lowered the risk --------------------------------


def test_model_reasons_only_come_from_risk_raising_contributions() -> None:
    given = score(0.5, card_utilization=0.3, inquiries_6m=0.0, debt_to_income=-0.2)
    made = model_reasons(given, inputs(), RULES)
    assert [(r.source, r.contribution) for r in made] == [("feature:card_utilization", 0.3)]
    assert model_reasons(score(0.5), inputs(), RULES) == []


@pytest.mark.parametrize(("requested", "new"), [(5050, 5100), (5001, 5100), (6200, 6200)])
def test_a_request_is_rounded_up_and_met(requested: int, new: int) -> None:
    made = decide(inputs(), Decimal(5000), score(0.01), Decimal(requested), RULES)
    assert (made.decision, made.new_limit, made.reasons) == ("raise", Decimal(new), ())


# --- 3. a chat counteroffer says so, with its reasons -----------------------------------------


def test_chat_caps_a_too_large_amount_and_gives_the_reasons(settings: Settings) -> None:
    context = ContextService.from_settings(settings)
    provide = credit_limit(settings, context)
    answer = provide(GOOD, context.view(GOOD), "please raise my credit limit to $150,000")
    assert answer is not None and len(answer.trace_ids) == 1
    facts = {f.id: str(f.value) for f in answer.facts}
    assert facts["credit.decision"] == "raise" and "credit.reason_1" in facts
    assert "less than you asked for" in answer.draft
    assert "The principal reasons for our decision" in answer.draft


def test_chat_answers_an_amount_that_cannot_be_asked_as_such(settings: Settings) -> None:
    context = ContextService.from_settings(settings)
    provide = credit_limit(settings, context)
    answer = provide(GOOD, context.view(GOOD), "raise my credit limit to $3,000")
    assert answer is not None and answer.facts == [] and answer.trace_ids == ()
    assert answer.draft == templates()["invalid_amount"]


# --- 4. the income bound is the reason when it binds ----------------------------------------


def test_the_income_bound_alone_is_the_reason_when_it_binds() -> None:
    hurting = score(0.01, debt_to_income=0.4, inquiries_6m=0.2)
    made = decide(inputs(), Decimal(5000), hurting, Decimal(29000), RULES)
    assert made.decision == "raise" and made.new_limit == Decimal(28800)
    assert [r.source for r in made.reasons] == ["rule:income_cap"]


def test_the_band_bound_gives_the_model_reasons() -> None:
    made = decide(inputs(), Decimal(5000), score(0.1, debt_to_income=0.4), Decimal(15000), RULES)
    assert made.decision == "raise" and made.new_limit == Decimal(10000)
    assert [r.source for r in made.reasons] == ["feature:debt_to_income"]


# --- 5. the trace's base log-odds at a probability of 0 or 1 --------------------------------


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_base_log_odds_survive_a_certain_probability(
    settings: Settings, probability: float
) -> None:
    scorer = CreditRiskScorer.from_registry(Registry.from_settings(settings))
    assert scorer is not None
    made = scorer.score_inputs(inputs())
    logit = math.log(made.probability / (1 - made.probability))
    assert scorer.base_of(made) + sum(made.contributions.values()) == pytest.approx(logit)
    assert scorer.base_of(replace(made, probability=probability)) == scorer.base_of(made)
    assert (sigmoid(-1000.0), sigmoid(1000.0)) == (0.0, 1.0)


# --- 6. every decline and counter-offer carries at least one principal reason ----------------

NONE_OVER = {"card_utilization": 0.005}  # raised the risk, below min_reason_contribution


@pytest.mark.parametrize(
    ("given", "current", "made_score", "requested", "decision", "source"),
    [
        (inputs(), 5000, score(0.5), None, "decline", "feature:"),  # every feature lowered it
        (inputs(), 5000, score(0.5, **NONE_OVER), None, "decline", "feature:card_utilization"),
        (inputs(("income_variability",)), 5000, score(0.5, income_variability=0.8), None,
         "decline", "missing:income_variability"),
        (inputs(), 12000, score(0.1), None, "keep", "feature:"),  # band C's 10,000 < 12,000
        (inputs(), 5000, score(0.05), 25000, "raise", "feature:"),  # band B's 20,000 < asked
    ],
)  # fmt: skip
def test_adverse_action_always_has_a_reason(
    given: CreditInputs,
    current: int,
    made_score: Score,
    requested: int | None,
    decision: str,
    source: str,
) -> None:
    asked = None if requested is None else Decimal(requested)
    made = decide(given, Decimal(current), made_score, asked, RULES)
    assert made.decision == decision
    assert 1 <= len(made.reasons) <= RULES[0].max_reasons
    assert made.reasons[0].source.startswith(source)
    assert all(r.text == RULES[1].texts[r.code] for r in made.reasons)
