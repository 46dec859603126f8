"""Fixtures: real local HTTP and SMTP servers (tests/local_servers.py)."""

from local_servers import http_recorder, smtp_server

__all__ = ["http_recorder", "smtp_server"]
