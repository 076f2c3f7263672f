"""Names no list knows, table-driven: foreign proper nouns, name growth, listed names."""

from __future__ import annotations

import itertools
import time

import pytest

from advisor.rails.pii.redactor import PiiRedactor
from advisor.rails.pii.spans import _name_gap, windows

# (case, text, a name that a person span must cover)
FOUND = [
    ("vocative", "Marisca, can I please speak to your boss?", "Marisca"),
    ("labelled ORG by the NER model", "This song by ex-Zombie Fukunaga is a gem", "Fukunaga"),
    ("labelled PRODUCT", "Is there anything better than early Kasslin?", "Kasslin"),
    ("possessive", "It was between him and Sumaya's kid", "Sumaya"),
    ("grown by a foreign surname", "kristin crnić  98 árpád fejedelem útja 45", "kristin crnić"),
    ("grown by a first name", "we need to add Ksenia Rushisvili to my account", "Ksenia Rushisvili"),
    ("unknown full name", "we need to add Aybika Rushisvili as guardian", "Aybika Rushisvili"),
    ("listed after a name", "They had 6: Hannah, Ksenia, Brajko and Kaypa.", "Kaypa"),
    ("listed in the middle", "They had 6: Hannah, Ksenia, Brajko and Kaypa.", "Ksenia"),
    ("lower case after 'call me'", "friends just call me wojtek", "wojtek"),
    ("lower-case full name after 'my name is'", "my name is zdenka hruškova, hi", "zdenka hruškova"),
    ("a later noun joins the name", "my name is emma tyndall and I need help", "emma tyndall"),
    ("labelled a place, before a payee phrase", "please add Topi Sainio as a payee", "Topi Sainio"),
    ("possessive before 'address'", "I need Ilkka Vuorinen's address updated", "Ilkka Vuorinen"),
    ("a speaker's label", "serdar: did the rent go out?\nme: yes", "serdar"),
    ("a role before a name", "my advisor Ojaswini rang yesterday", "Ojaswini"),
    ("a name opening a sentence before a verb", "Jakob sent me the money. Thanks", "Jakob"),
    ("a name opening a clause", "I think that dariusz already paid it", "dariusz"),
    ("listed before a name", "they were hosking, mccune and Ksenia Rushisvili", "hosking"),
    ("the addressee line above a street", ">tomasz wrona\n>12 Elm Street\n>Leeds", "tomasz wrona"),
    ("called by name at the start", "Radomira, can you check my card?", "Radomira"),
    ("called by name at the end", "don't worry about it, Radomira!", "Radomira"),
    ("particles join two found parts", "Wubbo van der Meulen phoned me", "Wubbo van der Meulen"),
]  # fmt: skip

# Next to a cue, but no name: English words, a weekday, a contraction.
CUED_WORDS = [
    "Can you call me back tomorrow?",
    "The branch said Tuesday was fine.",
    "My friend hasn't got the money I sent.",
    "my son wants a debit card",
    "Answer: call me at five",
    "Hi I've been trying to top up my card",
    "Can you tell me why a refund I'm owed is not showing?",
    "Hi, Today I am facing the same issue.",
    "C'mon, it's 2018, things happen at a click of a button.",
]

# Banking words, inflections, chat words and places no name list holds: never a person.
NOT_A_PERSON = [
    "Are SWIFT Transfers available at this bank?",
    "Where are the Mastercard ATMs?",
    "Do you give out Visa or Mastercards?",
    "Hey, how do I get my card to show in the app?",
    "Can I get my statements as PDFs?",
    "My card didn't work at the ATM in Notting Hill.",
    "What are the current interbank exchange rates?",
    "Um, my top up didn't work",
    "Yikes! I didn't get the amount of money that I requested.",
    "Why will my transfer not go through?! Keep getting an error message.",
    "bot: what's the card number?\nme: not telling you",
]


@pytest.mark.parametrize(("case", "text", "name"), FOUND, ids=[f[0] for f in FOUND])
def test_unknown_names_are_found(redactor: PiiRedactor, case: str, text: str, name: str) -> None:
    people = [text[e.start : e.end] for e in redactor.analyze(text) if e.type == "PERSON"]
    assert any(name in person for person in people), people


@pytest.mark.parametrize("text", NOT_A_PERSON)
def test_words_and_places_are_not_people(redactor: PiiRedactor, text: str) -> None:
    assert [text[e.start : e.end] for e in redactor.analyze(text)] == []


@pytest.mark.parametrize("text", CUED_WORDS)
def test_cues_take_no_english_word(redactor: PiiRedactor, text: str) -> None:
    assert [text[e.start : e.end] for e in redactor.analyze(text)] == []


@pytest.mark.parametrize(
    ("gap", "joins"),
    [(" ", True), (" van der ", True), (" de la ", True), (" and ", False), ("  ", False),
     (" y ", False), (" van van van van ", False), (" van der", False)],
)  # fmt: skip
def test_name_gaps(gap: str, joins: bool) -> None:
    assert _name_gap(gap, frozenset({"van", "der", "de", "la", "y"})) is joins


def test_windows_cover_the_text_in_bounded_pieces() -> None:
    text = "Pay Ana. Then Kaypa\nand more words here " * 40
    pieces = list(windows(text, 100))
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    assert all(0 < end - start <= 100 for start, end in pieces)


def test_a_long_text_is_redacted_across_pieces(redactor: PiiRedactor) -> None:
    line = "Pay Marisca Kowalczyk 40 dollars, card 4111 1111 1111 1111, then Dita and Kaypa. "
    text = line * 60  # about 5,000 characters: three analysis pieces
    result = redactor.redact(text)
    assert "4111" not in result.redacted and "Marisca" not in result.redacted
    assert result.redacted.count("<CARD_1>") == 60


def test_an_entity_across_a_piece_boundary_is_found_whole(redactor: PiiRedactor) -> None:
    text = "word " * 396 + "card 4111 1111 1111 1111 thanks"  # the cut falls inside the card
    spans = [(e.type, text[e.start : e.end]) for e in redactor.analyze(text)]
    assert spans == [("CREDIT_CARD", "4111 1111 1111 1111")]


# Inputs that made a regex backtrack for seconds to hours: each must come back at once.
BACKTRACKING = [
    "my ssn is " + "1" * 105 + "x",
    "Send it to 12 Main Street\n" + "A" * 39 + "!\nthanks",
    "Send it to 12 Main Street\n" + "1" * 39 + "!\nthanks",
    "12 Main Street " + "A" * 40 + ") 90210",
]


@pytest.mark.parametrize(
    "text", BACKTRACKING, ids=["id digits", "town caps", "town digits", "locality"]
)
def test_no_regex_backtracks(redactor: PiiRedactor, text: str) -> None:
    began = time.perf_counter()
    redactor.analyze(text)
    assert time.perf_counter() - began < 2.0  # a hang guard; a normal call takes milliseconds


def test_redaction_time_grows_linearly_with_length(redactor: PiiRedactor) -> None:
    line = "Pay Marisca Kowalczyk 40 dollars at 12 Elm Street, Leeds LS1 4AP, and Dita. "
    short, long = line * 40, line * 400

    def seconds(text: str) -> float:
        began = time.perf_counter()
        redactor.redact(text)
        return time.perf_counter() - began

    seconds(short)  # warm
    ratio = seconds(long) / seconds(short)
    assert ratio < 25, f"10x the text took {ratio:.0f}x the time: not linear"
