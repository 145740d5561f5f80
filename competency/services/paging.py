"""Keyset pagination: a page starts after (or ends before) the last row seen, never at an OFFSET.

An OFFSET makes the database walk every earlier row, so page 200 of a 10,000-member list costs what
the whole list costs. A keyset page is read from the index at the cursor: the same cost on every page.
The cursor is the sort value and the row id of the boundary row (ids break ties), as an opaque token.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select, tuple_

from competency.extensions import db

T = TypeVar("T")

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass
class Page(Generic[T]):
    rows: list[T]
    total: int
    next_cursor: str | None  # rows after the last one shown
    prev_cursor: str | None  # rows before the first one shown
    first: bool  # this page starts the list


def encode(value: Any, ident: int) -> str:
    raw = json.dumps([value, ident], ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str | None) -> tuple[Any, int] | None:
    """The boundary a cursor names, or None for a missing or malformed cursor (the first page)."""
    if not token:
        return None
    try:
        value, ident = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(ident, int) or not isinstance(value, (str, int, float)):
        return None
    return value, ident


def keyset(
    stmt: Select,
    key: Any,
    ident: Any,
    boundary: Callable[[Any], tuple[Any, int]],
    *,
    after: str | None = None,
    before: str | None = None,
    descending: bool = False,
    size: int = PAGE_SIZE,
    total: int | None = None,
) -> Page:
    """One page of ``stmt`` ordered by (``key``, ``ident``); ``boundary(row)`` gives a row's (key, id).

    ``stmt`` carries the filters (authorisation, search); the total counts the whole filtered list,
    unless the caller knows it already (``total``, e.g. from summary rows): counting a list of a
    hundred thousand costs more than reading its page. A known total of 0 reads nothing.
    """
    size = max(1, min(size, MAX_PAGE_SIZE))
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    elif total == 0:
        return Page(rows=[], total=0, next_cursor=None, prev_cursor=None, first=True)
    start, end = decode(after), decode(before) if not after else None
    backwards = end is not None
    pair = tuple_(key, ident)
    if start is not None:
        stmt = stmt.where(pair < tuple_(*start) if descending else pair > tuple_(*start))
    if end is not None:
        stmt = stmt.where(pair > tuple_(*end) if descending else pair < tuple_(*end))
    # Reading backwards walks the index the other way, then the page is turned round.
    down = descending != backwards
    order = (key.desc(), ident.desc()) if down else (key.asc(), ident.asc())
    rows = list(db.session.execute(stmt.order_by(*order).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    has_prev = (more if backwards else start is not None) and bool(rows)
    has_next = (end is not None if backwards else more) and bool(rows)
    return Page(
        rows=rows,
        total=total,
        next_cursor=encode(*boundary(rows[-1])) if has_next else None,
        prev_cursor=encode(*boundary(rows[0])) if has_prev else None,
        first=start is None and not (backwards and more),
    )


def search_pattern(q: str | None) -> str | None:
    """A LIKE pattern for a free-text search, its own wildcards taken literally (escape ``\\``)."""
    q = (q or "").strip()[:80]
    if not q:
        return None
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
