"""Guardrails: PII redaction, injection defence and compliance rails on every chat turn."""
