"""Reversible pseudonyms per session: `<PERSON_1>` stands for the customer's own value."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter

from cachetools import TTLCache

PLACEHOLDER = re.compile(r"<([A-Z]+)_(\d+)>")


class Vault:
    """One session's placeholders and the values they stand for (stored only sealed)."""

    def __init__(self) -> None:
        self.by_value: dict[tuple[str, str], str] = {}
        self.by_placeholder: dict[str, str] = {}
        self.counts: Counter[str] = Counter()

    def placeholder(self, kind: str, value: str, last4: bool = False) -> str:
        """The placeholder for a value (the same value keeps the same placeholder)."""
        key = (kind, " ".join(value.split()).lower())
        if key not in self.by_value:
            self.counts[kind] += 1
            name = f"<{kind}_{self.counts[kind]}>"
            shown = f"\u2022\u2022\u2022\u2022 {value.replace(' ', '')[-4:]}" if last4 else value
            self.by_value[key], self.by_placeholder[name] = name, shown
        return self.by_value[key]

    def mend(self, text: str) -> str:
        """This session's placeholders that a model wrote bare ("Card 1", "CARD_1") bracketed again.

        A small model often drops the brackets; unmended, "Credit Card 1" would reach the
        customer with a number that traces to nothing.
        """
        kinds = "|".join(sorted(self.counts, key=len, reverse=True))
        if not kinds:
            return text
        bare = re.compile(rf"<?\b({kinds})[ _]?(\d+)\b>?", re.IGNORECASE)

        def bracketed(match: re.Match[str]) -> str:
            name = f"<{match.group(1).upper()}_{match.group(2)}>"
            return name if name in self.by_placeholder else match.group(0)

        return bare.sub(bracketed, text)

    def restore(self, text: str) -> str:
        """Put this session's values back; unknown placeholders stay as they are."""
        return PLACEHOLDER.sub(lambda m: self.by_placeholder.get(m.group(0), m.group(0)), text)

    def names_all(self, text: str) -> bool:
        """Whether every placeholder in the text is one of this vault's: a past turn whose
        placeholders an expired or unopenable vault no longer holds is left out of the
        history, since a new value would take its number and be restored in its place."""
        return all(m.group(0) in self.by_placeholder for m in PLACEHOLDER.finditer(text))

    def __len__(self) -> int:
        """How many values the vault holds."""
        return len(self.by_placeholder)

    def to_json(self) -> str:
        """The vault as JSON (the customer's values in clear: seal it before it is stored)."""
        entries = [[*key, name, self.by_placeholder[name]] for key, name in self.by_value.items()]
        return json.dumps({"entries": entries}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Vault:
        """A vault from `to_json`'s text; the next placeholder of a kind follows the highest."""
        vault = cls()
        for kind, value, name, shown in json.loads(text)["entries"]:
            vault.by_value[(kind, value)], vault.by_placeholder[name] = name, shown
            found = PLACEHOLDER.fullmatch(name)
            number = int(found.group(2)) if found else 0
            vault.counts[kind] = max(vault.counts[kind], number)
        return vault


class VaultStore:
    """Vaults by session id, bounded in number and age, in process memory (a chat session's
    vault is kept in the database instead: advisor/chat/vaults.py)."""

    def __init__(self, max_sessions: int, ttl_s: int) -> None:
        self._vaults: TTLCache[str, Vault] = TTLCache(maxsize=max_sessions, ttl=ttl_s)
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Vault:
        """The session's vault, created on first use."""
        with self._lock:
            vault = self._vaults.get(session_id)
            if vault is None:
                vault = self._vaults[session_id] = Vault()
            return vault
