"""The bank's own product corpus: structured terms (the only source of rates) and terms text."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from retrieval.chunks import Chunk, unique
from retrieval.regulations import CorpusError

PRODUCTS_DIR = Path(__file__).resolve().parent / "corpus" / "products"
SERVICES_TYPE = "services"  # the terms of everyday services (cards, transfers, disputes)
SERVICING_SOURCE = "servicing"  # searched only on request: its terms and the servicing articles


class Section(BaseModel):
    """One numbered section of a product's terms."""

    number: int
    title: str
    text: str = Field(min_length=1)


class Product(BaseModel):
    """A product with the structured terms tools and answers read rates from."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    type: str
    summary: str
    terms: dict[str, float]
    eligibility: list[str] = Field(default_factory=list)
    sections: list[Section] = Field(min_length=1)

    def citation(self, section: Section) -> str:
        """Canonical citation of one section."""
        return f"Northbank {self.id} \u00a7{section.number}"


def load_products(directory: Path = PRODUCTS_DIR) -> list[Product]:
    """Every product file, validated; a bad file is a CorpusError naming it."""
    if not directory.is_dir():
        raise CorpusError(f"product corpus missing: {directory}")
    products = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            product = Product.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError, UnicodeDecodeError) as exc:
            raise CorpusError(f"invalid product file {path.name}: {exc}") from exc
        if product.id != path.stem:
            raise CorpusError(f"{path.name}: id {product.id!r} differs from the file name")
        products.append(product)
    return products


def product_chunks(directory: Path = PRODUCTS_DIR) -> list[Chunk]:
    """One chunk per product section."""
    chunks = []
    for product in load_products(directory):
        meta = {
            "product_id": product.id,
            "product_type": product.type,
            "product_name": product.name,
        }
        source = SERVICING_SOURCE if product.type == SERVICES_TYPE else "products"
        for section in product.sections:
            cite = product.citation(section)
            chunks.append(
                Chunk(
                    cite,
                    cite,
                    f"{product.name} \u2014 {section.title}",
                    section.text.strip(),
                    source,
                    meta,
                )
            )
    return unique(chunks)
