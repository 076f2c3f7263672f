"""Offline evaluation of suggestion policies: off-policy estimators and the bandit simulator.

Evaluation code: no runtime module imports it."""
