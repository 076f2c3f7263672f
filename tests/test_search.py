"""Hybrid search over an index of the product corpus and Regulation DD, via API and CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from advisor.cli import app
from advisor.settings import get_settings
from evals.retrieval_metrics import evaluate, load_questions
from retrieval.chunks import Chunk
from retrieval.index import CorpusIndex, chroma_client
from retrieval.products import product_chunks
from retrieval.regulations import cfpb_chunks
from retrieval.search import HybridSearcher
from retrieval.sections import SectionTable, rank_sections
from retrieval.service import RetrievalService
from tests.live import free_port
from tests.retrieval_fixtures import REGULATIONS


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var dir whose index holds the products and Regulation DD."""
    path = tmp_path_factory.mktemp("retrieval-var")
    index = CorpusIndex(chroma_client(path / "chroma", None))
    index.ingest(product_chunks() + cfpb_chunks(REGULATIONS / "cfpb-reg-dd-1030.json"))
    return path


@pytest.fixture(scope="module")
def searcher(var_dir: Path) -> HybridSearcher:
    """A searcher on that index."""
    return HybridSearcher(CorpusIndex(chroma_client(var_dir / "chroma", None)))


def test_product_questions_meet_recall(searcher: HybridSearcher) -> None:
    items = [i for i in load_questions() if i.source == "products"]
    report = evaluate(searcher, items, k=5)
    assert report["questions"] >= 24
    assert report["recall"] >= 0.9, report["misses"]


@pytest.mark.parametrize(
    ("question", "section"),
    [
        ("which card has no foreign transaction fees?", "Northbank travel_card \u00a75"),
        ("how is APY calculated", "12 CFR 1030 Appendix A"),
    ],
)
def test_known_answers_rank_high(searcher: HybridSearcher, question: str, section: str) -> None:
    assert section in [h.chunk.section for h in searcher.search(question, 5)]


def test_filters_restrict_results(searcher: HybridSearcher) -> None:
    cds = searcher.search("early withdrawal penalty", 5, product_type="cd")
    assert cds and all(h.chunk.metadata["product_type"] == "cd" for h in cds)
    regs = searcher.search("early withdrawal penalty", 5, source="reg_dd")
    assert regs and all(h.chunk.source == "reg_dd" for h in regs)


def test_one_passage_per_section(searcher: HybridSearcher) -> None:
    sections = [h.chunk.section for h in searcher.search("annual percentage yield", 10)]
    assert len(sections) == len(set(sections))


def test_api_search(client: TestClient, auth: dict[str, str], var_dir: Path) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    services.retrieval = RetrievalService(var_dir, None, REGULATIONS)
    body = client.post(
        "/v1/search", json={"query": "CD early withdrawal", "k": 3}, headers=auth
    ).json()
    assert body["query"] == "CD early withdrawal" and len(body["results"]) == 3
    assert set(body["results"][0]) >= {"citation", "title", "source", "text", "score"}
    bad = client.post("/v1/search", json={"query": "fees", "k": 0}, headers=auth)
    assert bad.status_code == 422 and "between 1 and 50" in bad.json()["detail"]
    assert client.post("/v1/search", json={"query": "fees"}).status_code == 401


def test_api_search_without_index_is_503(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/v1/search", json={"query": "fees"}, headers=auth)
    assert response.status_code == 503 and "advisor ingest" in response.json()["detail"]


def test_cli_search_json_lines(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_VAR_DIR", str(var_dir))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["search", "savings fees", "APY", "--k", "2", "--json"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [line["query"] for line in lines] == ["savings fees", "APY"]
    assert all(len(line["results"]) == 2 for line in lines)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """`chroma run` on a loopback port."""
    port = free_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "chroma"),
            "run",
            "--path",
            str(tmp_path / "srv"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/api/v2/heartbeat", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_chroma_server_path(chroma_server: str, tmp_path: Path) -> None:
    index = CorpusIndex(chroma_client(tmp_path / "unused", chroma_server))
    report = index.ingest(product_chunks()[:20])
    assert report.added == 20 and index.count() == 20
    hits = HybridSearcher(index).search("monthly maintenance fee", 3)
    assert hits and not (tmp_path / "unused").exists()


def test_chat_answers_corpus_questions_with_quoted_citations(
    client: TestClient, auth: dict[str, str], var_dir: Path
) -> None:
    from tests.sse import chat_events, done

    services = client.app.state.services  # type: ignore[attr-defined]
    assert services.chat.retrieval is services.retrieval, "the app must give chat the corpus"
    services.chat.retrieval = RetrievalService(var_dir, None, REGULATIONS)
    events = chat_events(client, auth, "How do banks calculate the annual percentage yield?")
    cited = [data for name, data in events if name == "citation"]
    final = done(events)
    assert cited and cited[0]["index"] == 1
    assert final["grounding"] == "quoted" and "[1]" in final["text"]
    assert cited[0]["citation"] in final["text"]
    assert cited[0]["snippet"].rstrip(" \u2026") in final["text"]
    assert final["citations"] == [c["citation"] for c in cited]
    joke = done(chat_events(client, auth, "tell me a joke about pirates"))
    assert joke["finish_reason"] == "no_facts" and joke["citations"] == []


def _table(sections: list[str], vectors: list[list[float]], recital: int = -1) -> SectionTable:
    """A section table over tiny hand-made passages."""
    chunks = [
        Chunk(f"{s} [{i}]", s, s, "text", "gdpr", {"recital": True} if i == recital else {})
        for i, s in enumerate(sections)
    ]
    return SectionTable.build(chunks, np.array(vectors, dtype=np.float32))


def test_sections_rank_by_best_passage_centroid_and_words() -> None:
    table = _table(["A", "A", "B"], [[1, 0], [0, 1], [0.9, 0.436]])
    query = np.array([1, 0], dtype=np.float32)
    none, everything = np.zeros(3, dtype=np.float32), np.ones(3, dtype=bool)
    ranked = rank_sections(table, query, none, everything, 2)
    assert [table.chunks[i].section for i, _, _ in ranked] == ["B", "A"]  # B's centroid is closer
    assert ranked[1][0] == 0 and ranked[1][2] == pytest.approx(1.0)  # A shows its best passage
    words = np.array([0, 0, 0], dtype=np.float32)
    words[0] = 1.0
    assert table.chunks[rank_sections(table, query, words, everything, 1)[0][0]].section == "A"
    only_a = np.array([True, True, False])
    assert {
        table.chunks[i].section for i, _, _ in rank_sections(table, query, none, only_a, 5)
    } == {"A"}


def test_recitals_yield_to_articles_on_a_tie() -> None:
    table = _table(["Recital 1", "Art. 1"], [[1, 0], [1, 0]], recital=0)
    ranked = rank_sections(
        table, np.array([1, 0], dtype=np.float32), np.zeros(2, np.float32), np.ones(2, bool), 2
    )
    assert [table.chunks[i].section for i, _, _ in ranked] == ["Art. 1", "Recital 1"]
