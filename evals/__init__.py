"""Evaluation: labelled retrieval questions, and (issue 5) golden conversations."""
