"""Who may use the web server: accounts (argon2 passwords, API tokens), login sessions with
CSRF tokens, rate-limited logins, and the role each route needs.

The design decision: authentication is on by default and enforced by a
FastAPI dependency on every route (``require(Role.X)``), never by what a page
shows; ``--no-auth`` exists only on a loopback address.
"""
