"""Core statements compiled once per database dialect and run straight on the driver's cursor.

Every answer runs the same few statements. On PostgreSQL, SQLAlchemy's work around each execution
(execution context, result metadata, row objects, the compiled-cache lookup) cost more client CPU
than psycopg's own; answer throughput is bound by CPU. A Precompiled keeps what matters of
SQLAlchemy: the SQL is compiled from the Core statement by the dialect, and values pass through the
same bind and result processors of the column types (JSON, UTC datetimes). It skips the rest.

It runs on the Session's connection, inside the Session's transaction: commit, rollback and the
connection pool are the Session's as usual. Driver errors are raised as SQLAlchemy's (an
IntegrityError stays an IntegrityError), and a lost connection is invalidated, as SQLAlchemy does.

On PostgreSQL each pooled connection keeps one psycopg cursor for these statements: making one (its
adapters and transformer) cost about 40 µs, a third of running the answer's locked read. A
connection is used by one thread at a time, so its cursor is too; the cursor lives in the
connection's `info`, which SQLAlchemy clears when it replaces the connection, and is dropped after
any driver error. A psycopg cursor holds its whole result in the client, so keeping it leaves
nothing open on the server. A sqlite3 cursor left part-way through a result keeps its statement
active, and with it the connection's read snapshot: later reads on that connection would miss newer
commits. SQLite therefore gets a fresh cursor per statement (cheap there), closed at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable


@dataclass(frozen=True)
class _Bind:
    name: str  # in the SQL
    key: str  # in the caller's parameters
    value: Any  # a constant of the statement, when `required` is false
    required: bool
    process: Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: tuple[_Bind, ...]
    positional: bool
    results: tuple[Callable[[Any], Any] | None, ...]
    keys: tuple[str, ...]  # the result's column names (labels), for rows by name

    def parameters(self, params: dict[str, Any]) -> dict[str, Any] | list[Any]:
        values = []
        for bind in self.binds:
            if bind.required:
                try:
                    value = params[bind.key]
                except KeyError:
                    raise KeyError(f"parameter {bind.key!r} is required") from None
            else:
                value = params.get(bind.key, bind.value)
            values.append(value if bind.process is None else bind.process(value))
        if self.positional:
            return values
        return {bind.name: value for bind, value in zip(self.binds, values, strict=True)}

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self.results, raw, strict=True)
        )


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    order = compiled.positiontup if compiled.positional else list(by_name)
    binds = tuple(
        _Bind(
            name=name,
            key=by_name[name].key,
            value=by_name[name].value,
            required=by_name[name].required,
            process=by_name[name].type.dialect_impl(dialect).bind_processor(dialect),
        )
        for name in order
    )
    # A SELECT's columns, or those of RETURNING (none for a plain UPDATE)
    columns = statement.exported_columns
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
    keys = tuple(statement.exported_columns.keys())
    return _Compiled(compiled.string, binds, bool(compiled.positional), results, keys)


class Precompiled:
    """A Core statement for the hot path: `first()`, `first_mapping()` and `rowcount()` on a Session's
    connection."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)  # the driver decides the parameter style
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _compile(self.statement, dialect)
        return compiled

    def _execute(self, connection: Connection, params: dict[str, Any]) -> tuple[_Compiled, Any]:
        compiled = self._for(connection.dialect)
        values = compiled.parameters(params)
        dbapi_connection = connection.connection
        cursor = _cursor(connection)
        try:
            cursor.execute(compiled.sql, values)
        except connection.dialect.loaded_dbapi.Error as exc:
            _release(connection, cursor, error=True)
            disconnected = connection.dialect.is_disconnect(exc, dbapi_connection, cursor)
            if disconnected:
                connection.invalidate(exc)
            raise DBAPIError.instance(
                compiled.sql,
                values,
                exc,
                connection.dialect.loaded_dbapi.Error,
                dialect=connection.dialect,
                connection_invalidated=disconnected,
            ) from exc
        return compiled, cursor

    def first(self, connection: Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row, its values converted as SQLAlchemy would; None when there is none."""
        compiled, cursor = self._execute(connection, params)
        try:
            raw = cursor.fetchone()
        finally:
            _release(connection, cursor)
        return None if raw is None else compiled.row(raw)

    def first_mapping(self, connection: Connection, params: dict[str, Any]) -> dict[str, Any] | None:
        """The first row by column name (the statement's labels); None when there is none."""
        compiled, cursor = self._execute(connection, params)
        try:
            raw = cursor.fetchone()
        finally:
            _release(connection, cursor)
        return None if raw is None else dict(zip(compiled.keys, compiled.row(raw), strict=True))

    def rowcount(self, connection: Connection, params: dict[str, Any]) -> int:
        """How many rows the statement changed."""
        _compiled, cursor = self._execute(connection, params)
        try:
            return cursor.rowcount
        finally:
            _release(connection, cursor)


_CURSOR = "competency.precompiled.cursor"  # the key of the kept cursor in Connection.info
_KEEPS_CURSOR = frozenset({"psycopg"})  # drivers whose cursors hold their whole result client-side


def _cursor(connection: Connection) -> Any:
    """The cursor for one statement: the one this pooled connection keeps, where the driver allows."""
    if connection.dialect.driver not in _KEEPS_CURSOR:
        return connection.connection.cursor()
    info = connection.info
    cursor = info.get(_CURSOR)
    if cursor is None:
        cursor = info[_CURSOR] = connection.connection.cursor()
    return cursor


def _release(connection: Connection, cursor: Any, *, error: bool = False) -> None:
    """Close a cursor made for one statement; forget the kept one after a driver error."""
    if connection.dialect.driver in _KEEPS_CURSOR:
        if not error:
            return
        connection.info.pop(_CURSOR, None)  # after an error its state is not worth trusting
    with contextlib.suppress(connection.dialect.loaded_dbapi.Error):  # the connection may be gone
        cursor.close()
