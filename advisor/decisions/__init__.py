"""Decisions: traces of every score and recommendation, next-best-action and its explanations."""
