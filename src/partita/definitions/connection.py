"""``Connection``: how to reach an outside system (host, login, password, extras), by id.

Task code gets one with ``Connection.get("my_db")`` (or
``BaseHook.get_connection``); the CLI stores them (``partita connections
add``) and the environment overrides them (``PARTITA_CONN_MY_DB`` holding a
URI or JSON). The URI form is Airflow's:
``type://login:password@host:port/schema?key=value``, every part
percent-encoded, the query string becoming the extras (or
``?__extra__=<JSON>`` for extras that are not flat strings), ``-`` in the type
read as ``_``, and a host carrying its own protocol written as
``http://https://hooks.example.com/x``.

The design decision: a ``Connection`` is plain data; parsing refuses a
malformed URI with a message naming the part that is wrong (never a
half-read connection), and ``repr`` never shows the password. Reading one
registers its password and secret extras with the process's masker.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from partita.definitions.ids import check_id_length
from partita.definitions.secrets import SECRETS, connection_env_name, env_connection_text
from partita.exceptions import ConnectionNotFoundError, ConnectionURIError
from partita.masking import MASK, MASKER, SecretMasker, is_sensitive_name

#: The query key that carries extras as one JSON document (Airflow's).
EXTRA_KEY = "__extra__"
#: Types written differently in URIs; the left one is what a connection stores.
_TYPE_ALIASES = {"postgresql": "postgres"}
_FIELDS = ("conn_type", "host", "login", "password", "schema", "port", "extra", "description")


@dataclass(eq=True, repr=False)
class Connection:
    """A connection to an outside system.

    ``extra`` is a JSON object as text (``extra_dejson`` parses it); ``port``
    an int. Every field but ``conn_id`` may be None.
    """

    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    port: int | None = None
    extra: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if not self.conn_id or not isinstance(self.conn_id, str):
            raise ConnectionURIError("a connection needs a conn_id (a non-empty string)")
        check_id_length(self.conn_id, f"connection id {self.conn_id[:40]!r}", "use a shorter id")
        if self.conn_type is not None:
            check_id_length(self.conn_type, "connection type", "use a shorter type")
        if isinstance(self.extra, dict):  # accept a dict, keep the text form
            self.extra = json.dumps(self.extra)
        if self.port is not None:
            self.port = _port(str(self.port), self.conn_id)
        if self.extra is not None:
            _extra_object(self.extra, f"connection {self.conn_id!r}: extra")

    # -- reading -----------------------------------------------------------------------
    @classmethod
    def get(cls, conn_id: str) -> Connection:
        """The connection ``conn_id``: ``PARTITA_CONN_<ID>`` if set, else the metadata store.

        Raises ``ConnectionNotFoundError`` saying how to define it.
        """
        text = env_connection_text(conn_id)
        if text is not None:
            where = f"environment variable {connection_env_name(conn_id)}"
            connection = cls.from_text(conn_id, text, where)
        else:
            found = SECRETS.get().get_connection(conn_id)
            if found is None:
                raise ConnectionNotFoundError(
                    f"connection {conn_id!r} is not defined; add it with `partita connections "
                    f"add {conn_id} --uri ...` or set {connection_env_name(conn_id)}"
                )
            connection = found
        connection.register_secrets()
        return connection

    def register_secrets(self, masker: SecretMasker = MASKER) -> None:
        """Mask this connection's password and secret extras from now on, in this process
        (or with ``masker``)."""
        if self.password:
            masker.add(self.password)
        if self.extra:
            masker.add(self.extra_dejson)

    @property
    def extra_dejson(self) -> dict[str, Any]:
        """The extras as a dict (empty when there are none)."""
        if not self.extra:
            return {}
        return _extra_object(self.extra, f"connection {self.conn_id!r}: extra")

    # -- URIs and JSON -------------------------------------------------------------------
    @classmethod
    def from_uri(cls, conn_id: str, uri: str, description: str | None = None) -> Connection:
        """Parse an Airflow-style URI; ``ConnectionURIError`` names the part that is wrong."""
        return cls(conn_id, description=description, **parse_uri(uri, conn_id))

    @classmethod
    def from_json(cls, conn_id: str, text: str) -> Connection:
        """Parse the JSON form: ``{"conn_type": ..., "host": ..., "extra": {...}}``."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConnectionURIError(
                f"connection {conn_id!r}: the JSON is not valid ({exc}); fix it, or give a URI"
            ) from None
        if not isinstance(data, dict):
            raise ConnectionURIError(
                f"connection {conn_id!r}: the JSON must be an object such as "
                f'{{"conn_type": "http", "host": "example.com"}}, not {type(data).__name__}'
            )
        data.pop("conn_id", None)
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ConnectionURIError(
                f"connection {conn_id!r}: unknown key(s) {', '.join(map(repr, unknown))} in the "
                f"JSON; the keys are {', '.join(_FIELDS)}"
            )
        if isinstance(data.get("extra"), dict):
            data["extra"] = json.dumps(data["extra"])
        return cls(conn_id, **data)

    @classmethod
    def from_text(cls, conn_id: str, text: str, where: str) -> Connection:
        """A URI or (starting with ``{``) JSON, from ``where`` (named in errors)."""
        try:
            if text.lstrip().startswith("{"):
                return cls.from_json(conn_id, text)
            return cls.from_uri(conn_id, text.strip())
        except ConnectionURIError as exc:
            raise ConnectionURIError(f"{where}: {exc}") from None

    def get_uri(self) -> str:
        """This connection as a URI that ``from_uri`` reads back to the same fields."""
        uri = f"{(self.conn_type or '').lower().replace('_', '-')}://"
        host = self.host or ""
        if "://" in host:
            protocol, host = host.split("://", 1)
            uri += f"{protocol}://"
        authority = ""
        if self.login is not None:
            authority += quote(self.login, safe="")
        if self.password is not None:
            authority += ":" + quote(self.password, safe="")
        if authority:
            uri += authority + "@"
        uri += quote(host, safe="")
        if self.port is not None:
            uri += f":{self.port}"
        if self.schema:
            uri += f"/{quote(self.schema, safe='')}"
        if self.extra:
            uri += ("?" if self.schema else "/?") + _extra_query(self.extra_dejson, self.extra)
        return uri

    def to_dict(self, *, reveal: bool = False) -> dict[str, Any]:
        """The fields as a dict; the password and secret extras ``***`` unless ``reveal``."""
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["extra"] = self.extra_dejson
        if not reveal:
            if data["password"]:
                data["password"] = MASK
            data["extra"] = redact_extra(data["extra"])
        return data

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={MASK if name == 'password' and value else value!r}"
            for name, value in ((f.name, getattr(self, f.name)) for f in fields(self))
            if value is not None
        )
        return f"Connection({shown})"


def redact_extra(extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` with the values of secret keys (``token``, ``api_key``...) as ``***``."""
    return {
        key: (
            MASK
            if is_sensitive_name(key) and value not in (None, "")
            else redact_extra(value)
            if isinstance(value, dict)
            else value
        )
        for key, value in extra.items()
    }


def parse_uri(uri: str, conn_id: str) -> dict[str, Any]:
    """The fields of an Airflow-style connection URI; ``ConnectionURIError`` names what is wrong."""
    where = f"connection {conn_id!r}: URI"
    scheme, sep, rest = uri.partition("://")
    if not sep or not scheme:
        raise ConnectionURIError(
            f"{where} {_safe(uri)!r} has no connection type: it must start with TYPE:// "
            "(for example http://host or postgres://user:pass@host:5432/db)"
        )
    if not all(c.isalnum() or c in "+-._" for c in scheme):
        raise ConnectionURIError(
            f"{where}: the connection type {scheme!r} may hold only letters, digits, '+', '-', "
            "'.' and '_'"
        )
    if uri.count("://") > 2:
        raise ConnectionURIError(
            f"{where} {_safe(uri)!r} has '://' more than twice; only TYPE://PROTOCOL://host... "
            "may hold two (percent-encode any other '://' as %3A%2F%2F)"
        )
    conn_type = scheme.lower().replace("-", "_")
    protocol = None
    if "://" in rest:
        protocol, _, rest = rest.partition("://")
        if "@" in protocol or ":" in protocol or "/" in protocol:
            raise ConnectionURIError(
                f"{where}: {_safe(uri)!r} has a second '://' in the wrong place: a host with "
                "its own protocol is written TYPE://PROTOCOL://login:password@host/path "
                "(percent-encode any other '://')"
            )
    try:
        parts = urlsplit("//" + rest)
    except ValueError as exc:  # an unbalanced IPv6 bracket
        raise ConnectionURIError(
            f"{where}: the host is not valid ({exc}); an IPv6 host is written [::1], with "
            "both brackets"
        ) from None
    login, password, host, port = _netloc(parts.netloc, where)
    if protocol:
        host = f"{protocol}://{host}"
    schema = unquote(parts.path[1:]) if parts.path[1:] else None
    return {
        "conn_type": _TYPE_ALIASES.get(conn_type, conn_type),
        "host": host or None,
        "login": login,
        "password": password,
        "schema": schema,
        "port": _port(port, conn_id) if port else None,
        "extra": _query_extra(parts.query, where),
    }


def _netloc(netloc: str, where: str) -> tuple[str | None, str | None, str, str | None]:
    """``login, password, host, port`` of ``[login[:password]@]host[:port]``, decoded."""
    login = password = None
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        user, colon, secret = userinfo.partition(":")
        login = unquote(user) or None
        password = unquote(secret) if colon else None
    if hostport.startswith("["):  # an IPv6 address (urlsplit checked the brackets)
        end = hostport.find("]")
        host, port = hostport[: end + 1], hostport[end + 1 :].lstrip(":") or None
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
    if "@" in host or "@" in (port or ""):
        raise ConnectionURIError(
            f"{where}: the host part holds '@'; percent-encode '@' in logins and passwords as %40"
        )
    return login, password, unquote(host), port


def _port(text: str, conn_id: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConnectionURIError(
            f"connection {conn_id!r}: the port {text!r} is not a number from 0 to 65535; "
            "fix the port (or percent-encode a ':' in the host as %3A)"
        )
    return port


def _query_extra(query: str, where: str) -> str | None:
    if not query:
        return None
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ConnectionURIError(
            f"{where}: the query string {_safe(query)!r} is not key=value pairs joined by '&'"
        ) from None
    items = dict(pairs)
    if EXTRA_KEY in items:
        if len(items) > 1:
            raise ConnectionURIError(
                f"{where}: the query string has {EXTRA_KEY} and other keys; put every extra "
                f"in the {EXTRA_KEY} JSON"
            )
        _extra_object(items[EXTRA_KEY], f"{where}: {EXTRA_KEY}")
        return items[EXTRA_KEY]
    return json.dumps(items)


def _extra_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConnectionURIError(f"{where} is not valid JSON ({exc}); give a JSON object") from None
    if not isinstance(value, dict):
        raise ConnectionURIError(
            f'{where} must be a JSON object such as {{"timeout": 10}}, not {type(value).__name__}'
        )
    return value


def _extra_query(extra: dict[str, Any], text: str) -> str:
    """The extras as a query string: flat ``k=v`` when all are strings, else ``__extra__``."""
    if all(isinstance(v, str) for v in extra.values()):
        return urlencode(extra)
    return urlencode({EXTRA_KEY: text})


def _safe(text: str) -> str:
    """``text`` fit for an error message: any password in it, and registered secrets, masked."""
    return MASKER.mask(_USERINFO_PASSWORD.sub(rf"\1\2:{MASK}@", text))


#: ``login:password@`` at the start of a URI's authority (or of the text).
_USERINFO_PASSWORD = re.compile(r"(^|//)([^/@:]*):[^@]*@")


__all__ = ["EXTRA_KEY", "Connection", "parse_uri", "redact_extra"]
