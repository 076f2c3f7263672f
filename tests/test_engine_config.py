"""The engine's batching settings reach llama-server's command line; bad ones are refused at
start-up with the setting's name (environment variables, as an operator would set them)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from advisor.llm.engine_backend import engine_config
from advisor.settings import LLMSettings, Settings


def flag(command: list[str], name: str) -> str:
    """The value that follows `name` on the command line."""
    return command[command.index(name) + 1]


def test_the_defaults_reach_the_command_line() -> None:
    defaults = LLMSettings()
    command = engine_config(LLMSettings(engine_binary="/bin/true")).command(8080)
    assert flag(command, "--flash-attn") == defaults.engine_flash_attn
    assert ("--kv-unified" if defaults.engine_kv_unified else "--no-kv-unified") in command
    assert flag(command, "--batch-size") == str(defaults.engine_batch_size)
    assert flag(command, "--ubatch-size") == str(defaults.engine_ubatch_size)
    assert flag(command, "--parallel") == str(defaults.engine_slots)
    assert flag(command, "--ctx-size") == str(defaults.engine_slots * defaults.engine_ctx_per_slot)


@pytest.mark.parametrize(
    ("env", "name", "value"),
    [
        ({"ENGINE_FLASH_ATTN": "off"}, "--flash-attn", "off"),
        ({"ENGINE_FLASH_ATTN": "on"}, "--flash-attn", "on"),
        ({"ENGINE_BATCH_SIZE": "256", "ENGINE_UBATCH_SIZE": "64"}, "--ubatch-size", "64"),
        ({"ENGINE_BATCH_SIZE": "1024"}, "--batch-size", "1024"),
        ({"ENGINE_BATCH_SIZE": "256"}, "--ubatch-size", "256"),  # the unset ubatch follows
        ({"ENGINE_BATCH_SIZE": "256"}, "--batch-size", "256"),
        ({"ENGINE_BATCH_SIZE": "1024"}, "--ubatch-size", "512"),  # a larger batch: the default
        ({"ENGINE_SLOTS": "8", "ENGINE_CTX_PER_SLOT": "512"}, "--ctx-size", "4096"),
        ({"ENGINE_THREADS": "1"}, "--threads-batch", "1"),
    ],
)
def test_each_setting_reaches_its_flag(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str, value: str
) -> None:
    for key, raw in env.items():
        monkeypatch.setenv(f"ADVISOR_LLM__{key}", raw)
    assert flag(engine_config(Settings().llm).command(8080), name) == value


@pytest.mark.parametrize(("raw", "present", "absent"), [
    ("true", "--kv-unified", "--no-kv-unified"),
    ("false", "--no-kv-unified", "--kv-unified"),
])  # fmt: skip
def test_the_kv_cache_layout_is_explicit(
    monkeypatch: pytest.MonkeyPatch, raw: str, present: str, absent: str
) -> None:
    monkeypatch.setenv("ADVISOR_LLM__ENGINE_KV_UNIFIED", raw)
    command = engine_config(Settings().llm).command(8080)
    assert present in command and absent not in command


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ENGINE_FLASH_ATTN": "fast"}, "engine_flash_attn"),
        ({"ENGINE_KV_UNIFIED": "sometimes"}, "engine_kv_unified"),
        ({"ENGINE_BATCH_SIZE": "8"}, "engine_batch_size"),
        ({"ENGINE_UBATCH_SIZE": "0"}, "engine_ubatch_size"),
        ({"ENGINE_BATCH_SIZE": "128", "ENGINE_UBATCH_SIZE": "512"}, "engine_ubatch_size"),
    ],
)
def test_bad_engine_settings_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for key, raw in env.items():
        monkeypatch.setenv(f"ADVISOR_LLM__{key}", raw)
    with pytest.raises(ValidationError, match=named):
        Settings()
