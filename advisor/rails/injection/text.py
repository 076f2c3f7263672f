"""The detector's text units: windows of words, and sentences that speak to a reader."""

from __future__ import annotations

import re

# What a text is made of for the classifier: windows of words (MiniLM sees 256 word pieces).
WINDOW_WORDS = 120
WINDOW_STRIDE = 100
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")

# A sentence in a document or memo is worth classifying when it speaks to someone: a question,
# an imperative, or words about an assistant, its task, a link or an address.
_IMPERATIVE_WORDS = (
    "add analyse analyze answer append apply arrange augment begin break calculate call change "
    "check classify click combine compare compose compute convert copy count create decode "
    "decrypt define delete describe design develop disregard do download draft elaborate "
    "encode encrypt end enhance ensure estimate evaluate explain find forget format forward "
    "generate give go group help highlight identify ignore imagine include insert install "
    "integrate introduce invent jumble let list make mention modify name note obey offer open "
    "output paraphrase pick play predict prepare pretend print promote provide put rank rate "
    "read rearrange recommend remember remove rename render reorder repeat rephrase replace "
    "reply respond restate return reveal reverse review rewrite run say scramble search select "
    "send share show sign simulate sing solve sort speak spell start state stop substitute "
    "suggest summarise summarize swap switch talk teach tell transfer translate transform try "
    "turn type update use verify visit wire write"
)
_IMPERATIVES = frozenset(_IMPERATIVE_WORDS.split())
_QUESTION_TEXT = (
    "what which who whom whose where why how can could would will should is are do does did"
)
_QUESTION_WORDS = frozenset([*_QUESTION_TEXT.split(), "what's", "how's", "who's", "where's"])
_FILLER_WORDS = "also additionally then now finally next first and lastly instead kindly please"
_FILLERS = frozenset(_FILLER_WORDS.split())
_SPEAKS_TO = re.compile(
    r"\b(ai|a\.i\.|assistant|chatbot|chatgpt|gpt|llm|language\s+model|prompt|instructions?)\b"
    r"|\byour\s+(task|job|goal|role|objective|purpose)\b|https?://|www\.|\S@\S+\.\w"
    r"|\b\w+\.(com|net|org|xyz|io|info|biz|ru)\b",
    re.IGNORECASE,
)


def windows(text: str, size: int = WINDOW_WORDS, stride: int = WINDOW_STRIDE) -> list[str]:
    """Overlapping windows of words; a short text is its own single window."""
    words = text.split()
    if len(words) <= size:
        return [text] if words else []
    starts = range(0, max(len(words) - size, 0) + stride, stride)
    return [" ".join(words[i : i + size]) for i in starts if words[i : i + size]]


def sentences(text: str, min_words: int = 3) -> list[str]:
    """The sentences (and lines) of a passage that have a few words."""
    parts = (p.strip() for p in _SENTENCE_END.split(text))
    return [p for p in parts if len(p.split()) >= min_words]


def speaks_to_reader(sentence: str) -> bool:
    """Whether a sentence is a question, an imperative or about an assistant or a link."""
    words = [w.strip("\"'([*-:,.!") for w in sentence.lower().split()[:4]]
    while words and words[0] in _FILLERS:
        words = words[1:]
    if sentence.rstrip().endswith("?") or not words:
        return sentence.rstrip().endswith("?")
    return (
        words[0] in _IMPERATIVES or words[0] in _QUESTION_WORDS or bool(_SPEAKS_TO.search(sentence))
    )
