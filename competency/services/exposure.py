"""Running exposure counters for the maximum-rate rule: how often each item of an assessment was given.

The counters move forward by increments: a refresh counts only the responses and attempts stored since
the last one (ids above the tally's marks), so its cost follows the recent traffic, never the history.
A refresh is one short transaction that the first worker to arrive runs; the others skip it (the tally
row is taken with SKIP LOCKED on PostgreSQL, and the marks are compared-and-set everywhere), so no
answer waits on a hot counter row and nothing is counted twice.

Ids are handed out when a row is inserted, not when it is committed, so a refresh stops at rows older
than SETTLE_SECONDS: an answer's transaction lasts milliseconds, and a row with a lower id that
commits after a later one has long committed by then.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from competency.models import Attempt, ExposureTally, ItemExposure, Response, utcnow
from competency.services import caches

SETTLE_SECONDS = 10


def _upsert(connection: Connection):
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert


def refresh(connection: Connection, assessment_id: int) -> bool:
    """Add what was stored since the last refresh to the counters, in ``connection``'s transaction.

    Returns False when another worker holds the tally (it is counting the same rows right now).
    """
    tally_t = ExposureTally.__table__
    exposure_t = ItemExposure.__table__
    insert = _upsert(connection)
    connection.execute(
        insert(tally_t)
        .values(
            assessment_id=assessment_id, response_mark=0, attempt_mark=0, attempts=0, refreshed_at=utcnow()
        )
        .on_conflict_do_nothing(index_elements=["assessment_id"])
    )
    query = select(tally_t.c.response_mark, tally_t.c.attempt_mark).where(
        tally_t.c.assessment_id == assessment_id
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = connection.execute(query).first()
    if row is None:
        return False
    response_mark, attempt_mark = row
    settled = utcnow() - timedelta(seconds=SETTLE_SECONDS)
    response_top = connection.scalar(
        select(func.max(Response.id)).where(Response.id > response_mark, Response.answered_at < settled)
    )
    attempt_top = connection.scalar(
        select(func.max(Attempt.id)).where(Attempt.id > attempt_mark, Attempt.started_at < settled)
    )
    response_top = response_top or response_mark
    attempt_top = attempt_top or attempt_mark
    if response_top == response_mark and attempt_top == attempt_mark:
        return True
    new_attempts = connection.scalar(
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.assessment_id == assessment_id, Attempt.id > attempt_mark, Attempt.id <= attempt_top)
    )
    counts = connection.execute(
        select(Response.item_code, func.count())
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(
            Attempt.assessment_id == assessment_id,
            Response.id > response_mark,
            Response.id <= response_top,
        )
        .group_by(Response.item_code)
    ).all()
    moved = connection.execute(
        update(tally_t)
        .where(
            tally_t.c.assessment_id == assessment_id,
            tally_t.c.response_mark == response_mark,
            tally_t.c.attempt_mark == attempt_mark,
        )
        .values(
            response_mark=response_top,
            attempt_mark=attempt_top,
            attempts=tally_t.c.attempts + (new_attempts or 0),
            refreshed_at=utcnow(),
        )
    ).rowcount
    if moved != 1:
        return False  # another refresh counted these rows first
    if counts:
        stmt = insert(exposure_t)
        stmt = stmt.on_conflict_do_update(
            index_elements=["assessment_id", "item_code"],
            set_={"administered": exposure_t.c.administered + stmt.excluded.administered},
        )
        # Sorted, so two refreshes of different assessments never lock rows in opposite orders.
        connection.execute(
            stmt,
            [
                {"assessment_id": assessment_id, "item_code": code, "administered": n}
                for code, n in sorted(counts)
            ],
        )
    return True


def rates(connection: Connection, assessment_id: int) -> dict[str, float]:
    """Share of the assessment's attempts that saw each item, from the counters (one row per item)."""
    attempts = connection.scalar(
        select(ExposureTally.attempts).where(ExposureTally.assessment_id == assessment_id)
    )
    rows = connection.execute(
        select(ItemExposure.item_code, ItemExposure.administered).where(
            ItemExposure.assessment_id == assessment_id
        )
    )
    return {code: n / max(1, attempts or 0) for code, n in rows}


RATES_TTL_SECONDS = 30


def current_rates(connection: Connection, assessment_id: int, key: tuple) -> dict[str, float]:
    """The rates of one assessment for the maximum-rate rule, refreshed at most every RATES_TTL_SECONDS.

    A worker refreshes the counters (so the cost follows recent traffic, not the assessment's history)
    and reads the rates at most every RATES_TTL_SECONDS per published pool (`key`); a rate half a
    minute old controls exposure just as well, and nothing about any attempt is kept. Read on the
    caller's connection, in its transaction: an answer never holds two connections.
    """
    now = time.monotonic()
    cached = caches.RATES.get(key)
    if cached is not None and now - cached[0] < RATES_TTL_SECONDS:
        return cached[1]
    refresh(connection, assessment_id)  # the worker that takes the tally row counts; others skip it
    found = rates(connection, assessment_id)
    caches.RATES.put(key, (now, found))
    return found
