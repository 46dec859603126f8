"""What every request of one app shares: the store, the config and the login limiter.

The design decision: it hangs on ``app.state.partita`` and routes reach it
through the ``server_state`` dependency, so two apps in one process (tests)
never share anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from partita.server.auth.ratelimit import LoginLimiter
from partita.server.config import ServerConfig
from partita.storage.base import Storage
from partita.wakeups import wake_schedulers


@dataclass(frozen=True)
class ServerState:
    """The store the app serves, its config, and its login limiter."""

    storage: Storage
    config: ServerConfig
    limiter: LoginLimiter

    def wake_schedulers(self) -> None:
        """After a run was queued or put back in the queue: the schedulers start it now."""
        wake_schedulers(self.config.settings.home)


def server_state(request: Request) -> ServerState:
    """The state of the app answering ``request`` (a FastAPI dependency)."""
    state: ServerState = request.app.state.partita
    return state


__all__ = ["ServerState", "server_state"]
