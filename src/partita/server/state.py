"""What every request of one app shares: the store, the config, the login limiter, the masker.

The design decision: it hangs on ``app.state.partita`` and routes reach it
through the ``server_state`` dependency, so two apps in one process (tests)
never share anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from partita.server.auth.ratelimit import LoginLimiter
from partita.server.config import ServerConfig
from partita.server.secrets_view import ServerSecrets
from partita.storage.base import Storage
from partita.wakeups import wake_schedulers


@dataclass(frozen=True)
class ServerState:
    """The store the app serves, its config, and its login limiter."""

    storage: Storage
    config: ServerConfig
    limiter: LoginLimiter
    #: The secrets this server masks in what it shows (``secrets_view``).
    secrets: ServerSecrets = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "secrets", ServerSecrets(self.storage, self.config.secrets_refresh)
        )

    def wake_schedulers(self) -> None:
        """After a run was queued or put back in the queue: the schedulers start it now."""
        wake_schedulers(self.config.settings.home)


def server_state(request: Request) -> ServerState:
    """The state of the app answering ``request`` (a FastAPI dependency)."""
    state: ServerState = request.app.state.partita
    return state


__all__ = ["ServerState", "server_state"]
