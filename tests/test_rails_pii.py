"""PII rails, table-driven over the policy: what is redacted, what survives, pseudonyms."""

from __future__ import annotations

import pytest

from advisor.rails.pii import PiiRedactor, fold
from advisor.rails.policy import PiiPolicy, PolicyError
from advisor.rails.vault import Vault, VaultStore
from advisor.settings import Settings

REDACTED = [
    ("card with spaces", "my card 4111 1111 1111 1111 was declined", "4111 1111 1111 1111", "CREDIT_CARD"),
    ("card with dashes", "card 5500-0000-0000-0004 please", "5500-0000-0000-0004", "CREDIT_CARD"),
    ("card plain", "number 4012888888881881 is mine", "4012888888881881", "CREDIT_CARD"),
    ("amex 4-6-5", "amex 3782 822463 10005 charged twice", "3782 822463 10005", "CREDIT_CARD"),
    ("zero-width card", "card 4111\u200b1111\u200b1111\u200b1111 ok", "4111\u200b1111\u200b1111\u200b1111", "CREDIT_CARD"),
    ("iban", "send it to DE89 3704 0044 0532 0130 00 today", "DE89 3704 0044 0532 0130 00", "IBAN_CODE"),
    ("ssn", "my SSN is 536-22-8745", "536-22-8745", "US_SSN"),
    ("routing", "routing number 021000021 for the wire", "021000021", "ABA_ROUTING_NUMBER"),
    ("email", "write to nora.adeyemi88@gmail.com", "nora.adeyemi88@gmail.com", "EMAIL_ADDRESS"),
    ("phone", "text me at 415-555-0198 when due", "415-555-0198", "PHONE_NUMBER"),
    ("street", "I moved to 1234 Elm Street, Apt 5 last week", "1234 Elm Street, Apt 5", "STREET_ADDRESS"),
    ("eu street", "new address Nassaustraat 123 in Utrecht", "Nassaustraat 123", "STREET_ADDRESS"),
    ("zip after state", "Springfield, IL 62704", "62704", "ZIP_CODE"),
    ("person", "please add John Smith to my account", "John Smith", "PERSON"),
    ("titled lower-case name", "join accounts with ms. wijtze", "wijtze", "PERSON"),
    ("ip", "login from 58.74.121.78 was not me", "58.74.121.78", "IP_ADDRESS"),
]  # fmt: skip

SURVIVES = [
    "I paid 20 EUR at the ATM in Russian Ruble",
    "Why did Apple Pay not work at Whole Foods?",
    "What is the APR on the Platinum Rewards card?",
    "I have 2 cards on my way",
    "I was charged $1,250.00 on 2026-11-03 at Starbucks",
    "Can I change my PIN at an ATM in Denver?",
    "How much did I spend at Trader Joe's in October?",
]


@pytest.fixture(scope="module")
def redactor() -> PiiRedactor:
    """The redactor of the shipped policy."""
    return PiiRedactor.from_settings(Settings())


@pytest.mark.parametrize(("case", "text", "value", "kind"), REDACTED, ids=[r[0] for r in REDACTED])
def test_redacts(redactor: PiiRedactor, case: str, text: str, value: str, kind: str) -> None:
    result = redactor.redact(text)
    spans = [(e.type, text[e.start : e.end]) for e in result.entities]
    assert (kind, value) in spans, spans
    assert value not in result.redacted


@pytest.mark.parametrize("text", SURVIVES)
def test_banking_words_survive(redactor: PiiRedactor, text: str) -> None:
    result = redactor.redact(text)
    assert result.entities == [] and result.redacted == text


def test_pseudonyms_are_stable_per_session_and_restored(redactor: PiiRedactor) -> None:
    vault = Vault()
    first = redactor.redact("pay John Smith from card 4111 1111 1111 1111", vault)
    again = redactor.redact("and John Smith again", vault)
    assert "<PERSON_1>" in first.redacted and "<CARD_1>" in first.redacted
    assert again.redacted == "and <PERSON_1> again"
    assert vault.restore("Paid <PERSON_1>.") == "Paid John Smith."
    assert vault.restore("card <CARD_1>") == "card \u2022\u2022\u2022\u2022 1111"


def test_another_sessions_placeholders_are_not_restored(redactor: PiiRedactor) -> None:
    store = VaultStore(max_sessions=10, ttl_s=60)
    redactor.redact("I am Maria Gonzalez", store.get("a"))
    assert store.get("b").restore("Hello <PERSON_1>") == "Hello <PERSON_1>"
    assert store.get("a").restore("Hello <PERSON_1>") == "Hello Maria Gonzalez"


def test_json_shape(redactor: PiiRedactor) -> None:
    data = redactor.redact("email jo@example.com").to_json()
    assert set(data) == {"text", "redacted", "entities"}
    assert set(data["entities"][0]) == {"type", "start", "end", "score"}  # type: ignore[index]


@pytest.mark.parametrize(
    "text",
    ["", "\x00\x01\x02" * 100, "\u200b" * 5000, "4" * 20000, "Ωμέγα Плата 支付 " * 300],
    ids=["empty", "binary", "zero-width", "digits", "mixed-script"],
)
def test_odd_input_is_bounded_and_safe(redactor: PiiRedactor, text: str) -> None:
    result = redactor.redact(text)
    assert isinstance(result.redacted, str)


def test_fold_maps_spans_back() -> None:
    folded, origin = fold("a\u200bb\uff11")
    assert folded == "ab1" and origin == [0, 2, 3, 4]


def test_broken_policy_is_a_clear_error(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "pii_policy.yaml").write_text("entities: [oops")
    with pytest.raises(PolicyError, match="cannot read policy"):
        PiiPolicy.load(folder)
