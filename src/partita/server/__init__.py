"""partita's web server: one FastAPI app serving the REST API (``api/``) behind authentication
(``auth/``); the pages (``ui/``) join it later.

The design decision: the app is built by ``create_app(storage, config)`` from a
store and a frozen ``ServerConfig``, with no globals, so tests build as many
apps as they like (on memory, SQLite or PostgreSQL) and ``partita webserver``
and ``partita dev`` build theirs the same way. FastAPI and its dependencies
are imported only by this package, never by ``import partita``.
"""
