"""Training code (never imported by the runtime modules)."""
