"""What a chat request for an action asks for, read from the router's entities (never from the
model), and the rules of actions.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from advisor.routing.router import Routed
    from advisor.routing.slots import Entity

# The words just before an account say which end of the transfer it is.
FROM = re.compile(r"\b(?:from|out\s+of|off)\s+(?:my\s+|the\s+|our\s+)?$", re.IGNORECASE)
TO = re.compile(r"\b(?:to|into|in|towards?|onto)\s+(?:my\s+|the\s+|our\s+)?$", re.IGNORECASE)
LOOK_BACK = 16  # characters before an account searched for "from" / "to"


@dataclass(frozen=True)
class ActionRules:
    """actions.yaml, parsed."""

    transfer_intents: frozenset[str]
    transfer_confidence: float
    default_source: str
    sources: frozenset[str]
    destinations: frozenset[str]
    freeze_actions: frozenset[str]
    freeze_confidence: float
    credit_words: tuple[str, ...]
    texts: dict[str, str]


@lru_cache(maxsize=1)
def action_rules() -> ActionRules:
    """The shipped rules."""
    text = resources.files("advisor.chat").joinpath("actions.yaml").read_text("utf-8")
    raw: dict[str, Any] = yaml.safe_load(text)
    transfer, freeze = raw["transfer"], raw["card_freeze"]
    return ActionRules(
        frozenset(transfer["intents"]), float(transfer["min_confidence"]),
        transfer["default_source"], frozenset(transfer["sources"]),
        frozenset(transfer["destinations"]), frozenset(freeze["servicing_actions"]),
        float(freeze["min_confidence"]), tuple(freeze["credit_words"]), dict(raw["texts"]),
    )  # fmt: skip


@dataclass(frozen=True)
class TransferAsk:
    """A transfer as the customer asked for it: an amount and account kinds (None: not said)."""

    amount: Decimal | None
    source: str | None
    destination: str | None


def transfer_ask(routed: Routed, default_source: str) -> TransferAsk:
    """The amount and the two ends of a transfer: "from X" is the source, "to X" the
    destination; an unmarked account is the destination first, then the source."""
    amounts = [e for e in routed.entities if e.type == "amount"]
    amount = Decimal(amounts[0].value) if amounts else None
    source: str | None = None
    destination: str | None = None
    unmarked: list[str] = []
    for entity in (e for e in routed.entities if e.type == "account"):
        before = _before(routed.text, entity)
        if FROM.search(before) and source is None:
            source = entity.value
        elif TO.search(before) and destination is None:
            destination = entity.value
        else:
            unmarked.append(entity.value)
    if destination is None and unmarked:
        destination = unmarked.pop(0)
    if source is None:
        source = unmarked[0] if unmarked else default_source
    return TransferAsk(amount, source, destination)


def _before(text: str, entity: Entity) -> str:
    """The few characters before an entity."""
    return text[max(0, entity.start - LOOK_BACK) : entity.start]


def names_credit_card(routed: Routed, credit_words: tuple[str, ...]) -> bool:
    """Whether the customer named their credit card ("my visa"), not just "my card"."""
    said = [e.text.lower() for e in routed.entities if e.type == "account"]
    return any(word in text for text in said for word in credit_words)
