"""PII rails, table-driven over the policy: what is redacted, what survives, pseudonyms."""

from __future__ import annotations

import pytest

from advisor.rails.pii.policy import PiiPolicy, PolicyError
from advisor.rails.pii.redactor import PiiRedactor
from advisor.rails.pii.spans import fold
from advisor.rails.pii.vault import Vault, VaultStore

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
    ("titled lower-case name", "join accounts with ms. wijtze", "ms. wijtze", "PERSON"),
    ("ip", "login from 58.74.121.78 was not me", "58.74.121.78", "IP_ADDRESS"),
    ("2-series mastercard", "my new Mastercard 2223 0000 4841 0010 was declined", "2223 0000 4841 0010", "CREDIT_CARD"),
    ("iban before a word", "my account GB82WEST12345698765432 hasn't been credited", "GB82WEST12345698765432", "IBAN_CODE"),
    ("spaced iban before a word", "FR14 2004 1010 0505 0001 3M02 606 belongs to my landlord", "FR14 2004 1010 0505 0001 3M02 606", "IBAN_CODE"),
    ("phone +cc (0)", "ring me on +44 (0)20 7946 0018 tomorrow", "+44 (0)20 7946 0018", "PHONE_NUMBER"),
    ("phone pairs", "my number is 06 12 34 56 78", "06 12 34 56 78", "PHONE_NUMBER"),
    ("phone extension", "office 001-312-555-0147x221 after nine", "001-312-555-0147x221", "PHONE_NUMBER"),
    ("phone sentence end", "my UK number is +44 161 496 0753.", "+44 161 496 0753", "PHONE_NUMBER"),
    ("licence after cue", "my driving licence number is MORGA753116SM9IJ", "MORGA753116SM9IJ", "US_DRIVER_LICENSE"),
    ("licence grouped", "DL no. 512 334 907 from Ohio", "512 334 907", "US_DRIVER_LICENSE"),
    ("house letter", "deliver to 17A Harbour Street please", "17A Harbour Street", "STREET_ADDRESS"),
    ("ordinal street", "I live at 45 West 34th Street, Apt 12F now", "45 West 34th Street, Apt 12F", "STREET_ADDRESS"),
    ("hash unit, town joins", "my address is 80 Cedar Lane, #4, Dayton", "80 Cedar Lane, #4, Dayton", "STREET_ADDRESS"),
    ("po box", "send it to PO Box 1298, Reno NV 89501", "PO Box 1298, Reno NV", "STREET_ADDRESS"),
    ("street over a name", "new address 51 Martin Grove Drive in Toronto", "51 Martin Grove Drive", "STREET_ADDRESS"),
    ("eu street with context", "she lives at Rynek 12 in the old town", "Rynek 12", "STREET_ADDRESS"),
    ("postcode after street", "ship it to Prinsengracht 263, 1016 GV Amsterdam", "1016 GV", "ZIP_CODE"),
    ("uk postcode", "Flat 3, 12 Kings Road, Leeds LS1 4AP", "LS1 4AP", "ZIP_CODE"),
    ("eu postcode", "Send it to 4 Rue Cler, 75007 Paris.", "75007", "ZIP_CODE"),
    ("lower-case zip", "mail to 12 oak st, dover de 19901", "19901", "ZIP_CODE"),
    ("lower-case payee", "pay nadia $40 for the tickets", "nadia", "PERSON"),
    ("lower-case full name", "send the money to tomasz kowalczyk today", "tomasz kowalczyk", "PERSON"),
    ("gazetteer name", "Can Oksana collect my card?", "Oksana", "PERSON"),
    ("full name", "Ana Lucia Torres, ITIN 955-90-1123", "Ana Lucia Torres", "PERSON"),
    ("maiden name", "Her maiden name is Lindqvist", "Lindqvist", "PERSON"),
    ("title joins the name", "Please ask Dr Hannah Okafor to sign", "Dr Hannah Okafor", "PERSON"),
    ("title after a cue joins the name", "Hello, this is Dr. Kent Jaworski. Who are you?", "Dr. Kent Jaworski", "PERSON"),
    ("name particles", "transfer it to Pieter van der Berg today", "Pieter van der Berg", "PERSON"),
    ("name at line start", "oksana petrenko\n12 Dovzhenka St", "oksana petrenko", "PERSON"),
    ("phone 3-3-3 after call", "please call me on 612 448 903", "612 448 903", "PHONE_NUMBER"),
    ("phone 4-4 after phone word", "my mobile is 4412 9087", "4412 9087", "PHONE_NUMBER"),
    ("phone slash", "office 30/457 2291 mornings", "30/457 2291", "PHONE_NUMBER"),
    ("latin street", "send the card to Via Garibaldi, 12 in Turin", "Via Garibaldi, 12", "STREET_ADDRESS"),
    ("spanish street", "vivo en Calle de Alcalá 48 Piso 3", "Calle de Alcalá 48 Piso 3", "STREET_ADDRESS"),
    ("house number comma", "my address is 68, Gandhi Road", "68, Gandhi Road", "STREET_ADDRESS"),
    ("usps suffix", "I moved to 4026 Bishop Crossing last month", "4026 Bishop Crossing", "STREET_ADDRESS"),
    ("maestro 12 digits", "what is the limit for card 502031510998?", "502031510998", "CREDIT_CARD"),
    ("uk nino after ssn cue", "Here's my SSN: ZZ 18 75 63 T", "ZZ 18 75 63 T", "NATIONAL_ID"),
    ("codice fiscale", "my codice fiscale is CRNFDL09R65E897V", "CRNFDL09R65E897V", "NATIONAL_ID"),
    ("pesel", "PESEL 92070629719 for the form", "92070629719", "NATIONAL_ID"),
    ("dialled number, not an itin", "stop the texts to +34 972529038", "+34 972529038", "PHONE_NUMBER"),
    ("phone with (0), not a name", "phone: +49(0)1165 560919 mornings", "+49(0)1165 560919", "PHONE_NUMBER"),
    ("phone after answering", "They're not answering at 517 426 773", "517 426 773", "PHONE_NUMBER"),
    ("7-digit local phone", "they're not answering at 785 8949", "785 8949", "PHONE_NUMBER"),
    ("dialled, not a routing number", "my registered +39 320452561. Could you", "+39 320452561", "PHONE_NUMBER"),
    ("office phone after a postcode", "Bahia 57006 96 228011 office", "96 228011", "PHONE_NUMBER"),
    ("house number before the street", "it's in 21 170 London Place Apt. 892 now", "21 170 London Place Apt. 892", "STREET_ADDRESS"),
    ("town and country lines", "return to 85 Kongshøj Allé 70\n Apt. 252\n Kruså\n Georgia", "85 Kongshøj Allé 70\n Apt. 252\n Kruså\n Georgia", "STREET_ADDRESS"),
    ("military mail", "send a new one to USNS Vestergaard\nFPO AA 08331?", "USNS Vestergaard\nFPO AA 08331", "STREET_ADDRESS"),
    ("address block", "Jo Bloggs\n27 Elm Grove\nLeeds\nLS6 2AB", "27 Elm Grove\nLeeds\nLS6 2AB", "STREET_ADDRESS"),
    ("block without a street type", "here: 63 30 N. Stadion\nULLINISH\n, nan\n 40839, thanks", "63 30 N. Stadion\nULLINISH\n, nan\n 40839", "STREET_ADDRESS"),
    ("street over a polish postcode line", "send it to ul. Sowia 84/2\n94-969 Racibórz.", "ul. Sowia 84/2\n94-969 Racibórz", "STREET_ADDRESS"),
    ("street over an italian postcode line", "I moved to Vicolo Stretto, 7\n88100, Sant'Elia (CZ)", "Vicolo Stretto, 7\n88100, Sant'Elia (CZ)", "STREET_ADDRESS"),
    ("dutch postcode on its own line", "post it to Marapad 412\n3041JX\nBierum please", "Marapad 412\n3041JX\nBierum", "STREET_ADDRESS"),
    ("street without a number over a french postcode", "update it to rue Dumas\n21776 Renaud-sur-Mer for mail", "rue Dumas\n21776 Renaud-sur-Mer", "STREET_ADDRESS"),
    ("town and country after a unit", "it went to 56 ul. Karpacka 69 Apt. 837 Bydgoszcz Poland? odd", "56 ul. Karpacka 69 Apt. 837 Bydgoszcz Poland", "STREET_ADDRESS"),
    ("block with a czech postcode", "send it to 12 Na Poříčí\nPraha 1\n110 00 please", "12 Na Poříčí\nPraha 1\n110 00", "STREET_ADDRESS"),
    ("a crossing", "meet me at the corner of 5th Avenue and Main Street at noon", "the corner of 5th Avenue and Main Street", "STREET_ADDRESS"),
    ("a continental crossing", "a taxi to the corner of siikasaarentie 19 and matković street please", "the corner of siikasaarentie 19 and matković street", "STREET_ADDRESS"),
    # Found from outside (issue 11): shapes the earlier sets did not hold.
    ("lower-case iban", "my iban is gb82 west 1234 5698 7654 32", "gb82 west 1234 5698 7654 32", "IBAN_CODE"),
    ("lower-case solid iban", "pay gb82west12345698765432 please", "gb82west12345698765432", "IBAN_CODE"),
    ("lower-case iban, digits only", "send to de89 3704 0044 0532 0130 00 today", "de89 3704 0044 0532 0130 00", "IBAN_CODE"),
    ("mixed-case iban before a comma", "my IBAN is Gb82 West 1234 5698 7654 32, thanks", "Gb82 West 1234 5698 7654 32", "IBAN_CODE"),
    ("local phone after registered", "my registered 668 1234", "668 1234", "PHONE_NUMBER"),
    ("local phone pairs after registered", "my registered 668 12 34. Could you", "668 12 34", "PHONE_NUMBER"),
    ("local phone dashed after call", "call me on 555-0142", "555-0142", "PHONE_NUMBER"),
    ("local phone pairs after mobile", "my mobile is 668 12 34", "668 12 34", "PHONE_NUMBER"),
    ("nine digits in threes after ssn", "my ssn is 123 456 789", "123 456 789", "NATIONAL_ID"),
    ("nine digits in threes after an ssn label", "Ssn: 123 456 789", "123 456 789", "NATIONAL_ID"),
    ("nine digits in threes after social security", "my social security number is 123 456 789", "123 456 789", "NATIONAL_ID"),
    ("nine digits in threes after national insurance", "national insurance number 123 456 789", "123 456 789", "NATIONAL_ID"),
    ("nine digits in threes after tax id", "my tax id is 123 456 789 for the form", "123 456 789", "NATIONAL_ID"),
    ("nine digits in threes after id number", "ID number 123 456 789 on file", "123 456 789", "NATIONAL_ID"),
    ("phone before a fax", "tel 212-555-0199, fax 212-555-0198", "212-555-0199", "PHONE_NUMBER"),
    ("fax after a phone", "tel 212-555-0199, fax 212-555-0198", "212-555-0198", "PHONE_NUMBER"),
    ("fax after a local phone", "tel 0512936653, fax +49 (0) 7322 408292", "+49 (0) 7322 408292", "PHONE_NUMBER"),
    ("dotted card", "my card 4916.3385.0612.7744 was declined", "4916.3385.0612.7744", "CREDIT_CARD"),
]  # fmt: skip

SURVIVES = [
    "I paid 20 EUR at the ATM in Russian Ruble",
    "the ATM at the corner of my street and the park was empty",
    "Why did Apple Pay not work at Whole Foods?",
    "What is the APR on the Platinum Rewards card?",
    "I have 2 cards on my way",
    "I was charged $1,250.00 on 2026-11-03 at Starbucks",
    "Can I change my PIN at an ATM in Denver?",
    "How much did I spend at Trader Joe's in October?",
    "Will my card arrive before Friday?",
    "I want to pay my bill with my Chase card",
    "Can I chase a refund for the rose gold phone case?",
    "Mark the charge from Best Buy as fraud",
    "Refund from Uber Eats and Home Depot still pending",
    "Are Hong Kong dollars supported for transfers?",
    "What is the max I can top up?",
    "I was charged 1 250 000 won on 2026-11-03 at 10.30",
    "Transfer 10.000.000 IDR to my savings, it took 3 days",
    "My driver's license expired 2 days ago, can I still use the app?",
    "I moved 500 dollars to savings last week",
    "Why is there a fee of 2.5 % on 25 03 2025 transfers?",
    "send 20 to savings for dinner",
    "the number of transfers was 10 000 000 last year",
    "send it via Zelle 50 dollars",
    "I need 3 cards for my kids by next week",
    "Is the 5 euro fee per top up normal?",
    "can I use Apple Pay in Hong Kong?",
    "I paid 40 dollars on my card\nand 12345 is the reference",
    "2 cards arrived\ntoday\n10001 points",
    "I paid 500 dollars for the tin roof",
    "since March I paid 150000 to the landlord",
    "a tiny deposit of 123456 arrived",
    "order 123456789012 arrived yesterday",
    # Near misses of the shapes found from outside (issue 11).
    "I paid $123,456,789 for nothing",
    "the transfer of 123 456 789 won arrived on 2026-11-03",
    "I spent 668 dollars at the registered merchant",
    "I registered 668 dollars on the card",
    "the code ab12 came on 12.03.2026",
    "my iban changed in jan26 after 3 days",
    "card number 4916.3385.0612.7745 failed the check",
    "the invoice 2026.1103.0001.2345 arrived",
    "my account nickname is Gold 1234 5678",
    "move 50 dollars to my Holiday 2027 account",
    "What is an SSN and why do you need mine?",
    "ssn: where do I update it?",
]


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ssn: 536 22 8745", [("US_SSN", "536 22 8745")]),
        ("SSN 123 456 789", [("NATIONAL_ID", "123 456 789")]),
        ("tel 0512936653, fax 0331131751", [("PHONE_NUMBER", "0512936653"), ("PHONE_NUMBER", "0331131751")]),
        ("Tel: (212) 555-0199 Fax: (212) 555-0198", [("PHONE_NUMBER", "(212) 555-0199"), ("PHONE_NUMBER", "(212) 555-0198")]),
    ],
)
def test_labels_before_numbers_are_no_names(
    redactor: PiiRedactor, text: str, expected: list[tuple[str, str]]
) -> None:
    found = [(e.type, text[e.start : e.end]) for e in redactor.redact(text).entities]
    assert found == expected


def test_pseudonyms_are_stable_per_session_and_restored(redactor: PiiRedactor) -> None:
    vault = Vault()
    first = redactor.redact("pay John Smith from card 4111 1111 1111 1111", vault)
    again = redactor.redact("and John Smith again", vault)
    assert "<PERSON_1>" in first.redacted and "<CARD_1>" in first.redacted
    assert again.redacted == "and <PERSON_1> again"
    assert vault.restore("Paid <PERSON_1>.") == "Paid John Smith."
    assert vault.restore("card <CARD_1>") == "card \u2022\u2022\u2022\u2022 1111"


@pytest.mark.parametrize(
    ("written", "mended"),
    [
        ("Credit Card 1: $3,750.72", "Credit <CARD_1>: $3,750.72"),
        ("your CARD_1 is fine", "your <CARD_1> is fine"),
        ("hi <PERSON_1>", "hi <PERSON_1>"),
        ("card 2 and CARD_10 are not this session's", "card 2 and CARD_10 are not this session's"),
        ("Account 1 is the model's own numbering", "Account 1 is the model's own numbering"),
    ],
)
def test_bare_placeholders_a_model_wrote_are_bracketed_again(written: str, mended: str) -> None:
    vault = Vault()
    vault.placeholder("CARD", "4111 1111 1111 1111", last4=True)
    vault.placeholder("PERSON", "Ana Ruiz")
    assert vault.mend(written) == mended


def test_the_customers_own_merchants_are_kept_and_people_still_redacted(
    redactor: PiiRedactor,
) -> None:
    text = "Why did Ticketmaster charge me twice? I also paid Parkwhiz and sent $20 to Marek Nowak"
    merchants = frozenset({"TICKETMASTER", "PARKWHIZ", "OLIVE GARDEN"})
    assert "Ticketmaster" not in redactor.redact(text).redacted  # unknown: taken for a person
    kept = redactor.redact(text, merchants=merchants).redacted
    assert "Ticketmaster" in kept and "Parkwhiz" in kept
    assert "Marek Nowak" not in kept and "<PERSON_1>" in kept


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
