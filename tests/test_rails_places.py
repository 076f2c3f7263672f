"""Place names are no people ("What's the capital of Peru?"), names that hold one still are."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.rails.pii.places import PlaceFilter, PlaceNames, place_key
from advisor.rails.pii.policy import PiiPolicy, PolicyError
from advisor.rails.pii.redactor import PiiRedactor
from advisor.settings import Settings

POLICY_DIR = Settings().rails.policy_dir

# (text, a place in it): the customer asks about places; nothing is personal data.
PLACES = [
    ("What's the capital of Peru?", "Peru"),
    ("whats the capital of peru", "peru"),
    ("Is my card accepted in Kazakhstan?", "Kazakhstan"),
    ("I'm travelling to Portugal and Morocco next month", "Morocco"),
    ("Does my debit card work in Nebraska?", "Nebraska"),
    ("Can I withdraw cash in Lima without a fee?", "Lima"),
    ("What are the fees for transfers to Nigeria?", "Nigeria"),
    ("Peru's currency is the sol, can I hold it?", "Peru"),
    ("What's the capital of Georgia?", "Georgia"),
    ("I moved to Jordan last year, does my card work there?", "Jordan"),
    ("What's the capital of Chile?", "Chile"),
    ("fees for sending money to Malawi", "Malawi"),
    ("Is Lisbon expensive to visit?", "Lisbon"),  # Boston: a gazetteer name, so redacted
    ("Can I use my card in the District of Columbia?", "Columbia"),
]

# Places a review found let through as no person; after "from", no recognizer finds the second
# list (a recall gap of the recognizers, not the place filter: see SPANS).
FOUND_FROM = ["Santiago", "Milan", "Geneva", "Trinidad", "Cleveland", "Chile", "Brazil"]
MISSED_FROM = ["Montana", "Vienna", "Havana"]

# (text, the name): people whose names hold a place, or are one, announced as people.
NAMES = [
    ("Please add Peru Smith to my account", "Peru Smith"),
    ("Please send $40 to Georgia Brown", "Georgia Brown"),
    ("Transfer to Austin Lee please", "Austin Lee"),
    ("My daughter Sydney needs a card", "Sydney"),
    ("Please ask Dr Hannah Okafor to sign", "Dr Hannah Okafor"),
    # A review's leaks: places that are names too, or a person's context around a place.
    ("Put the card in Chelsea's name", "Chelsea"),
    ("Is the account in Madison's name too?", "Madison"),
    *[(f"Can {place} use my card?", place) for place in [*FOUND_FROM, *MISSED_FROM]],
    *[(f"The transfer from {place} is missing", place) for place in FOUND_FROM],
]


@pytest.mark.parametrize(("text", "place"), PLACES, ids=[t for t, _ in PLACES])
def test_a_place_alone_is_no_person(redactor: PiiRedactor, text: str, place: str) -> None:
    result = redactor.redact(text)
    people = [text[e.start : e.end] for e in result.entities if e.type == "PERSON"]
    assert people == [] and place in result.redacted, result.redacted


@pytest.mark.parametrize(("text", "name"), NAMES, ids=[t for t, _ in NAMES])
def test_a_name_that_holds_a_place_is_still_redacted(
    redactor: PiiRedactor, text: str, name: str
) -> None:
    result = redactor.redact(text)
    people = [text[e.start : e.end] for e in result.entities if e.type == "PERSON"]
    assert name in people and name not in result.redacted, people


@pytest.fixture(scope="module")
def places() -> PlaceFilter:
    """The shipped place list under the shipped policy."""
    return PlaceFilter.from_policy_dir(POLICY_DIR, PiiPolicy.load(POLICY_DIR))


# (text, the span a recognizer called a person, whether it is only a place)
SPANS = [
    ("What's the capital of Peru?", "Peru", True),
    ("the exchange rate in Sao Paulo", "Sao Paulo", True),
    ("the exchange rate in São Paulo", "São Paulo", True),
    ("Peru\u2019s banks", "Peru\u2019s", True),
    ("Please add Peru Smith to my account", "Peru Smith", False),  # a place with a surname
    ("Ask Mr Peru about it", "Peru", False),  # a title
    ("my son Peru is 12", "Peru", False),  # a name cue
    ("thanks Peru!", "Peru", False),  # a strong cue
    ("add Peru as a payee", "Peru", False),  # a payee phrase after
    ("Peru's account is overdrawn", "Peru", False),  # a person's things
    ("Peru is my next trip", "Peru", True),  # "is my" follows places too
    ("What's the capital of Georgia?", "Georgia", True),  # a name, after a place word
    ("I moved to Jordan last year", "Jordan", True),
    ("I got a transfer from Jordan", "Jordan", False),  # a name, no place word
    ("Georgia called me about the loan", "Georgia", False),
    ("pay Jordan $20", "Jordan", False),
    ("Maria lives in Lima", "Maria", False),  # no place at all
    ("fees for sending money to Bosnia and Herzegovina", "Herzegovina", True),  # part of one
    ("can I use it in the District of Columbia?", "Columbia", True),
    # Names of person_names.txt are names wherever a bare "in" or "from" is all there is.
    ("The transfer from Milan is missing", "Milan", False),
    ("Is my card accepted in Santiago?", "Santiago", False),
    ("I moved to Santiago last year", "Santiago", True),
    ("What's the weather in Geneva?", "Geneva", True),
    ("Put the card in Chelsea's name", "Chelsea", False),
    ("Put the card in Chelsea\u2019s name", "Chelsea\u2019s", False),
    ("Is it in Peru's name?", "Peru", False),  # a person's things, whatever the place list
    ("The transfer from Montana is missing", "Montana", False),  # a person's cue
    ("The transfer from Vienna is missing", "Vienna", False),
    ("Can Chile use my card?", "Chile", False),
    ("Is London in the UK?", "London", False),  # policy not_names are names too
]


@pytest.mark.parametrize(("text", "span", "expected"), SPANS, ids=[t for t, _, _ in SPANS])
def test_only_a_place(places: PlaceFilter, text: str, span: str, expected: bool) -> None:
    start = text.index(span)
    assert places.only_a_place(text, start, start + len(span)) is expected


def test_place_keys_fold_case_accents_spaces_and_possessives() -> None:
    assert place_key("  São  Paulo's ") == place_key("sao paulo") == "sao paulo"
    assert place_key("PERU\u2019S") == "peru"


def test_a_missing_or_broken_place_list_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"place_names\.yaml"):
        PlaceNames.load(tmp_path)
    (tmp_path / "place_names.yaml").write_text("countries: peru\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="invalid"):
        PlaceNames.load(tmp_path)
