"""Where the recommendation service meets learning: choose the first suggestion among the
permitted actions (the bandit, when switched on) and log every served list as a suggestion."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from advisor.decisions.nba import Ranked, Ranking, rank
from advisor.decisions.policy import Policy
from advisor.learning.bandit import MODEL_NAME, BanditModel
from advisor.learning.chooser import Choice, Chooser
from advisor.learning.config import BanditConfig, shipped_config
from advisor.learning.features import context_of
from advisor.learning.suggestions import Served, SuggestionLog
from advisor.predict.registry import Registry

if TYPE_CHECKING:
    from advisor.decisions.service import Assessed
    from advisor.settings import Settings

log = logging.getLogger("advisor.learning")


def permitted(policy: Policy, assessed: Assessed) -> list[Ranked]:
    """Every action the policy permits for this customer now (rules, eligibility, caps), by
    score: the ranking without its list-size cut."""
    whole = dataclasses.replace(policy, list_size=len(policy.actions))
    return rank(whole, assessed.signals, assessed.propensities, assessed.served_before).served


def context(assessed: Assessed) -> dict[str, float]:
    """The bandit's context of an assessed customer."""
    found = {name: p.probability for name, p in assessed.propensities.items()}
    return context_of(assessed.signals, found)


def load_model(registry: Registry) -> BanditModel | None:
    """The promoted bandit, or None (none promoted, or a state that fails its checks)."""
    found = registry.promoted(MODEL_NAME)
    if found is None:
        return None
    try:
        return BanditModel.load(found)
    except Exception:  # digest, unpickling after a library upgrade, missing file: any of them
        log.warning("promoted bandit v%s cannot be loaded; the ranking decides", found.version,
                    exc_info=True)  # fmt: skip
        return None


def process_seed(base: int) -> int:
    """A seed of its own for this process (API, chat, each replica), drawn from the configured
    one, the process id and the time, so replicas do not explore in lockstep."""
    entropy = [base, os.getpid(), time.time_ns()]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


class Learning:
    """The chooser and the suggestion log the recommendation service uses."""

    def __init__(self, suggestions: SuggestionLog, chooser: Chooser) -> None:
        self.suggestions, self.chooser = suggestions, chooser

    @classmethod
    def from_settings(
        cls, settings: Settings, config: BanditConfig | None = None, seed: int | None = None
    ) -> Learning:
        """The log on the bank's database; the bandit only when `bandit_enabled` is set. The
        chooser's seed is `seed` when given (tests), else the config's mixed with this process."""
        config = config or shipped_config()
        on = settings.bandit_enabled
        model = load_model(Registry.from_settings(settings)) if on else None
        chosen_seed = process_seed(config.seed) if seed is None else seed
        chooser = Chooser(model, config.explore_share, chosen_seed, bandit=on)
        return cls(SuggestionLog(settings.resolved_database_url), chooser)

    def choose(self, assessed: Assessed, policy: Policy) -> tuple[Assessed, Choice | None]:
        """The assessment with the chosen action first in its served list (None: nothing
        permitted). The list keeps its length, so contact caps and list size still hold."""
        candidates = permitted(policy, assessed)
        served = assessed.ranking.served
        if not candidates or not served:
            return assessed, None
        choice = self.chooser.choose(context(assessed), [r.action.id for r in candidates])
        first = next(r for r in candidates if r.action.id == choice.chosen)
        rest = [r for r in served if r.action.id != choice.chosen][: len(served) - 1]
        ranking = Ranking([first, *rest], assessed.ranking.withheld, assessed.ranking.ineligible)
        return dataclasses.replace(assessed, ranking=ranking), choice

    def log(
        self, customer_id: str, channel: str, assessed: Assessed, choice: Choice, trace_id: str
    ) -> str | None:
        """Log the served list as one suggestion; a failing write never fails the request."""
        shown = [r.action.id for r in assessed.ranking.served]
        served = Served(customer_id, channel, choice, context(assessed), shown, trace_id)
        try:
            return self.suggestions.log(served)
        except SQLAlchemyError:
            log.exception("could not log the suggestion served to %s", customer_id)
            return None
