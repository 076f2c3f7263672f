"""Output rails: the guardrails-ai Guard, its local validators and the input/output policy."""
