"""Precompiled statements run on the driver's cursor; they must behave exactly as SQLAlchemy does.

Same values stored (JSON, UTC datetimes, booleans, constants of the statement), same values read back,
SQLAlchemy's exceptions for driver errors, and the Session's transaction around them. Runs on SQLite and,
with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from competency.extensions import db
from competency.models import AuditEvent, User
from competency.services import precompiled
from competency.services.precompiled import Precompiled

EVENTS = AuditEvent.__table__
USERS = User.__table__

_ADD_EVENT = Precompiled(
    insert(EVENTS)
    .values(
        at=bindparam("at", type_=EVENTS.c.at.type),
        action="precompiled.test",  # a constant of the statement
        target_type=bindparam("target_type"),
        detail=bindparam("detail", type_=EVENTS.c.detail.type),
    )
    .returning(EVENTS.c.id, EVENTS.c.at)
)
_EVENT_COLUMNS = select(EVENTS.c.id, EVENTS.c.at, EVENTS.c.action, EVENTS.c.detail, EVENTS.c.ip).where(
    EVENTS.c.id == bindparam("event_id")
)
_READ_EVENT = Precompiled(_EVENT_COLUMNS)
# A user row; adding a username that exists fails in the driver (the unique constraint).
_ADD_USER = Precompiled(
    insert(USERS).values(
        username=bindparam("username"),
        display_name="x",
        password_hash="x",
        role="student",
        timezone="Asia/Shanghai",
        active=True,
        extra_time_percent=0,
        created_at=bindparam("created_at", type_=USERS.c.created_at.type),
    )
)

# Text without NUL: PostgreSQL's text cannot hold it, whoever sends it.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_ZONES = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
_MOMENTS = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=_ZONES)


def _store(moment: datetime, detail) -> int:
    row = _ADD_EVENT.first(db.session.connection(), {"at": moment, "target_type": "test", "detail": detail})
    assert row is not None
    return row[0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(detail=_JSON, moment=_MOMENTS)
def test_values_round_trip_as_through_sqlalchemy(app, detail, moment):
    """What a Precompiled stores, the ORM reads back unchanged; what it reads equals SQLAlchemy's row."""
    event_id = _store(moment, detail)
    db.session.commit()
    try:
        stored = db.session.get_one(AuditEvent, event_id, populate_existing=True)
        assert stored.detail == detail
        assert stored.at == moment.astimezone(UTC)
        assert stored.action == "precompiled.test"
        ours = _READ_EVENT.first(db.session.connection(), {"event_id": event_id})
        theirs = tuple(db.session.execute(_EVENT_COLUMNS, {"event_id": event_id}).one())
        assert ours == theirs
        assert ours[1].tzinfo is not None and ours[1].utcoffset() == timedelta(0)
    finally:
        db.session.rollback()
        db.session.execute(EVENTS.delete().where(EVENTS.c.id == event_id))
        db.session.commit()


def test_booleans_and_missing_rows(app, make_user):
    user = make_user("student", "precompiled")
    user.active = False
    db.session.commit()
    read = Precompiled(select(USERS.c.active, USERS.c.username).where(USERS.c.id == bindparam("user_id")))
    assert read.first(db.session.connection(), {"user_id": user.id}) == (False, "precompiled")
    assert read.first(db.session.connection(), {"user_id": user.id + 1000}) is None


def test_rowcount_counts_changed_rows(app, make_user):
    user = make_user("student", "renamed")
    rename = Precompiled(
        update(USERS).where(USERS.c.id == bindparam("b_id")).values(display_name=bindparam("b_name"))
    )
    connection = db.session.connection()
    assert rename.rowcount(connection, {"b_id": user.id, "b_name": "新名字"}) == 1
    assert rename.rowcount(connection, {"b_id": user.id + 1000, "b_name": "nobody"}) == 0
    db.session.commit()
    assert db.session.get_one(User, user.id, populate_existing=True).display_name == "新名字"


def test_driver_errors_are_sqlalchemy_errors_and_change_nothing(app, make_user):
    make_user("student", "taken")
    before = db.session.scalar(select(func.count()).select_from(USERS))
    with pytest.raises(IntegrityError):
        _ADD_USER.rowcount(db.session.connection(), {"username": "taken", "created_at": datetime.now(UTC)})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(USERS)) == before


def test_a_missing_parameter_is_named(app):
    with pytest.raises(KeyError, match="target_type"):
        _ADD_EVENT.first(db.session.connection(), {"at": datetime.now(UTC), "detail": {}})
    db.session.rollback()


def test_runs_inside_the_sessions_transaction(app):
    """A rollback of the Session discards what a Precompiled wrote."""
    event_id = _store(datetime.now(UTC), {"kept": False})
    db.session.rollback()
    assert db.session.get(AuditEvent, event_id) is None


def _kept_cursor(connection):
    return connection.info.get(precompiled._CURSOR)


def _keeps_cursor() -> bool:
    return db.engine.dialect.driver in precompiled._KEEPS_CURSOR


def test_one_cursor_per_connection_kept_across_statements_and_requests(app, make_user):
    """On PostgreSQL the psycopg cursor is made once per pooled connection, not per statement (making
    one cost a third of a statement), and stays with the connection when the pool lends it again;
    SQLite keeps none (see the next test)."""
    user = make_user("student", "cursor")
    db.session.commit()
    read = Precompiled(select(USERS.c.username).where(USERS.c.id == bindparam("user_id")))
    connection = db.session.connection()
    assert read.first(connection, {"user_id": user.id}) == ("cursor",)
    cursor = _kept_cursor(connection)
    if not _keeps_cursor():
        assert cursor is None
        return
    assert cursor is not None
    assert _store(datetime.now(UTC), {"n": 1}) and _kept_cursor(connection) is cursor
    assert read.first(connection, {"user_id": user.id}) == ("cursor",)
    assert _kept_cursor(connection) is cursor
    db.session.rollback()
    with db.engine.connect() as again:  # the pool lends the same connection: its cursor comes along
        assert read.first(again, {"user_id": user.id}) == ("cursor",)
        if again.connection.dbapi_connection is cursor.connection:
            assert _kept_cursor(again) is cursor


def test_reading_one_row_of_many_leaves_later_reads_current(app, make_user):
    """first() over a result of several rows must not hold the connection's read snapshot: a sqlite3
    cursor left part-way through a result would, and the connection would miss later commits."""
    first, _second = make_user("student", "snap1"), make_user("student", "snap2")
    db.session.commit()
    every_name = Precompiled(select(USERS.c.username).order_by(USERS.c.id))
    display_name = select(USERS.c.display_name).where(USERS.c.id == first.id)
    with db.engine.connect() as reader:
        assert every_name.first(reader, {}) is not None
        with db.engine.begin() as writer:
            writer.execute(update(USERS).where(USERS.c.id == first.id).values(display_name="新的"))
        assert reader.execute(display_name).scalar_one() == "新的"


def test_a_driver_error_drops_the_kept_cursor(app, make_user):
    make_user("student", "dropped")
    db.session.commit()
    connection = db.session.connection()
    count = Precompiled(select(func.count()).select_from(USERS))
    before = count.first(connection, {})
    cursor = _kept_cursor(connection)
    with pytest.raises(IntegrityError):
        _ADD_USER.rowcount(connection, {"username": "dropped", "created_at": datetime.now(UTC)})
    assert _kept_cursor(connection) is None
    db.session.rollback()
    connection = db.session.connection()
    assert count.first(connection, {}) == before  # a new cursor, and the statement works
    if _keeps_cursor():
        assert _kept_cursor(connection) not in (None, cursor)
