"""A held-out PII set of the research kind, with people from another source than our gazetteer.

presidio-research's sentences come from presidio-evaluator's templates; our first-name list
comes from Faker. This script fills the same templates with the 3,000 FakeNameGenerator people
shipped inside the presidio-evaluator wheel (MIT), and everything else from Faker, and writes
them in the research format (`full_text`, `spans`), a fifth of them lower-cased as upstream.
The wheel is fetched with `pip download` (a package registry) into `var/pii_heldout/`; nothing
of it is committed. `bench_pii.py --heldout var/pii_heldout/set.json` scores it.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from faker import Faker

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "var" / "pii_heldout"
WHEEL = "presidio-evaluator==0.3.2"
RAW = "presidio_evaluator/data_generator/raw_data/"
LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "nl_NL", "pl_PL", "cs_CZ"]
LOWER_SHARE = 0.2
FULL_NAME = {"person", "name", "name_male", "name_female"}
FAKER_FIELDS = {
    "credit_card_number": "credit_card_number", "phone_number": "phone_number",
    "email": "email", "iban": "iban", "ssn": "ssn", "ip_address": "ipv4", "city": "city",
    "country": "country", "organization": "company", "postcode": "postcode",
    "zipcode": "postcode", "job": "job", "date_time": "date", "date_of_birth": "date",
    "url": "url", "day_of_week": "day_of_week", "year": "year", "state_abbr": "state_abbr",
    "secondary_address": "secondary_address", "prefix_male": "prefix_male",
    "prefix_female": "prefix_female", "prefix": "prefix", "nationality": "country",
    "nation_woman": "country", "nation_plural": "country", "address": "address",
    "street_name": "street_name", "building_number": "building_number",
}  # fmt: skip
SCORED = {"address": "ADDRESS", "credit_card_number": "CREDIT_CARD", "ssn": "US_SSN",
          "phone_number": "PHONE_NUMBER", "email": "EMAIL_ADDRESS", "ip_address": "IP_ADDRESS",
          "us_driver_license": "US_DRIVER_LICENSE"}  # fmt: skip


def raw_data() -> tuple[list[str], list[dict[str, str]]]:
    """The templates and the FakeNameGenerator people, from the downloaded wheel."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    wheels = list(FOLDER.glob("presidio_evaluator-*.whl"))
    if not wheels:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d", str(FOLDER)]
        subprocess.run(pip, check=True)
        wheels = list(FOLDER.glob("presidio_evaluator-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        lines = wheel.read(RAW + "templates.txt").decode("utf-8", "replace").splitlines()
        people = wheel.read(RAW + "FakeNameGenerator.com_3000.csv").decode("utf-8-sig")
    templates = [t.strip().replace("\\n", "\n").replace('\\"', '"') for t in lines if t.strip()]
    return templates, list(csv.DictReader(people.splitlines()))


def value(key: str, person: dict[str, str], fake: Faker, rng: random.Random) -> str:
    """The text a template placeholder is filled with."""
    if key in FULL_NAME:
        return f"{person['GivenName']} {person['Surname']}"
    if key.startswith(("first_name", "last_name")):
        return person["GivenName" if key.startswith("first") else "Surname"]
    if key == "age":
        return str(rng.randint(18, 90))
    if key == "us_driver_license":
        return fake.bothify("?#######").upper()
    provider = getattr(fake, FAKER_FIELDS.get(key, key), None)
    return str(provider()) if provider is not None else key


def sample(template: str, people: list[dict[str, str]], rng: random.Random) -> dict[str, Any]:
    """One filled template with its labelled spans."""
    fake, lower = Faker(rng.choice(LOCALES)), rng.random() < LOWER_SHARE
    fake.seed_instance(rng.randrange(10**9))
    text, spans, pos = "", [], 0
    for slot in re.finditer(r"{{(\w+)}}", template):
        text += template[pos : slot.start()]
        key = slot.group(1)
        filled = value(key, rng.choice(people), fake, rng)
        filled = filled.lower() if lower else filled
        kind = "PERSON" if key in FULL_NAME or key.startswith(("first_", "last_")) else None
        kind = kind or SCORED.get(key, key.upper())
        end = len(text) + len(filled)
        spans.append(
            {"entity_type": kind, "entity_value": filled, "start_position": len(text),
             "end_position": end}
        )  # fmt: skip
        text, pos = text + filled, slot.end()
    text += template[pos:]
    return {"full_text": text.lower() if lower else text, "spans": spans}


def main() -> None:
    """Write the held-out set."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--out", type=Path, default=FOLDER / "set.json")
    args = parser.parse_args()
    templates, people = raw_data()
    rng = random.Random(args.seed)
    samples = [sample(rng.choice(templates), people, rng) for _ in range(args.size)]
    args.out.write_text(json.dumps(samples, ensure_ascii=False), encoding="utf-8")
    print(f"{len(samples)} samples -> {args.out}")


if __name__ == "__main__":
    main()
