"""Pooled connections that sat idle are checked before use; busy ones are trusted (PostgreSQL only)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from competency.app import ping_idle_connections


@pytest.fixture
def pg_url(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server connection to lose")
    return database_url


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(url: str, pid: int) -> None:
    killer = create_engine(url)
    with killer.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()
    killer.dispose()


@contextmanager
def _one_connection_pool(url: str, idle_seconds: float):
    """An engine whose pool holds one connection, pinged after `idle_seconds` idle."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    ping_idle_connections(engine, idle_seconds=idle_seconds)
    try:
        yield engine
    finally:
        engine.dispose()


def test_an_idle_connection_that_died_is_replaced_before_use(pg_url):
    with _one_connection_pool(pg_url, idle_seconds=0.0) as engine:  # every reused one counts as idle
        first = _backend_pid(engine)
        _terminate(pg_url, first)
        # The pooled connection is dead; the ping on checkout notices and the pool opens a new one.
        assert _backend_pid(engine) != first


def test_a_connection_used_a_moment_ago_is_not_pinged(pg_url):
    with _one_connection_pool(pg_url, idle_seconds=3600.0) as engine:
        first = _backend_pid(engine)
        assert _backend_pid(engine) == first  # the same connection, reused without a ping
        _terminate(pg_url, first)
        # Without a ping the dead connection fails the statement; the pool then discards it and
        # the next checkout gets a working one.
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        assert _backend_pid(engine) != first


def test_a_precompiled_statement_on_a_dead_connection_discards_it(pg_url):
    """The answer route's statements bypass SQLAlchemy's execution, not its handling of lost connections."""
    from sqlalchemy import bindparam, literal, select
    from sqlalchemy.exc import DBAPIError

    from competency.services.precompiled import Precompiled

    statement = Precompiled(select(literal(1) + bindparam("n", type_=None)))
    with _one_connection_pool(pg_url, idle_seconds=3600.0) as engine:
        first = _backend_pid(engine)
        _terminate(pg_url, first)
        with engine.connect() as conn:
            with pytest.raises(DBAPIError) as raised:
                statement.first(conn, {"n": 1})
            assert raised.value.connection_invalidated
            assert conn.invalidated  # at once, as SQLAlchemy's own execution would
        with engine.connect() as conn:
            assert statement.first(conn, {"n": 1}) == (2,)
        assert _backend_pid(engine) != first
