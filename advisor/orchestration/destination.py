"""Where a surplus goes: high-yield savings, or the customer's brokerage account when the
next-best-action policy (advisor/decisions) permits investing for them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from advisor.decisions.nba import ALREADY_HELD, CAP_PER_ACTION, CAP_PER_WINDOW

if TYPE_CHECKING:
    from advisor.decisions.service import RecommendationService
    from advisor.settings import Settings

log = logging.getLogger(__name__)
INVESTMENT_ACTION = "investment_account"
# Withholding that does not speak against investing: the customer holds the account already,
# or was simply shown enough offers lately.
NOT_AGAINST = frozenset({ALREADY_HELD, CAP_PER_ACTION, CAP_PER_WINDOW})


class InvestmentGate(Protocol):
    """Whether the customer's profile and the next-best-action permit investing."""

    def allows(self, customer_id: str) -> bool:
        """True when investing is permitted for this customer."""


class NbaInvestmentGate:
    """Investing is permitted when the policy neither withholds it nor finds it ineligible."""

    def __init__(self, recommendations: RecommendationService) -> None:
        self.recommendations = recommendations

    @classmethod
    def from_settings(cls, settings: Settings) -> NbaInvestmentGate:
        """The gate on the settings' bank, registry and the shipped NBA policy."""
        from advisor.decisions.service import RecommendationService

        return cls(RecommendationService.from_settings(settings))

    def allows(self, customer_id: str) -> bool:
        """Assess (records nothing) and read the investment action's standing; False on error."""
        try:
            ranking = self.recommendations.assess(customer_id).ranking
        except Exception:  # no models, no view: savings, the safe destination
            log.warning("next-best-action unavailable for %s", customer_id, exc_info=True)
            return False
        if INVESTMENT_ACTION in ranking.ineligible:
            return False
        return set(ranking.withheld.get(INVESTMENT_ACTION, [])) <= NOT_AGAINST
