"""Structure-aware chunking of the CFPB regulations and the GDPR, with canonical citations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from retrieval.chunks import MAX_CHARS, Chunk, clean_paragraph, split_long, unique

Node = dict[str, Any]
PARTS = {"1002": "reg_b", "1005": "reg_e", "1030": "reg_dd", "1016": "reg_p", "1022": "reg_v"}
NAMES = {
    "reg_b": "Regulation B",
    "reg_e": "Regulation E",
    "reg_dd": "Regulation DD",
    "reg_p": "Regulation P",
    "reg_v": "Regulation V",
    "gdpr": "GDPR",
}


class CorpusError(ValueError):
    """A corpus file is missing, unreadable or not shaped as expected."""


def load_json(path: Path) -> Any:
    """Parse a JSON corpus file, with a clear error when it is missing or corrupt."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CorpusError(f"corpus file missing: {path}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorpusError(f"corpus file is not valid JSON: {path}: {exc}") from exc


def flatten(node: Node) -> str:
    """The cleaned text of a node and all its descendants, one paragraph a line."""
    lines = [clean_paragraph(node["text"])] if node.get("text", "").strip() else []
    lines += [flatten(child) for child in node.get("children", [])]
    return "\n".join(line for line in lines if line)


def walk(node: Node) -> Iterator[Node]:
    """Every node of a tree, depth first."""
    yield node
    for child in node.get("children", []):
        yield from walk(child)


def paragraph_ref(labels: list[str]) -> str:
    """["a", "1", "i"] -> "(a)(1)(i)"."""
    return "".join(f"({label})" for label in labels)


def cfpb_chunks(path: Path) -> list[Chunk]:
    """Chunks of one CFPB regulation: sections by paragraph, appendices, interpretations."""
    root = load_json(path)
    try:
        part = root["label"][0]
        source = PARTS[part]
    except (KeyError, IndexError, TypeError) as exc:
        raise CorpusError(f"{path}: not a CFPB regulation tree") from exc
    chunks: list[Chunk] = []
    titles = section_titles(root)
    for node in walk(root):
        label, kind = node.get("label", []), node.get("node_type")
        if kind == "regtext" and len(label) == 2 and label[1].isdigit():
            chunks += section_chunks(node, part, source)
        elif kind == "appendix" and len(label) == 2:
            chunks += appendix_chunks(node, part, source)
        elif label and label[-1] == "Interp" and len(label) >= 3:
            chunks += interp_chunks(node, part, source, titles)
    return [piece for chunk in chunks for piece in split_long(chunk)]


def section_titles(root: Node) -> dict[str, str]:
    """Section and appendix label ("9", "A") -> its title, for the interpretations of it."""
    return {
        node["label"][1]: node["title"]
        for node in walk(root)
        if node.get("node_type") in ("regtext", "appendix")
        and len(node.get("label", [])) == 2
        and node.get("title")
    }


def section_chunks(node: Node, part: str, source: str) -> list[Chunk]:
    """A section: one chunk per top paragraph, or per sub-paragraph when a paragraph is long."""
    sec = node["label"][1]
    key, title = f"12 CFR {part}.{sec}", node.get("title") or f"§ {part}.{sec}"
    meta = {"regulation": NAMES[source]}
    if not node.get("children"):
        return [Chunk(key, key, title, flatten(node), source, meta)]
    chunks = []
    for para in node["children"]:
        text = flatten(para)
        if len(text) <= MAX_CHARS or not para.get("children"):
            cite = f"{key}{paragraph_ref(para['label'][2:])}"
            chunks.append(Chunk(cite, key, title, text, source, meta))
            continue
        heading = clean_paragraph(para.get("text", ""))
        for sub in para["children"]:
            cite = f"{key}{paragraph_ref(sub['label'][2:])}"
            chunks.append(
                Chunk(cite, key, title, f"{heading}\n{flatten(sub)}".strip(), source, meta)
            )
    return chunks


def appendix_chunks(node: Node, part: str, source: str) -> list[Chunk]:
    """An appendix: whole when short, else one chunk per top-level piece."""
    letter = node["label"][1]
    key, title = f"12 CFR {part} Appendix {letter}", node.get("title") or f"Appendix {letter}"
    meta = {"regulation": NAMES[source]}
    whole = flatten(node)
    if len(whole) <= MAX_CHARS or not node.get("children"):
        return [Chunk(key, key, title, whole, source, meta)]
    chunks = []
    for index, child in enumerate(node["children"], 1):
        name = (child.get("title") or "").split("\u2014")[0].strip() or f"\u00b6{index}"
        if name.startswith("Part "):
            name = name.split(".")[0]
        chunks.append(Chunk(f"{key}, {name}", key, title, flatten(child), source, meta))
    return chunks


def interp_chunks(node: Node, part: str, source: str, titles: dict[str, str]) -> list[Chunk]:
    """Official interpretations of one section or paragraph, linked to the section."""
    label = node["label"]
    target = label[1]
    if target == "Interp":
        return []
    if any(child.get("label", [])[-1:] == ["Interp"] for child in node.get("children", [])):
        comments = [c for c in node["children"] if c.get("label", [])[-1:] != ["Interp"]]
    else:
        comments = node.get("children", [])
    if not comments:
        return []
    ref = f"{target}{paragraph_ref(label[2:-1])}"
    key = f"12 CFR {part}.{target}" if target.isdigit() else f"12 CFR {part} Appendix {target}"
    title = f"Official interpretation of {key.removeprefix('12 CFR ')}{paragraph_ref(label[2:-1])}"
    text = "\n".join(flatten(c) for c in comments)
    meta: dict[str, Any] = {"regulation": NAMES[source], "interpretation": True}
    if target in titles:
        meta["heading"] = titles[target]
    return [Chunk(f"12 CFR {part} Supp. I, comment {ref}", key, title, text, source, meta)]


def gdpr_chunks(path: Path) -> list[Chunk]:
    """GDPR articles (by paragraph when long) and recitals."""
    data = load_json(path)
    try:
        articles = [a for chapter in data["chapters"] for a in _articles(chapter, "")]
        recitals = data["recitals"]
    except (KeyError, TypeError) as exc:
        raise CorpusError(f"{path}: not the GDPR JSON layout") from exc
    chunks = [c for article, heading in articles for c in _article_chunks(article, heading)]
    chunks += [
        Chunk(
            f"GDPR Recital {r['number']}",
            f"GDPR Recital {r['number']}",
            f"GDPR Recital {r['number']}",
            clean_paragraph(r["text"]),
            "gdpr",
            {"regulation": "GDPR", "recital": True},
        )
        for r in recitals
    ]
    return [piece for chunk in chunks for piece in split_long(chunk)]


def _articles(node: Node, above: str) -> Iterator[tuple[Node, str]]:
    """Articles inside a chapter or section, with the chapter and section titles above them."""
    heading = " \u2014 ".join(t for t in (above, node.get("title", "")) if t)
    for item in node.get("contents", []):
        if item.get("type") == "article":
            yield item, heading
        elif item.get("type") == "section":
            yield from _articles(item, heading)


def _point_text(point: Node) -> str:
    """A GDPR point with its lettered sub-points."""
    lines = [point.get("text", "")]
    lines += [f"({s.get('number')}) {s.get('text', '')}" for s in point.get("subpoints", [])]
    return clean_paragraph(" ".join(line for line in lines if line))


def _article_chunks(article: Node, heading: str) -> list[Chunk]:
    """One chunk per article, or per paragraph when the article is long."""
    key = f"GDPR Art. {article['number']}"
    title = f"GDPR Article {article['number']}: {article.get('title', '')}".strip()
    points = [p for p in article.get("contents", []) if isinstance(p, dict)]
    texts = [(p.get("number"), _point_text(p)) for p in points]
    whole = "\n".join(f"{n}. {t}" if n else t for n, t in texts)
    meta = {"regulation": "GDPR", "heading": heading}
    if len(whole) <= MAX_CHARS or len(texts) < 2:
        return [Chunk(key, key, title, whole, "gdpr", meta)]
    return [
        Chunk(f"{key}({n})" if n else f"{key} [{i}]", key, title, t, "gdpr", meta)
        for i, (n, t) in enumerate(texts, 1)
    ]


def regulation_chunks(directory: Path) -> list[Chunk]:
    """Every regulation in the shared data directory."""
    chunks: list[Chunk] = []
    for name in (
        "cfpb-reg-b-1002",
        "cfpb-reg-e-1005",
        "cfpb-reg-dd-1030",
        "cfpb-reg-p-1016",
        "cfpb-reg-v-1022",
    ):
        chunks += cfpb_chunks(directory / f"{name}.json")
    return unique(chunks + gdpr_chunks(directory / "gdpr.json"))
