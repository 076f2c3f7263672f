"""A chunk: one citable piece of the corpus, with the section it belongs to."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

MAX_CHARS = 1800
_SPLITTER = RecursiveCharacterTextSplitter(chunk_size=MAX_CHARS, chunk_overlap=150)
_DOUBLED_KEYTERM = re.compile(r"^(\([0-9a-zA-Z]+\)\s*)?([^.]{2,80}\.)\s*\2\s*")
_GLUED_KEYTERM = re.compile(r"^(\([0-9a-zA-Z]+\)\s*)?([A-Z][^.]{1,80}\.)(?=[A-Z])")


@dataclass(frozen=True)
class Chunk:
    """A piece of the corpus that an answer can cite."""

    citation: str  # canonical, e.g. "12 CFR 1002.9(a)(1)"
    section: str  # section-level key, e.g. "12 CFR 1002.9"
    title: str
    text: str
    source: str  # reg_b, reg_e, reg_dd, reg_p, reg_v, gdpr, products
    metadata: dict[str, Any] = field(default_factory=dict)
    part: int = 0  # 1.. when a long passage was split; the citation stays the passage's

    @property
    def id(self) -> str:
        """Stable, unique id: the citation, plus the part number of a split passage."""
        return f"{self.citation}#{self.part}" if self.part else self.citation

    @property
    def content_hash(self) -> str:
        """Hash of everything that is embedded or stored, for incremental ingestion."""
        body = "\x1f".join(
            [
                self.id,
                self.section,
                self.title,
                self.embedding_text(),
                self.source,
                repr(sorted(self.metadata.items())),
            ]
        )
        return hashlib.sha256(body.encode()).hexdigest()[:32]

    def embedding_text(self) -> str:
        """What the rankers see: context, title and plain-language glosses first, then the text.

        The embedding model reads only its first 256 tokens, so what says what a passage is
        about (its regulation, headings and glosses) comes before the legal text.
        """
        from retrieval.glossary import glosses

        context = " \u2014 ".join(
            str(self.metadata[key]) for key in ("regulation", "heading") if self.metadata.get(key)
        )
        extra = glosses(f"{self.title} {self.text}")
        head = [line for line in (context, self.title) if line]
        head += [f"(In plain words: {extra})"] if extra else []
        return "\n".join([*head, self.text])


def clean_paragraph(text: str) -> str:
    """Drop a repeated key term ("General.General. ...") and separate a glued one."""
    text = _DOUBLED_KEYTERM.sub(lambda m: f"{m.group(1) or ''}{m.group(2)} ", text.strip())
    text = _GLUED_KEYTERM.sub(lambda m: f"{m.group(1) or ''}{m.group(2)} ", text)
    return re.sub(r"\s+", " ", text).strip()


def split_long(chunk: Chunk) -> list[Chunk]:
    """Split a chunk over MAX_CHARS on natural boundaries; parts keep the citation.

    A passage with no text (a reserved section, an appendix of images) yields nothing.
    """
    if not chunk.text.strip():
        return []
    if len(chunk.text) <= MAX_CHARS:
        return [chunk]
    parts = _SPLITTER.split_text(chunk.text)
    return [
        Chunk(
            chunk.citation, chunk.section, chunk.title, text, chunk.source, chunk.metadata, part=i
        )
        for i, text in enumerate(parts, 1)
    ]


def unique(chunks: list[Chunk]) -> list[Chunk]:
    """Number repeated ids (the same heading twice in one appendix) so every id is unique."""
    seen: dict[str, int] = {}
    out = []
    for chunk in chunks:
        count = seen[chunk.id] = seen.get(chunk.id, 0) + 1
        if count > 1:
            chunk = Chunk(
                f"{chunk.citation} ({count})",
                chunk.section,
                chunk.title,
                chunk.text,
                chunk.source,
                chunk.metadata,
                chunk.part,
            )
        out.append(chunk)
    return out
