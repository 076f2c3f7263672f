"""Load test (issue 17): Locust against `/v1/chat`, see run.py."""
