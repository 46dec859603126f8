"""``BaseHook``: the base of every hook, a client of one outside system made from a connection.

A hook names the connection it uses (``conn_id``), reads it when it needs it
with ``get_connection`` and turns it into a client (``get_conn``). Operators,
sensors and notifiers hold a hook instead of reading connections themselves::

    class WeatherHook(BaseHook):
        conn_name_attr = "weather_conn_id"
        default_conn_name = "weather_default"
        conn_type = "http"

        def __init__(self, weather_conn_id: str = default_conn_name) -> None:
            super().__init__()
            self.weather_conn_id = weather_conn_id

        def get_conn(self) -> httpx.Client:
            conn = self.get_connection(self.weather_conn_id)
            return httpx.Client(base_url=f"https://{conn.host}", auth=(conn.login, conn.password))

The design decision: a hook uses only the definitions layer (``Connection.get``:
the environment first, then the metadata store the engine provides), so the same
hook works in ``dag.test()``, in a local worker process and on a remote worker.
"""

from __future__ import annotations

from typing import Any, ClassVar

from partita.definitions.connection import Connection


class BaseHook:
    """A client of an outside system; subclasses implement ``get_conn``.

    Class attributes describe the hook (Airflow's names): ``conn_name_attr``
    is the attribute holding the connection id, ``default_conn_name`` its
    default, ``conn_type`` the connection type it expects, ``hook_name`` a
    label for people.
    """

    conn_name_attr: ClassVar[str] = "conn_id"
    default_conn_name: ClassVar[str] = "default_conn_id"
    conn_type: ClassVar[str] = ""
    hook_name: ClassVar[str] = ""

    def __init__(self, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}() got unexpected arguments: {', '.join(sorted(kwargs))}"
            )

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        """The connection ``conn_id`` (``ConnectionNotFoundError`` says how to define it)."""
        return Connection.get(conn_id)

    def get_conn(self) -> Any:
        """The client of the outside system (a session, an engine, a client object)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_conn()")

    def test_connection(self) -> tuple[bool, str]:
        """Check that the system is reachable: ``(ok, message)``. Hooks override it."""
        return False, f"{type(self).__name__} cannot test its connection"


__all__ = ["BaseHook"]
