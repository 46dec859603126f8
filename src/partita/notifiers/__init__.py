"""Notifiers: callback objects that send Slack messages, emails and webhooks (see base.py)."""
