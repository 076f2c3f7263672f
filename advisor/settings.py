"""One typed settings object: YAML profile files overridden by `ADVISOR_*` env and `.env`."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

LLMBackendName = Literal["llama_server", "llama_cpp", "openai", "fake"]
EngineName = Literal["llama-server", "in-process", "remote"]
# The back-end each engine is served by (an explicit `backend` wins: the test profile's fake).
ENGINE_BACKENDS = {"llama-server": "llama_server", "in-process": "llama_cpp", "remote": "openai"}


class LLMSettings(BaseModel):
    """Which language model phrases the answers, and how."""

    # llama-server: llama.cpp's own server as a managed child process (continuous batching over
    # parallel slots, advisor/llm/engine.py); in-process: llama-cpp-python in this process, one
    # generation at a time; remote: the OpenAI-compatible server at `base_url`.
    engine: EngineName = "llama-server"
    backend: str = ""  # the registry name; empty: the engine's (ENGINE_BACKENDS)
    model_path: str | None = None
    base_url: str | None = None
    api_key: str = "not-needed"
    model_name: str = "SmolLM2-135M-Instruct"
    n_ctx: int = 2048
    n_threads: int | None = None  # None: all cores but one (llama_cpp_backend.default_threads)
    n_threads_batch: int | None = None
    max_tokens: int = 160
    temperature: float = 0.0
    seed: int = 7
    timeout_s: float = 60.0
    prompt_version: str = "v1"
    # A turn's deadlines: no verified sentence by the first, or the model still writing at the
    # second, and the answer is the grounded draft (the stream says why).
    first_text_deadline_s: float = 8.0
    answer_deadline_s: float = 20.0
    # Topics whose drafts the model rewords. None: as the topic rules say (`phrase:` in
    # advisor/grounding/topics.yaml); ["*"]: every topic (a larger model); [] : none.
    phrase_topics: list[str] | None = None
    # The llama-server engine (measured on 2 cores, BENCHMARKS.md `bench_engine`): parallel
    # slots, context tokens per slot, threads (None: every core), the binary (None:
    # .venv/bin/llama-server, built by `make install`), its loopback port (0: a free one), and
    # how many turns may wait beyond the slots before new ones get 503 with Retry-After.
    engine_slots: int = Field(default=4, ge=1, le=64)
    engine_ctx_per_slot: int = Field(default=1024, ge=256)
    engine_threads: int | None = Field(default=None, ge=1)
    engine_binary: str | None = None
    engine_port: int = Field(default=0, ge=0, le=65535)
    engine_queue_limit: int = Field(default=12, ge=0)
    engine_retry_after_s: int = Field(default=2, ge=1)
    # Turns one customer may have in flight at once (the gate counts only authenticated turns,
    # so neither an anonymous client nor one customer can take every slot).
    engine_per_customer: int = Field(default=2, ge=1)
    engine_start_timeout_s: float = 60.0
    # How the engine computes a batch: flash attention (on/off/auto), one KV buffer shared by
    # every slot (on: each token's attention spans all slots' cells) or one per slot, and the
    # logical/physical batch sizes (tokens per decode call). Chosen from BENCHMARKS.md
    # `bench_engine` and llama-batched-bench on this machine.
    engine_flash_attn: Literal["on", "off", "auto"] = "on"
    engine_kv_unified: bool = False
    engine_batch_size: int = Field(default=2048, ge=32)
    engine_ubatch_size: int = Field(default=512, ge=1)
    # When every engine slot is taken as a turn starts, the turn's grounded draft answers at
    # once instead of waiting for a slot (the model only phrases; the draft is the whole
    # answer). False: the turn waits for a slot, up to the first-text deadline.
    shed_when_busy: bool = True

    @model_validator(mode="after")
    def _ubatch_within_batch(self) -> LLMSettings:
        """An unset physical batch follows a smaller logical one (llama.cpp's own clamp); one
        set larger than the logical batch is a misconfiguration."""
        if "engine_ubatch_size" not in self.model_fields_set:
            self.engine_ubatch_size = min(self.engine_ubatch_size, self.engine_batch_size)
        if self.engine_ubatch_size > self.engine_batch_size:
            raise ValueError(
                f"engine_ubatch_size ({self.engine_ubatch_size}) must not exceed "
                f"engine_batch_size ({self.engine_batch_size})"
            )
        return self

    def model_post_init(self, __context: object) -> None:
        """Serve the chosen engine unless a back-end is named outright."""
        if not self.backend:
            self.backend = ENGINE_BACKENDS[self.engine]


class RailsSettings(BaseModel):
    """The guardrails: PII redaction, injection defence and output rails (policy as data)."""

    enabled: bool = True
    policy_dir: Path = Path(__file__).resolve().parents[1] / "guardrails"
    # How long a session's pseudonym vault (placeholder -> the customer's own value) lives.
    vault_ttl_s: int = 3600
    vault_max_sessions: int = 10_000
    # The injection classifier (advisor/training/injection_train.py); None: var_dir/rails/.
    injection_model: Path | None = None
    # Block threshold on the classifier's score; None: the one calibrated in training.
    injection_threshold: float | None = None


def _profile_files() -> list[Path]:
    """The YAML files for the active profile, base first."""
    base = resources.files("advisor") / "profiles"
    files = [Path(str(base / "settings.yaml"))]
    profile = os.environ.get("ADVISOR_PROFILE", "default")
    if profile != "default":
        files.append(Path(str(base / f"settings-{profile}.yaml")))
    return files


# An exact browser origin: scheme, host and an optional port, nothing after it.
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
DEV_ROUTE_PROFILES = ("development", "test")  # where the demo's token route may be switched on


class Settings(BaseSettings):
    """Every setting of the advisor; `ADVISOR_LLM__BACKEND` style for nested ones."""

    model_config = SettingsConfigDict(
        env_prefix="ADVISOR_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    profile: str = "default"
    var_dir: Path = Path("./var")
    database_url: str | None = None
    jwt_secret: str | None = None
    # Seals each chat session's PII vault in the database (AES-256-GCM, advisor/chat/vaults.py):
    # URL-safe base64 of 32 bytes, comma-separated to rotate (the first seals). Unset: derived
    # from the signing secret in the default, development and test profiles; others refuse.
    vault_key: str | None = Field(default=None, repr=False)
    # Keys the audit log's hash chain and its anchor (HMAC-SHA256; advisor/orchestration/
    # audit.py): set it, the same on every replica, so a rewritten or cut log fails to verify.
    audit_key: str | None = Field(default=None, repr=False)
    # Publishes each audit head outside the database too (advisor/orchestration/audit_heads.py):
    # an append-only file, so a cut log with an older anchor row put back still fails verify.
    audit_anchor_file: Path | None = None
    token_ttl_s: int = 8 * 3600
    host: str = "127.0.0.1"
    port: int = 8000
    url: str = "http://127.0.0.1:8000"
    max_message_chars: int = 2000
    max_body_bytes: int = 64_000
    history_turns: int = 1
    emergency_buffer_usd: float = 500.0
    # Payroll -> surplus sweep (advisor/orchestration): kept in checking, and the least worth a
    # nudge; how long a proposed action waits for the customer's confirmation.
    sweep_buffer_usd: float = 500.0
    sweep_min_usd: float = 100.0
    action_ttl_s: int = 48 * 3600
    # DBOS's system database; None: PostgreSQL when database_url is, else var_dir/dbos.sqlite.
    workflow_database_url: str | None = None
    # DBOS's application version (waiting workflows resume only on the same one) and executor
    # id (stable per instance: a launch recovers its own executor's pending workflows).
    workflow_app_version: str = "1"
    workflow_executor_id: str = "local"
    # Events also taken from NATS JetStream when set (advisor/orchestration/nats_intake.py).
    nats_url: str | None = None
    nats_stream: str = "ADVISOR_EVENTS"
    nats_durable: str = "advisor-intake"
    nats_subject_root: str = "advisor.events"  # the stream takes <root>.>
    # Signed webhooks to a bank's push service when set (advisor/orchestration/webhooks.py).
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_max_attempts: int = 5
    # /graphql (advisor/graphql): a query deeper, longer (tokens) or with more aliases is refused.
    graphql_max_depth: int = 6
    graphql_max_tokens: int = 2000
    graphql_max_aliases: int = 15
    # Model monitoring (advisor/ops/monitor.py): the server runs it every N seconds when set
    # (None: off); a feature whose PSI reaches the threshold raises the model's alarm. Zero,
    # negative or not a finite number is refused at start-up (it would monitor in a tight loop).
    monitor_interval_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    monitor_threshold: float = 0.2
    # The nightly credit scan (advisor/orchestration/credit_scan.py): the server runs it every N
    # seconds when set (None: off; `advisor credit scan` runs it once). Zero, negative or not a
    # finite number is refused at start-up: the scheduler would rescan in a tight loop.
    credit_scan_interval_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    shared_data_dir: Path = Path(__file__).resolve().parents[2] / "shared" / "data"
    chroma_url: str | None = None
    # The intent router's model folder (`advisor train router`); None: var_dir/models/router.
    router_model_dir: Path | None = None
    # The contextual bandit (advisor/learning/) chooses the first suggestion among the actions
    # the next-best-action policy permits. Off: the ranking decides, as before.
    bandit_enabled: bool = False
    # Development-only routes (/v1/dev/...: seeded customers, tokens for the demo page); the
    # development profile (advisor/profiles/settings-development.yaml) turns them on.
    dev_routes: bool = False
    # Host origins allowed to call the API from a browser (ADVISOR_CORS_ORIGINS, comma-separated).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    rails: RailsSettings = Field(default_factory=RailsSettings)
    # Flat aliases: ADVISOR_LLM_MODEL_PATH picks a GGUF; ADVISOR_LLM_BASE_URL selects the
    # OpenAI-compatible HTTP back-end pointed at that server.
    llm_model_path: str | None = None
    llm_base_url: str | None = None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """A comma-separated string (the environment's form) as a list of origins."""
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        """Each an exact origin (scheme://host[:port]): no wildcard, path or trailing slash."""
        for origin in origins:
            if not ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin like https://bank.example[:port]")
        return origins

    @model_validator(mode="after")
    def _dev_routes_in_development_only(self) -> Settings:
        """The token-minting development routes never exist outside development (and tests)."""
        if self.dev_routes and self.profile not in DEV_ROUTE_PROFILES:
            raise ValueError(
                f"dev_routes is for the development profile only (profile is {self.profile!r})"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init args beat env, env beats `.env`, `.env` beats the profile YAML."""
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=_profile_files())
        return init_settings, env_settings, dotenv_settings, yaml_source

    def model_post_init(self, __context: object) -> None:
        """Fold the flat LLM aliases into the nested LLM settings."""
        if self.llm_model_path:
            self.llm.model_path = self.llm_model_path
        if self.llm_base_url:
            self.llm.base_url, self.llm.backend = self.llm_base_url, "openai"
            self.llm.engine = "remote"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite under the var dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'advisor.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
