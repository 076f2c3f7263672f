"""Conversational trusted-advisor service for retail banking."""

__version__ = "0.1.0"
