"""Settings: profile YAML, env overrides and the flat LLM aliases."""

from __future__ import annotations

import pytest

from advisor.errors import BackendUnavailable
from advisor.llm import available_backends, create_backend
from advisor.settings import LLMSettings, Settings


def test_test_profile_selects_the_fake() -> None:
    assert Settings().llm.backend == "fake"
    assert "fake" in available_backends() and "llama_cpp" in available_backends()


def test_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_LLM_MODEL_PATH", "/models/other.gguf")
    monkeypatch.setenv("ADVISOR_LLM__MAX_TOKENS", "33")
    monkeypatch.setenv("ADVISOR_MAX_MESSAGE_CHARS", "10")
    settings = Settings()
    assert settings.llm.model_path == "/models/other.gguf"
    assert settings.llm.max_tokens == 33 and settings.max_message_chars == 10


def test_base_url_selects_the_http_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_LLM_BASE_URL", "http://127.0.0.1:8080/v1")
    assert Settings().llm.backend == "openai"


def test_default_database_is_sqlite_under_var(tmp_path: object) -> None:
    assert Settings(var_dir=tmp_path).resolved_database_url.endswith("/advisor.db")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("llm", "message"),
    [
        (LLMSettings(backend="nope"), "unknown LLM back-end 'nope'"),
        (LLMSettings(backend="llama_cpp", model_path="/no/such.gguf"), "GGUF model not found"),
        (LLMSettings(backend="openai"), "needs ADVISOR_LLM_BASE_URL"),
    ],
)
def test_bad_backend_settings_say_why(llm: LLMSettings, message: str) -> None:
    with pytest.raises(BackendUnavailable, match=message):
        create_backend(llm)


INTERVALS = ["credit_scan_interval_s", "monitor_interval_s"]  # a scheduler's period each


@pytest.mark.parametrize("field", INTERVALS)
@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf"])
def test_an_interval_that_would_spin_is_refused(
    monkeypatch: pytest.MonkeyPatch, field: str, value: str
) -> None:
    monkeypatch.setenv(f"ADVISOR_{field.upper()}", value)
    with pytest.raises(ValueError, match=field):
        Settings()


@pytest.mark.parametrize("field", INTERVALS)
def test_a_positive_interval_is_kept(monkeypatch: pytest.MonkeyPatch, field: str) -> None:
    monkeypatch.setenv(f"ADVISOR_{field.upper()}", "3600")
    assert getattr(Settings(), field) == 3600.0
    assert getattr(Settings.model_validate({field: None}), field) is None
