"""Switch off every outbound call the guardrail libraries make by default."""

from __future__ import annotations

import os
from functools import cache

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "OTEL_SDK_DISABLED": "true",  # guardrails-ai traces through OpenTelemetry
    "GUARDRAILS_RUN_SYNC": "true",
}


@cache
def keep_offline() -> None:
    """Telemetry off (guardrails-ai, chromadb), models local, tldextract on its bundled list."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    _tldextract_offline()
    _guardrails_metrics_off()


def _tldextract_offline() -> None:
    """Presidio's email recognizer asks tldextract, which would fetch the public suffix list."""
    import tldextract.tldextract as tld

    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _guardrails_metrics_off() -> None:
    """guardrails-ai collects metrics unless ~/.guardrailsrc says otherwise: say it in code."""
    from guardrails.settings import settings
    from guardrails.utils.hub_telemetry_utils import HubTelemetry

    settings.rc.enable_metrics = False
    HubTelemetry(enabled=False)
