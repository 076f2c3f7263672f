"""Claims, verification and the stream gate, table-driven."""

from __future__ import annotations

import datetime as dt

import pytest

from advisor.grounding.claims import find_claims
from advisor.grounding.gate import StreamGate, Ungrounded
from advisor.grounding.verify import Verifier
from portfolio_context.facts import Fact

FACTS = [
    Fact.number("balance.checking", "checking balance", 4200, "USD", "sum of balances"),
    Fact.number(
        "spending.groceries.monthly_avg",
        "average monthly spending on groceries",
        555.9,
        "USD",
        "averaged over the 12 months 2025-11 to 2026-10",
    ),
    Fact.number("debt.dti", "debt-to-income ratio", 48.3, "percent", "payments / income"),
    Fact.number("cash.free_after_bills", "free cash", -2706.07, "USD", "balance - bills"),
    Fact.date("bills.rent.due", "rent due date", dt.date(2026, 12, 1), "next due date"),
]
VERIFIER = Verifier(FACTS, ["How much did I spend?"], dt.date(2026, 11, 28))


@pytest.mark.parametrize(
    ("text", "grounded"),
    [
        ("Your balance is $4,200.", True),
        ("Your balance is 4200.00 dollars.", True),
        ("Your balance is $4.2k.", True),
        ("Your balance is USD 4200", True),
        ("Your balance is $4,201.", False),
        ("System override: 4,200.00.", False),
        ("Your DTI is 48.3 today.", False),
        ("Your balance is $42,000.", False),
        ("You spend $555.90 a month.", True),
        ("You spend about $556 a month.", True),
        ("You spend about $560 a month.", False),
        ("Your DTI is 48.3%.", True),
        ("Your DTI is 48%.", True),
        ("Your DTI is 48.3 percent.", True),
        ("Your DTI is 43.8%.", False),
        ("You are $2,706.07 short.", False),
        ("You can spend $2,706.07 freely.", False),
        ("You have -$2,706.07 free.", True),
        ("Rent is due December 1, 2026.", True),
        ("Rent is due Dec 1.", True),
        ("Rent is due on 2026-12-01.", True),
        ("Rent is due 12/01/2026.", True),
        ("Rent is due December 2, 2026.", False),
        ("That was in October 2026.", True),
        ("That was in March 2024.", False),
        ("Over the last 12 months.", True),
        ("Over the last 18 months.", False),
        ("No numbers at all.", True),
    ],
)
def test_verifier(text: str, grounded: bool) -> None:
    assert (VERIFIER.ungrounded(text) == []) is grounded, [
        c.text for c in VERIFIER.ungrounded(text)
    ]


def test_claims_are_found_in_order_with_dates_first() -> None:
    claims = find_claims("On December 1, 2026 pay $1,017.37 (48.3%).")
    assert [c.kind for c in claims] == ["date", "number", "number"]
    assert claims[1].value is not None and float(claims[1].value) == 1017.37


def test_states_checks_one_fact() -> None:
    assert VERIFIER.states("It is $4,200.00", FACTS[0])
    assert not VERIFIER.states("It is $555.90", FACTS[0])


def run_gate(deltas: list[str], hold: str = "number") -> list[str]:
    """Feed deltas; return what each call released (or the error)."""
    gate, out = StreamGate(VERIFIER, hold), []  # type: ignore[arg-type]
    try:
        out += [gate.feed(d) for d in deltas]
        out.append(gate.finish())
    except Ungrounded as exc:
        out.append(f"!{exc.claim.text.strip()}")
    return out


def test_gate_releases_words_at_once_and_holds_numbers() -> None:
    out = run_gate(["Your", " balance", " is", " $", "4", ",", "200", ".", " Done"])
    assert out[:3] == ["", "Your balance", " is"]
    assert "".join(out) == "Your balance is $4,200. Done"
    assert out[3:7] == [" ", "", "", ""]


def test_gate_drops_a_copied_label() -> None:
    assert "".join(run_gate(["Draft", ":", " Your", " balance", " is", " $4,200."])) == (
        "Your balance is $4,200."
    )


def test_gate_refuses_facts_out_of_the_drafts_order() -> None:
    verifier = Verifier(FACTS, [], draft="Free cash is -$2,706.07 after bills, balance $4,200.00.")
    gate = StreamGate(verifier)
    with pytest.raises(Ungrounded, match="out of order"):
        gate.feed("You have $4,200.00 free, and -$2,706.07 is your balance. ")


def test_gate_stops_before_a_wrong_number_is_shown() -> None:
    out = run_gate(["Your", " balance", " is", " $", "9", ",", "999", " today"])
    assert out[-1] == "!$9,999"
    assert "9" not in "".join(out[:-1])


def test_gate_holds_a_date_split_across_tokens() -> None:
    out = run_gate(["Due", " Dec", "ember", " 2", ",", " 2026", "."])
    assert out[-1].startswith("!December 2")
    assert "Dec" not in "".join(out[:-1])


def test_sentence_gate_releases_whole_sentences() -> None:
    out = run_gate(
        ["You", " spend", " $555.90", ".", " Your", " DTI", " is", " 48.3%", "."], hold="sentence"
    )
    assert [p for p in out if p] == ["You spend $555.90.", " Your DTI is 48.3%."]
