"""Injection rails: text normalisation, heuristic rules as data and the classifier detector."""
