"""Retrieval: structure-aware chunks, citations, incremental ingestion, hybrid search."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from retrieval.chunks import MAX_CHARS, Chunk, clean_paragraph
from retrieval.index import CorpusIndex, chroma_client
from retrieval.products import load_products
from retrieval.regulations import CorpusError, cfpb_chunks, regulation_chunks
from retrieval.search import IndexMissing, SearchError, check_query
from tests.retrieval_fixtures import REGULATIONS, CountingEmbedder


@pytest.fixture(scope="module")
def reg_chunks() -> list[Chunk]:
    """Every regulation chunk (parsing only, nothing embedded)."""
    return regulation_chunks(REGULATIONS)


@pytest.mark.parametrize(
    ("citation", "section", "source"),
    [
        ("12 CFR 1002.9(a)(1)", "12 CFR 1002.9", "reg_b"),
        ("12 CFR 1002.5(d)", "12 CFR 1002.5", "reg_b"),
        ("12 CFR 1002 Supp. I, comment 9(b)(2)", "12 CFR 1002.9", "reg_b"),
        ("12 CFR 1005.6(b)(1)", "12 CFR 1005.6", "reg_e"),
        ("12 CFR 1030 Appendix A, Part I", "12 CFR 1030 Appendix A", "reg_dd"),
        ("12 CFR 1016.10(a)(1)", "12 CFR 1016.10", "reg_p"),
        ("12 CFR 1022.54(a)", "12 CFR 1022.54", "reg_v"),
        ("GDPR Art. 17(1)", "GDPR Art. 17", "gdpr"),
        ("GDPR Recital 71", "GDPR Recital 71", "gdpr"),
    ],
)
def test_canonical_citations(
    reg_chunks: list[Chunk], citation: str, section: str, source: str
) -> None:
    found = [c for c in reg_chunks if c.citation == citation]
    assert found, f"no chunk cites {citation}"
    assert all(c.section == section and c.source == source for c in found)


def test_interpretations_link_to_their_section(reg_chunks: list[Chunk]) -> None:
    interps = [c for c in reg_chunks if c.metadata.get("interpretation")]
    assert len(interps) > 100
    for chunk in interps:
        assert re.fullmatch(r"12 CFR \d{4}(\.\d+| Appendix \w+)", chunk.section), chunk.section


def test_chunks_are_unique_bounded_and_clean(reg_chunks: list[Chunk]) -> None:
    assert len({c.id for c in reg_chunks}) == len(reg_chunks)
    assert all(0 < len(c.text) <= MAX_CHARS for c in reg_chunks)
    doubled = re.compile(r"^(\(\w+\)\s*)?([^.]{2,80}\.)\s*\2")
    assert not any(doubled.match(line) for c in reg_chunks for line in c.text.split("\n"))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("(a) Authority.Authority. This part applies", "(a) Authority. This part applies"),
        ("General.General. A depository institution", "General. A depository institution"),
        (
            "(1) When notification is required.A creditor shall",
            "(1) When notification is required. A creditor shall",
        ),
        ("Plain text, nothing to do.", "Plain text, nothing to do."),
    ],
)
def test_key_terms_are_cleaned(raw: str, clean: str) -> None:
    assert clean_paragraph(raw) == clean


def test_corrupt_and_missing_corpus_files_say_which(tmp_path: Path) -> None:
    bad = tmp_path / "cfpb-reg-b-1002.json"
    bad.write_text("{not json")
    with pytest.raises(CorpusError, match="not valid JSON"):
        cfpb_chunks(bad)
    with pytest.raises(CorpusError, match="missing"):
        cfpb_chunks(tmp_path / "nope.json")


def test_products_cover_the_catalogue_and_text_matches_terms() -> None:
    products = load_products()
    assert len(products) >= 25
    kinds = {p.type for p in products}
    assert {
        "checking",
        "savings",
        "high_yield_savings",
        "cd",
        "money_market",
        "credit_card",
        "personal_loan",
        "mortgage",
        "heloc",
        "managed_portfolio",
        "retirement",
        "insurance",
    } <= kinds
    rate = re.compile(r"(\d+(?:\.\d+)?)%|\$(\d[\d,]*(?:\.\d+)?)")
    for product in products:
        values = {round(float(v), 4) for v in product.terms.values()}
        for section in product.sections:
            for pct, usd in rate.findall(section.text):
                number = round(float((pct or usd).replace(",", "")), 4)
                assert number in values or number == 0, (product.id, section.number, number)


def test_invalid_product_file_is_refused(tmp_path: Path) -> None:
    from retrieval.products import PRODUCTS_DIR

    shutil.copy(PRODUCTS_DIR / "hysave.yaml", tmp_path / "hysave.yaml")
    (tmp_path / "broken.yaml").write_text("id: broken\nname: x\n")
    with pytest.raises(CorpusError, match=r"broken\.yaml"):
        load_products(tmp_path)


def test_incremental_ingestion_embeds_only_what_changed(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    index = CorpusIndex(chroma_client(tmp_path / "chroma", None), embedder)
    chunks = [
        Chunk(f"T {i}", f"T {i}", "Title", f"Paragraph number {i}.", "products") for i in range(5)
    ]
    first = index.ingest(chunks)
    assert (first.added, embedder.embedded) == (5, 5)
    again = index.ingest(chunks)
    assert (again.unchanged, embedder.embedded) == (5, 5)
    edited = [
        *chunks[:2],
        Chunk("T 2", "T 2", "Title", "A changed paragraph.", "products"),
        chunks[3],
    ]
    third = index.ingest(edited)
    assert (third.updated, third.removed, embedder.embedded) == (1, 1, 6)
    assert index.count() == 4


def test_a_changed_chunk_keeps_none_of_its_old_metadata(tmp_path: Path) -> None:
    index = CorpusIndex(chroma_client(tmp_path / "chroma", None), CountingEmbedder())
    index.ingest([Chunk("T 1", "T 1", "Title", "Same text.", "products", {"old": "tag"})])
    report = index.ingest([Chunk("T 1", "T 1", "Title", "Same text.", "servicing")])
    (stored,), _ = index.chunks_and_vectors()
    assert report.updated == 1
    assert (stored.source, stored.metadata) == ("servicing", {})


@pytest.mark.parametrize(
    ("query", "k", "message"),
    [
        ("", 5, "empty"),
        ("   ", 5, "empty"),
        ("x" * 1001, 5, "limit is 1000"),
        ("fees", 0, "between 1 and 50"),
        ("fees", 51, "between 1 and 50"),
    ],
)
def test_bad_queries(query: str, k: int, message: str) -> None:
    with pytest.raises(SearchError, match=message):
        check_query(query, k)


def test_empty_index_says_run_ingest(tmp_path: Path) -> None:
    from retrieval.service import RetrievalService

    service = RetrievalService(tmp_path, None, REGULATIONS)
    with pytest.raises(IndexMissing, match="advisor ingest"):
        service.search("what is APY?")


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("how do I get a company to delete my data", "erasure"),
        ("someone stole my debit card", "access device"),
        ("can I download my data?", "data portability"),
    ],
)
def test_questions_gain_the_legal_term_of_their_plain_words(question: str, term: str) -> None:
    from retrieval.glossary import expand_query

    assert term in expand_query(question)
    assert expand_query("hello there") == "hello there"


def test_embedded_text_leads_with_context_and_glosses(reg_chunks: list[Chunk]) -> None:
    """The model reads 256 tokens: what a passage is about must come before the legal text."""
    comment = next(c for c in reg_chunks if c.citation == "12 CFR 1005 Supp. I, comment 6(b)(1)")
    lines = comment.embedding_text().split("\n")
    assert (
        lines[0]
        == "Regulation E \u2014 \u00a7 1005.6 Liability of consumer for unauthorized transfers."
    )
    article = next(c for c in reg_chunks if c.citation == "GDPR Art. 17(1)")
    head, title, glossed = article.embedding_text().split("\n")[:3]
    assert "Rights of the data subject" in head and title.startswith("GDPR Article 17")
    assert glossed.startswith("(In plain words:") and "delete my data" in glossed
    recital = next(c for c in reg_chunks if c.citation == "GDPR Recital 71")
    assert recital.metadata["recital"] and not article.metadata.get("recital")
