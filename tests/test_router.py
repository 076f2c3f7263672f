"""The router's data: taxonomy, CLINC mapping, slot rules, and training that refuses bad data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from advisor.routing.router import load_overrides
from advisor.routing.slots import SlotExtractor
from advisor.routing.taxonomy import TaxonomyError, load_taxonomy, shipped_taxonomy
from advisor.settings import Settings
from advisor.training.router_data import BANKING77, CLINC, TrainingDataError, clinc_map
from advisor.training.router_train import train_router

INTENTS = Settings().shared_data_dir / "intents"
TOPICS = Path(__file__).resolve().parents[1] / "advisor" / "grounding" / "topics.yaml"
needs_data = pytest.mark.skipif(not INTENTS.is_dir(), reason="shared intent data not present")


@needs_data
def test_taxonomy_names_the_77_banking77_intents_exactly() -> None:
    names = json.loads((INTENTS / "banking77_categories.json").read_text())
    taxonomy = shipped_taxonomy()
    assert sorted(taxonomy.ids("banking77")) == sorted(names) and len(names) == 77
    assert {taxonomy[n].family for n in names} == {"servicing"}


def test_taxonomy_advisory_intents_use_the_topic_ids() -> None:
    import yaml

    topics = {t["id"] for t in yaml.safe_load(TOPICS.read_text())["topics"]} - {"handoff"}
    facts = {i.id for i in shipped_taxonomy().intents.values() if i.handler == "facts"}
    assert topics <= facts
    for intent in ("regulation_question", "product_question", "pasted_text", "out_of_scope",
                   "handoff", "complaint", "greeting", "thanks", "move_money"):  # fmt: skip
        assert intent in shipped_taxonomy().intents


BAD_TAXONOMIES = [
    ("intents: [{id: a, family: nope, handler: facts}]", "unknown family"),
    ("intents: [{id: a, family: own_money, handler: nope}]", "unknown handler"),
    (
        "intents: [{id: a, family: own_money, handler: facts}, "
        "{id: a, family: own_money, handler: facts}]",
        "listed twice",
    ),
    ("intents: [{id: a, family: own_money}]", "string id, family and handler"),
    ("intents: [{id: a, family: own_money, handler: facts}]", "'out_of_scope' intent is missing"),
    ("intents: {a: 1}", "list of `intents`"),
    ("intents: [", "cannot read"),
]


@pytest.mark.parametrize(("body", "message"), BAD_TAXONOMIES)
def test_bad_taxonomy_is_a_clear_error(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text("families: {own_money: x}\nhandlers: [facts]\n" + body)
    with pytest.raises(TaxonomyError, match=message):
        load_taxonomy(path)


def test_clinc_map_and_overrides_name_known_intents() -> None:
    mapping = clinc_map(shipped_taxonomy())
    assert len(mapping) == 31 and mapping["oos"] == "out_of_scope"
    assert {o.intent for o in load_overrides(shipped_taxonomy())} == {"handoff", "pasted_text"}


SLOTS = [
    ("transfer 500 to savings on November 28, 2026",
     [("amount", "500", "500.00"), ("account", "savings", "savings"),
      ("date", "November 28, 2026", "2026-11-28")]),
    ("pay $1,250.50 to my Clear Rate Visa by 12/05",
     [("amount", "$1,250.50", "1250.50"), ("product", "Clear Rate Visa", "balance_transfer_card"),
      ("account", "Visa", "credit_card"), ("date", "12/05", "--12-05")]),
    ("what did I spend at trader joes in october",
     [("category", "trader joe", "Groceries"), ("merchant", "trader joes", "TRADER JOE'S"),
      ("month", "october", "10")]),
    ("how much did I spend on dining last month",
     [("category", "dining", "Dining"), ("month", "last month", "last_month")]),
    ("may I raise my limit by $2k", [("amount", "$2k", "2000.00")]),
    ("what is the APR on my card", [("account", "card", "credit_card")]),
    ("I was charged 20 dollars at STARBUCKS yesterday",
     [("amount", "20 dollars", "20.00"), ("merchant", "STARBUCKS", "STARBUCKS"),
      ("date", "yesterday", "yesterday")]),
    ("my card has a 3% fee for 30 days", [("account", "card", "credit_card")]),
    ("hello", []),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SLOTS)
def test_slots(text: str, expected: list[tuple[str, str, str]]) -> None:
    found = SlotExtractor.load().extract(text)
    assert [(e.type, e.text, e.value) for e in found] == expected
    assert all(text[e.start : e.end] == e.text for e in found)


def _data_dir(tmp_path: Path, b77: str | None = None, clinc: str | None = None) -> Path:
    """A copy of the shared intent data with one file replaced."""
    data = tmp_path / "data"
    data.mkdir()
    for name, body in ((BANKING77, b77), (CLINC, clinc)):
        if body is None:
            shutil.copy(INTENTS / name, data / name)
        else:
            (data / name).write_text(body)
    return data


CLINC_ROWS = {"train": [["hi", "balance"]], "val": [["x", "balance"]], "oos_train": [["q", "oos"]]}
BAD_DATA = [
    ({"b77": ""}, "expected `text,category`|no training rows"),
    ({"b77": "text,category\n"}, "no training rows"),
    ({"b77": "text,category\nhello,not_an_intent\n"}, "not_an_intent"),
    ({"b77": "just one column\nfoo\n"}, "expected `text,category`"),
    ({"clinc": "{not json"}, "cannot read"),
    ({"clinc": json.dumps(CLINC_ROWS)}, "expected train, val, oos_train, oos_val"),
    ({"clinc": json.dumps({**CLINC_ROWS, "oos_val": [], "val": [["x", "bogus"]]})}, "not mapped"),
    ({"clinc": json.dumps({**CLINC_ROWS, "oos_val": [], "val": [["x"]]})}, r"expected \[text"),
]


@needs_data
@pytest.mark.parametrize(("files", "message"), BAD_DATA)
def test_bad_training_data_keeps_the_previous_model(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "router.npz").write_bytes(b"previous model")
    with pytest.raises(TrainingDataError, match=message):
        train_router(Settings(var_dir=tmp_path), _data_dir(tmp_path, **files), out)
    assert sorted(p.name for p in out.iterdir()) == ["router.npz"]
    assert (out / "router.npz").read_bytes() == b"previous model"


def test_missing_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="cannot read"):
        train_router(Settings(var_dir=tmp_path), tmp_path / "nowhere", tmp_path / "model")
    assert not (tmp_path / "model").exists()
