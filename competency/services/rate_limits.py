"""Fixed-window counters in the database, counted in one statement so concurrent requests cannot overshoot.

``hit`` is a single ``INSERT … ON CONFLICT (key) DO UPDATE … RETURNING count`` (SQLite ≥ 3.35 and
PostgreSQL alike): the row is created or bumped, restarted when its window has passed, and the new
count comes back from the same statement. Two requests never see the same count, so "check, then
count" cannot let more through than the limit: each request counts first and proceeds only when
its own number is within the limit. The same statement also locks the row until commit, which
``locked`` uses to serialise one key's check-and-record (certificate lookups).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from competency.extensions import db
from competency.models import RateCounter, utcnow

_STALE_AFTER = timedelta(days=1)


def _upsert(key: str, window_seconds: float, now: datetime):
    table = RateCounter.__table__
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    started = literal(now, type_=table.c.window_started_at.type)
    expired = table.c.window_started_at < literal(
        now - timedelta(seconds=window_seconds), type_=table.c.window_started_at.type
    )
    stmt = insert(table).values(key=key[:200], window_started_at=now, count=1)
    # Every right-hand side reads the row as it was before this update (SQL semantics on both databases).
    return stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((expired, 1), else_=table.c.count + 1),
            "window_started_at": case((expired, started), else_=table.c.window_started_at),
        },
    ).returning(table.c.count)


def hit(key: str, window_seconds: float, now: datetime | None = None) -> int:
    """Count one event for ``key`` in its window and return the count including it (not committed)."""
    now = now or utcnow()
    count = db.session.execute(_upsert(key, window_seconds, now)).scalar_one()
    if count == 1:  # a new window: a cheap moment to drop counters nobody has used for a day
        db.session.execute(
            delete(RateCounter).where(
                RateCounter.window_started_at < now - _STALE_AFTER, RateCounter.key != key
            )
        )
    return count


def current(key: str, window_seconds: float, now: datetime | None = None) -> int:
    """The count of ``key`` in its current window (0 when none, or when its window has passed)."""
    now = now or utcnow()
    row = db.session.execute(
        select(RateCounter.count, RateCounter.window_started_at).where(RateCounter.key == key[:200])
    ).first()
    if row is None or row.window_started_at < now - timedelta(seconds=window_seconds):
        return 0
    return row.count


def reset(key: str) -> None:
    db.session.execute(delete(RateCounter).where(RateCounter.key == key[:200]))


def locked(key: str, window_seconds: float) -> int:
    """Take ``key``'s row lock until the transaction ends (and count the event); see the module note."""
    return hit(key, window_seconds)
