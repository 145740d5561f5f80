"""Reading a large result row batch by row batch from a server-side cursor, planned for all its rows."""

from __future__ import annotations

from sqlalchemy import Result, Select, text

from competency.extensions import db


def stream(stmt: Select, batch: int = 1000) -> Result:
    """``stmt``'s rows through a server-side cursor (``yield_per``): constant memory however many.

    PostgreSQL plans a cursor for its first tenth of rows by default (cursor_tuple_fraction), which
    favours nested loops that cost quadratic time when every row is read; an export reads them all.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    return db.session.execute(stmt.execution_options(yield_per=batch))
