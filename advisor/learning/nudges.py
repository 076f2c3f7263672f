"""Nudges as suggestions: a notification that proposes an action (surplus sweep, credit-limit
offer) is logged with the customer's context, so its confirmation, decline or expiry (the
action's status, advisor/learning/join.py) becomes an outcome of that suggestion.

A nudge is decided by rules, not chosen among candidates: it is logged with policy `rule`,
itself as the only candidate and probability 1."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from advisor.learning.chooser import Choice
from advisor.learning.config import BanditConfig, shipped_config
from advisor.learning.serving import context
from advisor.learning.suggestions import Served, SuggestionLog
from advisor.orchestration.sweep import INVESTING

if TYPE_CHECKING:
    from advisor.decisions.service import RecommendationService
    from advisor.settings import Settings

log = logging.getLogger("advisor.learning")
ContextOf = Callable[[str], Mapping[str, float]]


def nudge_arm(notification: Mapping[str, Any], arms: Mapping[str, str]) -> str | None:
    """The action a nudge suggests (config `nudge_arms`), None for other notifications."""
    kind = str(notification.get("kind"))
    if kind == "surplus_sweep":
        facts = {f.get("id"): f for f in notification.get("facts") or []}
        found = facts.get("sweep.destination", {})
        kind += ".investment" if found.get("derivation") == INVESTING else ".savings"
    return arms.get(kind)


class NudgeLogger:
    """A notification hook (NotificationService.hooks) that logs nudges as suggestions."""

    def __init__(
        self, suggestions: SuggestionLog, context_of: ContextOf, config: BanditConfig | None = None
    ) -> None:
        self.suggestions, self.context_of = suggestions, context_of
        self.config = config or shipped_config()

    def __call__(self, notification: Mapping[str, Any]) -> None:
        """Log the nudge when the notification proposes an action; never raises."""
        action = notification.get("action") or {}
        arm = nudge_arm(notification, self.config.nudge_arms)
        if arm is None or not action.get("id"):
            return
        customer = str(notification["customer_id"])
        try:
            context = self.context_of(customer)
        except Exception:  # no view or no models: the nudge is still logged, without context
            log.warning("no bandit context for %s's nudge", customer, exc_info=True)
            context = {}
        choice = Choice(arm, 1.0, (arm,), "rule", arm)
        served = Served(customer, "nudge", choice, context, [arm], None, str(action["id"]))
        try:
            self.suggestions.log(served)
        except Exception:
            log.exception("could not log the nudge %s as a suggestion", notification.get("id"))


class InBackground:
    """Runs a notification hook on its own thread: the workflow step that notified goes on at
    once (assessing the customer for the context takes a view and the models' scores)."""

    def __init__(self, hook: Callable[[Mapping[str, Any]], None]) -> None:
        self.hook = hook
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nudge-log")

    def __call__(self, notification: Mapping[str, Any]) -> None:
        """Queue the hook (it never raises, also after close: then the nudge goes unlogged)."""
        try:
            self.pool.submit(self.hook, dict(notification))
        except RuntimeError:
            log.warning("nudge logger stopped; notification %s not logged", notification.get("id"))

    def close(self) -> None:
        """Finish the queued hooks and stop the thread (the runtime's stop calls this)."""
        self.pool.shutdown(wait=True)


def nudge_logger(settings: Settings, recommendations: RecommendationService) -> InBackground:
    """The hook on the settings' bank; the context from the recommendation service's view."""
    suggestions = SuggestionLog(settings.resolved_database_url)
    logger = NudgeLogger(suggestions, lambda customer: context(recommendations.assess(customer)))
    return InBackground(logger)
