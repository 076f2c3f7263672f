"""Servicing answers: one cited article per Banking77 intent, figures read from product terms."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from retrieval.chunks import Chunk
from retrieval.products import PRODUCTS_DIR, SERVICING_SOURCE, Product, load_products
from retrieval.regulations import CorpusError
from retrieval.term_format import Facts, TermFormatError, display_range, display_term

SERVICING_DIR = Path(__file__).resolve().parent / "corpus" / "servicing"
ARTICLES_PATH = SERVICING_DIR / "articles.yaml"
INTENTS_PATH = SERVICING_DIR / "intents.yaml"
SOURCE = SERVICING_SOURCE
PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\.([a-z0-9_]+)(?:\.\.([a-z0-9_]+))?\}")
CITES = re.compile(r"^([a-z0-9_]+) \u00a7(\d+)$")
LITERAL_NUMBER = re.compile(r"[0-9$%]")


class ServicingError(CorpusError):
    """The servicing articles do not match the intents or the product terms."""


@dataclass(frozen=True)
class ServicingAction:
    """Something the bank does for the customer, offered with the answer."""

    id: str
    label: str


@dataclass(frozen=True)
class ServicingAnswer:
    """A servicing article with its placeholders filled from the product terms."""

    intent: str
    title: str
    text: str
    citation: str  # the terms section the figures come from, e.g. "Northbank basic_checking §4"
    facts: tuple[tuple[str, str], ...]  # (product.term, display) for every figure in the text
    action: ServicingAction | None
    cited_title: str = ""  # "<product name> — <section title>" of the cited section

    def citation_payload(self, index: int = 1) -> dict[str, object]:
        """The `citation` chat event's data, shaped like a quoted corpus passage's."""
        return {
            "index": index,
            "citation": self.citation,
            "title": self.cited_title,
            "source": SOURCE,
            "section": self.citation,
            "snippet": self.text,
        }


class _Article(BaseModel):
    """One article as written in the data file."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1)
    cites: str
    body: str = Field(min_length=1)
    action: str | None = None


class _ArticlesFile(BaseModel):
    """The articles file: the action catalogue and one article per intent."""

    model_config = ConfigDict(extra="forbid")
    actions: dict[str, str]
    articles: dict[str, _Article]


def load_intents(path: Path = INTENTS_PATH) -> list[str]:
    """The intent names every article set must cover."""
    try:
        names = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ServicingError(f"cannot read intents file {path.name}: {exc}") from exc
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ServicingError(f"{path.name}: expected a list of intent names")
    return names


def _read_articles(path: Path) -> _ArticlesFile:
    """The parsed, schema-checked articles file."""
    try:
        return _ArticlesFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, UnicodeDecodeError, ValidationError) as exc:
        raise ServicingError(f"invalid servicing articles file {path.name}: {exc}") from exc


def _citation(cites: str, products: dict[str, Product]) -> tuple[str, str]:
    """Citation and title of an existing product section, or ServicingError."""
    match = CITES.match(cites)
    if not match:
        raise ServicingError(f"cites {cites!r} is not '<product_id> \u00a7<n>'")
    product = products.get(match.group(1))
    if product is None:
        raise ServicingError(f"cites unknown product {match.group(1)!r}")
    section = next((s for s in product.sections if s.number == int(match.group(2))), None)
    if section is None:
        raise ServicingError(f"cites {cites!r}, but {product.id} has no such section")
    return product.citation(section), f"{product.name} \u2014 {section.title}"


def _fill(body: str, products: dict[str, Product]) -> tuple[str, Facts]:
    """The body with every placeholder replaced by its term's display, and those facts."""
    if LITERAL_NUMBER.search(PLACEHOLDER.sub("", body)):
        raise ServicingError("a literal number, '$' or '%' in the text: write a placeholder")
    facts: Facts = []

    def replace(match: re.Match[str]) -> str:
        product_id, first, last = match.groups()
        product = products.get(product_id)
        if product is None:
            raise ServicingError(f"placeholder {match.group(0)}: unknown product {product_id!r}")
        try:
            if last is None:
                return display_term(product, first, facts)
            return display_range(product, first, last, facts)
        except TermFormatError as exc:
            raise ServicingError(f"placeholder {match.group(0)}: {exc}") from exc

    text = " ".join(PLACEHOLDER.sub(replace, body).split())
    if "{" in text or "}" in text:
        raise ServicingError("a malformed placeholder: write {product_id.term}")
    return text, facts


def _answer(
    intent: str, article: _Article, actions: dict[str, str], products: dict[str, Product]
) -> ServicingAnswer:
    """One article made into an answer; ServicingError names the intent."""
    try:
        text, facts = _fill(article.body, products)
        citation, cited_title = _citation(article.cites, products)
        if article.action is not None and article.action not in actions:
            raise ServicingError(f"unknown action {article.action!r}")
    except ServicingError as exc:
        raise ServicingError(f"servicing article {intent!r}: {exc}") from exc
    action = ServicingAction(article.action, actions[article.action]) if article.action else None
    return ServicingAnswer(intent, article.title, text, citation, tuple(facts), action, cited_title)


def load_answers(
    articles_path: Path = ARTICLES_PATH,
    products_dir: Path = PRODUCTS_DIR,
    intents_path: Path = INTENTS_PATH,
) -> dict[str, ServicingAnswer]:
    """Every article, checked against the intents and filled from the terms (or ServicingError)."""
    parsed = _read_articles(articles_path)
    intents = load_intents(intents_path)
    missing = sorted(set(intents) - set(parsed.articles))
    unknown = sorted(set(parsed.articles) - set(intents))
    if missing or unknown:
        raise ServicingError(
            f"{articles_path.name}: intents without an article {missing}, "
            f"articles for unknown intents {unknown}"
        )
    products = {p.id: p for p in load_products(products_dir)}
    return {
        intent: _answer(intent, article, parsed.actions, products)
        for intent, article in parsed.articles.items()
    }


@functools.cache
def _shipped_answers() -> dict[str, ServicingAnswer]:
    """The shipped articles over the shipped terms, loaded once."""
    return load_answers()


def servicing_answer(intent: str) -> ServicingAnswer | None:
    """The cited servicing answer for a Banking77 intent, or None for any other intent."""
    return _shipped_answers().get(intent)


def article_citation(intent: str) -> str:
    """The article's own citation in the corpus index."""
    return f"Northbank servicing {intent}"


def servicing_chunks(
    products_dir: Path = PRODUCTS_DIR, articles_path: Path = ARTICLES_PATH
) -> list[Chunk]:
    """One chunk per article (filled text), searchable with source "servicing"."""
    chunks = []
    for intent, answer in load_answers(articles_path, products_dir).items():
        cite = article_citation(intent)
        meta = {
            "intent": intent,
            "cites": answer.citation,
            "action": answer.action.id if answer.action else "",
        }
        chunks.append(
            Chunk(cite, cite, f"Northbank help \u2014 {answer.title}", answer.text, SOURCE, meta)
        )
    return chunks
