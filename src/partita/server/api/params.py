"""Query parameters shared by the list routes: a page (``limit``, ``offset``)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Query

MAX_PAGE = 1000


@dataclass(frozen=True)
class PageParams:
    """Which slice of a list: at most ``limit`` items after the first ``offset``."""

    limit: int
    offset: int


def page_params(
    limit: int = Query(100, ge=1, le=MAX_PAGE, description="Items per page."),
    offset: int = Query(0, ge=0, le=10_000_000, description="Items to skip."),
) -> PageParams:
    """The page a list request asks for (a FastAPI dependency)."""
    return PageParams(limit, offset)


__all__ = ["MAX_PAGE", "PageParams", "page_params"]
