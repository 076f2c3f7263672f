"""Intent routing: the taxonomy, slot extraction and the trained router (run time)."""
