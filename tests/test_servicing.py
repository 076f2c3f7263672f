"""Servicing answers: one article per Banking77 intent, every figure read from product terms."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from retrieval.index import CorpusIndex, chroma_client
from retrieval.products import PRODUCTS_DIR, load_products, product_chunks
from retrieval.search import HybridSearcher
from retrieval.servicing import (
    ARTICLES_PATH,
    PLACEHOLDER,
    ServicingError,
    load_answers,
    load_intents,
    servicing_answer,
    servicing_chunks,
)
from retrieval.term_format import format_value, money, number
from tests.retrieval_fixtures import REGULATIONS

BANKING77 = REGULATIONS.parent / "intents" / "banking77_categories.json"
RAW = yaml.safe_load(ARTICLES_PATH.read_text(encoding="utf-8"))["articles"]
TERMS = {p.id: p.terms for p in load_products()}
SERVICES = TERMS["card_and_account_services"]
SPELLED = re.compile(
    r"\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|sixty|ninety|hundred|thousand)\b",
    re.IGNORECASE,
)
SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def test_every_banking77_intent_has_an_article() -> None:
    intents = load_intents()
    if BANKING77.is_file():
        assert sorted(intents) == sorted(json.loads(BANKING77.read_text()))
    assert len(intents) == 77
    assert set(load_answers()) == set(intents)


@pytest.mark.parametrize("intent", sorted(RAW))
def test_article_states_no_figure_of_its_own(intent: str) -> None:
    body = PLACEHOLDER.sub("", RAW[intent]["body"])
    assert not re.search(r"[0-9$%]", body), body
    assert not SPELLED.search(body), SPELLED.search(body)
    assert 2 <= len(SENTENCE_END.findall(RAW[intent]["body"])) <= 4


@pytest.mark.parametrize("intent", sorted(RAW))
def test_every_placeholder_resolves_to_a_stated_fact(intent: str) -> None:
    answer = servicing_answer(intent)
    assert answer is not None and "{" not in answer.text
    named = [
        f"{product}.{term}"
        for product, first, last in PLACEHOLDER.findall(RAW[intent]["body"])
        for term in (first, last)
        if term
    ]
    assert [term for term, _ in answer.facts] == named
    for term, shown in answer.facts:
        product, key = term.split(".")
        assert shown == format_value(key, TERMS[product][key])
    assert re.fullmatch(r"Northbank [a-z0-9_]+ \u00a7\d+", answer.citation)


@pytest.mark.parametrize(
    ("intent", "stated", "action"),
    [
        (
            "card_arrival",
            [
                f"{number(SERVICES['card_delivery_min_business_days'])} to "
                f"{number(SERVICES['card_delivery_max_business_days'])} business days",
                money(SERVICES["expedited_card_delivery_fee_usd"]),
            ],
            "order_replacement_card",
        ),
        (
            "lost_or_stolen_card",
            [
                money(SERVICES["card_replacement_fee_usd"]),
                money(SERVICES["reg_e_liability_timely_notice_max_usd"]),
                money(SERVICES["reg_e_liability_late_notice_max_usd"]),
            ],
            "freeze_card",
        ),
        (
            "top_up_by_card_charge",
            [
                f"{number(SERVICES['card_top_up_fee_percent'])}%",
                money(SERVICES["card_top_up_fee_min_usd"]),
            ],
            "add_money",
        ),
        ("atm_support", [money(TERMS["basic_checking"]["out_of_network_atm_fee_usd"])], None),
    ],
)
def test_answer_states_the_terms(intent: str, stated: list[str], action: str | None) -> None:
    answer = servicing_answer(intent)
    assert answer is not None
    for value in stated:
        assert value in answer.text
    assert (answer.action.id if answer.action else None) == action
    if answer.action:
        assert answer.action.label


def test_regulation_e_figures_match_the_regulation() -> None:
    answer = servicing_answer("lost_or_stolen_card")
    assert answer is not None
    assert "within 2 business days" in answer.text
    assert "at most $50.00" in answer.text and "up to $500" in answer.text
    dispute = servicing_answer("wrong_amount_of_cash_received")
    assert dispute is not None
    assert "within 10 business days" in dispute.text and "up to 45 days" in dispute.text


@pytest.mark.parametrize(
    ("term", "value", "shown"),
    [
        ("card_replacement_fee_usd", 5, "$5.00"),
        ("out_of_network_atm_fee_usd", 2.5, "$2.50"),
        ("card_top_up_daily_limit_usd", 2500, "$2,500"),
        ("card_top_up_fee_percent", 1.5, "1.5%"),
        ("ach_transfer_min_business_days", 1, "1 business day"),
        ("investigation_max_days", 45, "45 days"),
        ("card_top_up_review_max_hours", 24, "24 hours"),
        ("disposable_virtual_cards_per_day_count", 5, "5"),
        ("minimum_age_years", 18, "18 years"),
    ],
)
def test_terms_display_by_unit(term: str, value: float, shown: str) -> None:
    assert format_value(term, value) == shown


def test_citation_event_names_the_cited_terms_section() -> None:
    answer = servicing_answer("lost_or_stolen_card")
    assert answer is not None
    payload = answer.citation_payload()
    assert payload["citation"] == "Northbank card_and_account_services \u00a74"
    assert payload["title"] == (
        "Northbank Card and Account Services \u2014 Lost, Stolen or Compromised Cards and Phones"
    )
    assert (payload["source"], payload["snippet"], payload["index"]) == (
        "servicing",
        answer.text,
        1,
    )


def test_unknown_intent_has_no_answer() -> None:
    assert servicing_answer("balance") is None
    assert servicing_answer("") is None


def test_a_changed_term_changes_only_the_articles_that_state_it(tmp_path: Path) -> None:
    products = tmp_path / "products"
    shutil.copytree(PRODUCTS_DIR, products)
    target = products / "card_and_account_services.yaml"
    text = target.read_text().replace(
        "card_replacement_fee_usd: 5\n", "card_replacement_fee_usd: 7.5\n"
    )
    target.write_text(text.replace("costs $5;", "costs $7.50;"))
    before = {c.id: c.content_hash for c in servicing_chunks()}
    after = {c.id: c for c in servicing_chunks(products)}
    changed = {i for i, c in after.items() if c.content_hash != before[i]}
    users = {i for i in RAW if "card_replacement_fee_usd" in RAW[i]["body"]}
    assert changed == {f"Northbank servicing {i}" for i in users}
    assert "$7.50" in after["Northbank servicing lost_or_stolen_card"].text


GOOD = {
    "title": "Your card has not arrived yet",
    "cites": "card_and_account_services §1",
    "body": "It arrives within {card_and_account_services.card_delivery_min_business_days"
    "..card_delivery_max_business_days}. Ask us.",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"body": "It costs {card_and_account_services.no_such_fee_usd}. Ask."}, "no term"),
        ({"body": "It costs {nowhere.card_replacement_fee_usd}. Ask."}, "unknown product"),
        ({"body": "It costs five dollars, or $5. Ask."}, "literal number"),
        ({"body": "It takes {card_and_account_services}. Ask."}, "malformed placeholder"),
        ({"body": "In {basic_checking.monthly_fee_usd..minimum_age_years}. Ask."}, "mixes units"),
        ({"action": "teleport"}, "unknown action"),
        ({"cites": "card_and_account_services §99"}, "no such section"),
        ({"cites": "the terms"}, "is not"),
        ({"colour": "blue"}, "invalid servicing articles file"),
    ],
)
def test_broken_articles_fail_at_load(tmp_path: Path, change: dict[str, str], message: str) -> None:
    articles, intents = _write(tmp_path, {"card_arrival": {**GOOD, **change}})
    with pytest.raises(ServicingError, match=message) as failure:
        load_answers(articles, PRODUCTS_DIR, intents)
    assert "card_arrival" in str(failure.value) or "articles file" in str(failure.value)


def test_a_missing_intent_or_a_broken_file_fails_at_load(tmp_path: Path) -> None:
    articles, intents = _write(tmp_path, {"card_arrival": GOOD}, ["card_arrival", "age_limit"])
    with pytest.raises(ServicingError, match=r"without an article \['age_limit'\]"):
        load_answers(articles, PRODUCTS_DIR, intents)
    articles.write_text("actions: {\narticles: [")
    with pytest.raises(ServicingError, match="invalid servicing articles file"):
        load_answers(articles, PRODUCTS_DIR, intents)


def _write(
    tmp_path: Path, articles: dict[str, dict[str, str]], intents: list[str] | None = None
) -> tuple[Path, Path]:
    """An articles file and an intents file in tmp_path."""
    data = {"actions": {"freeze_card": "Freeze my card"}, "articles": articles}
    (tmp_path / "articles.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    (tmp_path / "intents.yaml").write_text(yaml.safe_dump(intents or list(articles)))
    return tmp_path / "articles.yaml", tmp_path / "intents.yaml"


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory) -> HybridSearcher:
    """A searcher over the product corpus and the servicing articles."""
    path = tmp_path_factory.mktemp("servicing-var")
    index = CorpusIndex(chroma_client(path / "chroma", None))
    index.ingest(product_chunks() + servicing_chunks())
    return HybridSearcher(index)


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("my card still hasn't arrived", "card_arrival"),
        ("why was I charged a fee for topping up with my card?", "top_up_by_card_charge"),
        ("I lost my wallet with my debit card in it", "lost_or_stolen_card"),
        ("how do I change my PIN", "change_pin"),
    ],
)
def test_articles_are_searchable_by_source(
    searcher: HybridSearcher, question: str, intent: str
) -> None:
    hits = searcher.search(question, 3, source="servicing")
    assert all(h.chunk.source == "servicing" for h in hits)
    assert f"Northbank servicing {intent}" in [h.chunk.citation for h in hits]


def test_servicing_material_stays_out_of_default_search(searcher: HybridSearcher) -> None:
    default = searcher.search("my card still hasn't arrived, how long does delivery take", 5)
    assert default and all(h.chunk.source == "products" for h in default)
    terms = searcher.search("how long does card delivery take", 3, product_type="services")
    assert terms[0].chunk.citation == "Northbank card_and_account_services \u00a71"
    assert all(h.chunk.source == "servicing" for h in terms)


def test_services_terms_are_indexed_as_servicing() -> None:
    sources = {c.source for c in product_chunks() if c.metadata["product_type"] == "services"}
    assert sources == {"servicing"}
