"""Bounded, linear-time text normalisation: the variants of a text that the rails scan."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from urllib.parse import unquote_plus

MAX_CHARS = 20_000  # longer input is cut before any work
MAX_VARIANTS = 12
MAX_DEPTH = 2  # decoded text is decoded again once (base64 of hex, ...)
MAX_SEGMENTS = 8  # encoded segments decoded per text

# Format (Cf: zero-width, bidi, soft hyphen), surrogates and private use go; so do controls
# except tab and newline.
_DROP_CATEGORIES = frozenset({"Cf", "Cs", "Co", "Cn"})
_KEEP_CONTROLS = frozenset("\t\n")
# Cyrillic and Greek letters that look like Latin ones.
_CONFUSABLES = str.maketrans(
    "АВЕЅІЈКМНОРСТХУаеіјоѕрсухԁһӏɡΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοριτυνχκ",
    "ABESIJKMHOPCTXYaeijospcyxdhlgABEZHIKMNOPTYXaopitvvxk",
)
# Leetspeak: 1, ! and | read as i (or as l: "a11", "ru1es"), 3 e, 4 a, 0 o, 5 s, 7 t, @ a, $ s.
_LEET_I = str.maketrans("1!|34057@$89", "iiieaostasbg")
_LEET_L = str.maketrans("1!|34057@$89", "lileaostasbg")
_TOKEN = re.compile(r"\S+")
_LEET_CHARS = frozenset("0123456789@$!|")
_SPACED = re.compile(r"\b(?:[A-Za-z][ .\-_*]){3,40}[A-Za-z]\b")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2}[ :]?){8,}")
_URLENC = re.compile(r"%[0-9A-Fa-f]{2}")
_WORD = re.compile(r"[a-z]+")
_LEET_WORDS = frozenset(
    [
        "all",
        "rules",
        "will",
        "tell",
        "filter",
        "filters",
        "filtered",
        "unfiltered",
        "illegal",
        "legal",
        "model",
        "level",
        "full",
        "only",
        "allowed",
        "unlimited",
        "limits",
        "limit",
        "roleplay",
        "role",
        "policy",
        "policies",
        "jailbreak",
        "unlocked",
        "evil",
        "able",
        "enable",
        "enabled",
        "skills",
        "lie",
        "kill",
        "real",
        "help",
        "please",
        "still",
        "world",
        "should",
        "would",
        "could",
        "ignore",
        "instructions",
        "previous",
        "prompt",
        "system",
        "reveal",
        "disregard",
    ]
)
_MORSE_CODES = (
    ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - ..- ...- "
    ".-- -..- -.-- --.. ----- .---- ..--- ...-- ....- ..... -.... --... ---.. ----. .-.-.- "
    "--..-- ..--.. -.-.--"
)
MORSE = dict(zip(_MORSE_CODES.split(), "abcdefghijklmnopqrstuvwxyz0123456789.,?!", strict=True))
_COMMON = frozenset(
    [
        "the",
        "you",
        "your",
        "to",
        "and",
        "of",
        "a",
        "is",
        "in",
        "it",
        "that",
        "for",
        "are",
        "be",
        "this",
        "on",
        "with",
        "as",
        "not",
        "do",
        "all",
        "now",
        "ignore",
        "instructions",
        "previous",
        "system",
        "prompt",
        "say",
        "print",
        "reveal",
        "tell",
        "me",
        "what",
        "how",
    ]
)


def normalize(text: str) -> list[str]:
    """The cleaned text first, then its folded and decoded variants (deduplicated, bounded)."""
    try:
        base = clean(text)
        variants = [base]
        _add_all(variants, [morse(text[:MAX_CHARS]) if isinstance(text, str) else ""])
        _add_all(variants, _derived(base, MAX_DEPTH))
    except Exception:  # never raise on hostile input
        return [""]
    return variants[:MAX_VARIANTS]


def clean(text: object) -> str:
    """NFKC, invisible and control characters dropped, spaces collapsed, length capped."""
    raw = text if isinstance(text, str) else str(text)
    raw = unicodedata.normalize("NFKC", raw[: MAX_CHARS * 2])[:MAX_CHARS]
    kept = "".join(c for c in raw if _visible(c))
    return _SPACES.sub(" ", kept).strip()


def _visible(char: str) -> bool:
    """Whether a character survives cleaning."""
    category = unicodedata.category(char)
    if category == "Cc":
        return char in _KEEP_CONTROLS
    return category not in _DROP_CATEGORIES


def _derived(text: str, depth: int) -> list[str]:
    """Folded variants of a text, then what its encoded segments decode to."""
    out: list[str] = []
    folded = text.translate(_CONFUSABLES)
    _add_all(out, [folded, *leet_variants(folded), unspace(folded), folded.replace("_", " ")])
    if depth > 0:
        for decoded in decodings(text):
            _add_all(out, [decoded, *_derived(decoded, depth - 1)])
    return [v for v in out if v and v != text]


def leet_variants(text: str) -> list[str]:
    """Leetspeak folded inside words that mix letters and digits or symbols (1 as i and as l)."""
    as_i = _TOKEN.sub(lambda m: _fold_token(m.group(0), _LEET_I), text)
    if as_i == text:
        return []
    return [_TOKEN.sub(lambda m: _fold_best(m.group(0)), text), as_i]


def _fold_best(token: str) -> str:
    """A leet word folded with 1 as l when that makes a known word ("a11", "ru1es"), else as i."""
    as_i = _fold_token(token, _LEET_I)
    if as_i == token or "1" not in token or _letters(as_i) in _LEET_WORDS:
        return as_i
    as_l = _fold_token(token, _LEET_L)
    return as_l if _letters(as_l) in _LEET_WORDS else as_i


def _letters(token: str) -> str:
    """The letters of a token, lowercased."""
    return "".join(c for c in token.lower() if c.isalpha())


def _fold_token(token: str, table: dict[int, int]) -> str:
    """A word of letters mixed with digits or symbols, folded; any other token unchanged."""
    if len(token) > 40 or not any(c in _LEET_CHARS for c in token):
        return token
    if not any(c.isalpha() for c in token):
        return token
    return token.translate(table)


def unspace(text: str) -> str:
    """Letters written apart ("i g n o r e", "I-G-N-O-R-E") joined into words."""
    return _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), text)


def decodings(text: str) -> list[str]:
    """Readable text hidden as base64, hex, URL encoding or rot13."""
    found: list[str] = []
    for match in _BASE64.finditer(text):
        _add(found, _from_bytes(_b64(match.group(0))))
        if len(found) >= MAX_SEGMENTS:
            break
    for match in _HEX.finditer(text):
        _add(found, _from_bytes(_hex(match.group(0))))
        if len(found) >= MAX_SEGMENTS:
            break
    if _URLENC.search(text):
        _add(found, unquote_plus(text))
    _add(found, _rot13(text))
    return found[:MAX_SEGMENTS]


def morse(text: str) -> str:
    """Morse code (dots and dashes, letters apart by spaces, words by two or "/") as text."""
    sample = text[:4000]
    if (
        sum(c in ".-" for c in sample) < 0.6 * max(len(sample.replace(" ", "")), 1)
        or len(sample) < 10
    ):
        return ""
    words = re.split(r"\s*/\s*|\s{2,}", sample.strip())
    decoded = " ".join("".join(MORSE.get(c, "") for c in w.split()) for w in words)
    return decoded if len(decoded.replace(" ", "")) >= 4 else ""


def _b64(segment: str) -> bytes:
    """Standard or URL-safe base64, padding repaired; empty when it is not base64."""
    padded = segment.rstrip("=") + "=" * (-len(segment.rstrip("=")) % 4)
    try:
        if "-" in padded or "_" in padded:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _hex(segment: str) -> bytes:
    """Hex digits (spaces or colons between bytes allowed) as bytes."""
    try:
        return bytes.fromhex(re.sub(r"[ :]", "", segment))
    except ValueError:
        return b""


def _from_bytes(data: bytes) -> str:
    """Decoded UTF-8 text when it reads as text, else empty."""
    if len(data) < 6:
        return ""
    decoded = data.decode("utf-8", errors="replace")
    printable = sum(c.isprintable() or c in "\n\t" for c in decoded)
    if printable < 0.9 * len(decoded) or decoded.count("\ufffd") > 1:
        return ""
    return clean(decoded)


def _rot13(text: str) -> str:
    """The rot13 reading of a text, when it has more common English words than the text."""
    if sum(c.isascii() and c.isalpha() for c in text[:2000]) < 8:
        return ""
    rotated = codecs.encode(text, "rot13")
    return rotated if _english(rotated) > max(2, 2 * _english(text)) else ""


def _english(text: str) -> int:
    """How many common English words the start of a text has."""
    return sum(w in _COMMON for w in _WORD.findall(text[:2000].lower()))


def _add(items: list[str], item: str) -> None:
    """Append a non-empty item not yet present."""
    if item and item not in items and len(items) < MAX_VARIANTS * 2:
        items.append(item)


def _add_all(items: list[str], new: list[str]) -> None:
    """Append each non-empty new item not yet present."""
    for item in new:
        _add(items, item)
