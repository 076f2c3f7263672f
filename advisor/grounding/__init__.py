"""Grounding: pick the facts a question needs, draft from them, verify what the model wrote."""
