"""``partita rotate-fernet-key``: re-encrypt every connection and variable with the newest key.

With ``PARTITA_FERNET_KEY`` the keys are the user's: put the new key first
(``PARTITA_FERNET_KEY=NEW,OLD``), run this, then drop ``OLD`` once every
process has the new list. With the key file of a single SQLite machine
(``$PARTITA_HOME/fernet.key``), this command makes the new key itself and
writes it first in the file, keeping the old ones for reading.

The design decision: rotation is ``MultiFernet.rotate`` on every stored
token, one transaction per table, so a token the keys cannot open stops the
command with the name of the connection or variable and changes nothing in
that table.
"""

from __future__ import annotations

import click

from partita.cli.store import metadata_store
from partita.settings import FERNET_KEY_VARIABLE, load_settings
from partita.storage.fernet import key_file, prepend_file_key, split_keys
from partita.storage.signing import is_sqlite_url


@click.command("rotate-fernet-key")
def rotate_fernet_key() -> None:
    """Re-encrypt connections and variables with the first Fernet key (old keys stay readable)."""
    settings = load_settings()
    if settings.fernet_key is None and is_sqlite_url(settings.database_url):
        path = key_file(settings)
        keys = prepend_file_key(path)
        click.echo(f"Added a new Fernet key to {path} ({len(keys)} keys, the new one first).")
    with metadata_store(settings) as storage:
        connections = storage.connections.reencrypt()
        variables = storage.variables.reencrypt()
    click.echo(f"Re-encrypted {connections} connection(s) and {variables} variable(s).")
    env_keys = settings.fernet_key
    if env_keys is not None and len(split_keys(env_keys.get_secret_value())) == 1:
        click.echo(
            f"Note: {FERNET_KEY_VARIABLE} holds one key, so nothing changed key; to rotate, "
            f"set {FERNET_KEY_VARIABLE}=NEW_KEY,OLD_KEY and run this again.",
            err=True,
        )


__all__ = ["rotate_fernet_key"]
