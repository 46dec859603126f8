"""What a web server is set up with: authentication on or off, limits, session lifetime.

The design decision: one frozen dataclass passed to ``create_app``, so every
limit a test or an operator may change is visible in one place and nothing
reads the environment while serving.
"""

from __future__ import annotations

from dataclasses import dataclass

from partita.settings import Settings

#: Request bodies larger than this are refused with 413.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
#: An output value larger than this (stored size) is not loaded for a preview.
DEFAULT_PREVIEW_LOAD_LIMIT = 8 * 1024 * 1024
#: Characters of an output's ``repr`` a preview shows.
DEFAULT_PREVIEW_CHARS = 4096
#: Bytes of a DAG file ``/source`` returns.
DEFAULT_SOURCE_LIMIT = 512 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """The web server's options; ``settings`` are partita's (home, database, import timeout)."""

    settings: Settings
    #: False only with ``--no-auth`` on a loopback address: every request is an admin.
    auth: bool = True
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: Hours a login session lasts.
    session_hours: float = 12.0
    #: Failed logins allowed per client address and username within ``login_window`` seconds.
    login_attempts: int = 5
    login_window: float = 60.0
    #: Seconds between two reads of a running task's log when following it.
    log_poll_interval: float = 0.5
    #: Lines one log page returns at most.
    max_log_lines: int = 10_000
    preview_load_limit: int = DEFAULT_PREVIEW_LOAD_LIMIT
    preview_chars: int = DEFAULT_PREVIEW_CHARS
    source_limit: int = DEFAULT_SOURCE_LIMIT
    #: Seconds the server keeps the secrets it masks before reading the store again (changes
    #: made through the server's own API and pages apply at once).
    secrets_refresh: float = 5.0


__all__ = ["ServerConfig"]
