"""Reject messages the advisor must not process, before anything is written."""

from __future__ import annotations

import unicodedata

from advisor.errors import InputTooLarge, InvalidInput

ALLOWED_CONTROLS = {"\n", "\t", "\r"}
# Format characters (zero-width, bidi direction, word joiner, BOM, soft hyphen) show nothing.
INVISIBLE = "Cf"


def clean_message(message: object, max_chars: int) -> str:
    """The message, stripped; raises InvalidInput for empty, oversized or binary text."""
    if not isinstance(message, str):
        raise InvalidInput("message must be a string")
    text = message.strip()
    if not any(not c.isspace() and unicodedata.category(c) != INVISIBLE for c in text):
        raise InvalidInput("message is empty")
    if len(text) > max_chars:
        raise InputTooLarge(f"message is {len(text)} characters; the limit is {max_chars}")
    bad = [c for c in text if unicodedata.category(c) in ("Cc", "Cs") and c not in ALLOWED_CONTROLS]
    if bad:
        raise InvalidInput("message contains binary or control characters")
    return text
