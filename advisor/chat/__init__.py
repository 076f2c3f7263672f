"""Chat orchestration: validate, select facts, phrase with the model, verify, stream, store."""
