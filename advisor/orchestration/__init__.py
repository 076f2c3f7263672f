"""Moment-of-need orchestration: events, durable workflows, audit, webhooks."""
