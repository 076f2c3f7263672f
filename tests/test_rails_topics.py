"""The output rails name real topics and product types: the investment disclaimer on
investment topics and quoted investment products, credit context by topic, and load-time
checks of every id the policy names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from advisor.rails.input import InputRails
from advisor.rails.output.guard import OutputRails, RailContext
from advisor.rails.output.policy import InputPolicy, OutputPolicy, known_topics
from advisor.rails.pii.policy import PolicyError
from advisor.rails.pii.redactor import PiiRedactor
from advisor.rails.service import Rails
from advisor.settings import Settings
from retrieval.products import product_chunks
from retrieval.search import Hit

POLICY_DIR = Settings().rails.policy_dir
ANSWER = "Your portfolio's duration is 5.2 years."


@pytest.fixture(scope="module")
def outputs() -> OutputRails:
    """The output rails of the shipped policy."""
    return OutputRails(OutputPolicy.load(POLICY_DIR))


@pytest.fixture(scope="module")
def rails(redactor: PiiRedactor, outputs: OutputRails) -> Rails:
    """The rails of the shipped policy (no injection classifier needed here)."""
    return Rails(Settings(), redactor, InputRails(InputPolicy.load(POLICY_DIR), None), outputs)


def hits(*product_ids: str) -> list[Hit]:
    """The first terms section of each product, as a retrieved passage."""
    chunks = {c.metadata["product_id"]: c for c in reversed(product_chunks())}
    return [Hit(chunks[p], 1.0, 0.9) for p in product_ids]


@pytest.mark.parametrize(
    ("topic", "investment", "answer", "appended"),
    [
        ("portfolio", False, ANSWER, True),
        ("rate_sensitivity", False, ANSWER, True),
        ("balance", False, "Your checking balance is $5.", False),
        ("dti", False, "Your debt-to-income ratio is 20%.", False),
        (None, True, "Here is what Northbank portfolio_growth §1 says [1].", True),
        (None, False, "Here is what 12 CFR 1005.6 says [1].", False),
        ("portfolio", False, "Investments are not FDIC insured.", False),  # already said
    ],
)
def test_disclaimer_by_topic_or_quoted_product(
    outputs: OutputRails, topic: str | None, investment: bool, answer: str, appended: bool
) -> None:
    extra, item = outputs.closing(answer, RailContext(topic=topic, investment=investment))
    assert (item is not None) is appended
    assert ("not FDIC insured" in extra) is appended


@pytest.mark.parametrize(
    ("products", "investment"),
    [
        (["portfolio_growth"], True),
        (["ira_roth"], True),
        (["hysave", "portfolio_balanced"], True),
        (["hysave"], False),
        (["term_life"], False),
        ([], False),
    ],
)
def test_quoted_investment_products_mark_the_context(
    rails: Rails, products: list[str], investment: bool
) -> None:
    quoted = hits(*products)
    context = rails.context(None, None, "", "system", "question", bool(quoted), quoted)
    assert context.investment is investment


@pytest.mark.parametrize(
    ("topic", "fixed"),
    [("dti", True), ("utilization", True), ("credit_score", True), ("balance", False)],
)
def test_credit_topics_make_credit_context(outputs: OutputRails, topic: str, fixed: bool) -> None:
    text = "Because you are married, this ratio looks high."  # no credit word of its own
    checked, found = outputs.check(text, RailContext(topic=topic))
    assert (found != []) is fixed and (checked != text) is fixed


def test_every_topic_the_policy_names_exists() -> None:
    policy = OutputPolicy.load(POLICY_DIR)
    named = {*policy.disclaimer.topics, *policy.protected_basis.topics}
    assert named <= known_topics()
    assert {"portfolio", "rate_sensitivity"} <= set(policy.disclaimer.topics)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("disclaimer", "topics", ["portfolio", "investments"], "disclaimer.topics.*investments"),
        ("protected_basis", "topics", ["dti", "credit"], "protected_basis.topics.*credit"),
        ("disclaimer", "product_types", ["crypto"], "disclaimer.product_types.*crypto"),
    ],
)
def test_an_unknown_id_stops_the_policy_at_load(
    tmp_path: Path, section: str, key: str, value: list[str], message: str
) -> None:
    shutil.copy(POLICY_DIR / "output_rails.yaml", tmp_path / "output_rails.yaml")
    path = tmp_path / "output_rails.yaml"
    data = yaml.safe_load(path.read_text())
    data[section][key] = value
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PolicyError, match=message):
        OutputPolicy.load(tmp_path)


def test_ids_are_checked_against_what_the_caller_knows() -> None:
    with pytest.raises(PolicyError, match="rate_sensitivity"):
        OutputPolicy.load(POLICY_DIR, topics={"portfolio", "dti", "utilization", "credit_score"})


@pytest.fixture(scope="module")
def products_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var dir whose index holds the product corpus only (seconds to embed)."""
    from retrieval.index import CorpusIndex, chroma_client

    var = tmp_path_factory.mktemp("products-index")
    CorpusIndex(chroma_client(var / "chroma", None)).ingest(product_chunks())
    return var


@pytest.mark.parametrize(
    ("question", "product", "disclaimer"),
    [
        ("Are withdrawals from the Roth IRA tax-free?", "ira_roth", True),
        ("How early can I cash out a 12-month CD, and what is the penalty?", "cd_12m", False),
    ],
)
def test_quoted_product_answers_through_chat(
    products_var: Path, bank_url: str, question: str, product: str, disclaimer: bool
) -> None:
    from fastapi.testclient import TestClient

    from advisor.api.app import create_app
    from tests.conftest import bearer, make_settings
    from tests.fakes import FakeBackend
    from tests.sse import chat_events, done

    settings = make_settings(products_var, bank_url)
    with TestClient(create_app(settings, backend=FakeBackend())) as client:
        events = chat_events(client, bearer(settings, "C0001"), question)
    final = done(events)
    cited = [data["citation"] for name, data in events if name == "citation"]
    assert cited and cited[0].startswith(f"Northbank {product} "), cited
    rules = [data["rule"] for name, data in events if name == "guard"]
    assert ("not FDIC insured" in final["text"]) is disclaimer
    assert ("compliance.investment_disclaimer" in rules) is disclaimer
