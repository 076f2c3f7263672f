"""PII rails: recognizers, name finders, the redactor and the per-session pseudonym vault."""
