"""The fast subset of the golden conversations, in-process on the real embedded model."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.auth import issue_token
from advisor.settings import LLMSettings, Settings
from evals.harness import in_process, select, similarity
from evals.runner import Runner, run_all
from tests.conftest import make_settings

pytestmark = pytest.mark.llm


def test_fast_golden_conversations_pass(tmp_path: Path, corpus_var: Path) -> None:
    conversations = select(None, "fast")
    assert len(conversations) >= 10
    router = Settings().var_dir / "models" / "router"  # `make test` trains it first
    if not (router / "router.npz").is_file():
        pytest.skip("the intent router is not trained: run `make router`")
    settings: Settings = make_settings(
        corpus_var, "sqlite://", llm=LLMSettings(backend="llama_cpp"), router_model_dir=router
    )
    with in_process(settings, corpus_var) as client:
        runner = Runner(client, lambda c: issue_token(settings, c), similarity())
        results = run_all(runner, conversations)
    failures = [
        (r.conversation.id, t.user, c.name, c.detail)
        for r in results
        for t in r.turns
        for c in t.checks
        if c.status == "failed"
    ]
    assert not failures, failures
