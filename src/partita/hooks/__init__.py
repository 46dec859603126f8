"""Hooks: small clients of outside systems, built from a ``Connection``.

``BaseHook`` is the base; the HTTP, SQL and SMTP hooks build on it.
"""

from __future__ import annotations

from partita.hooks.base import BaseHook

__all__ = ["BaseHook"]
