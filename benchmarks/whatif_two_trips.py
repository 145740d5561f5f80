"""What-if, not the platform: an answer on PostgreSQL in two round trips instead of four.

    .venv/bin/python benchmarks/bench_api.py --quick --backends postgres --app 'whatif_two_trips:create_app()'

The same transaction and the same row lock, sent differently: `BEGIN; EXECUTE read(…)` and
`EXECUTE store(…); COMMIT` as two simple-protocol queries, with server-side prepared statements and
values bound on the client, instead of BEGIN, the locked SELECT, the store and COMMIT one by one.
It was no faster (benchmarks/README_api.md, "Tried and dropped"), so the platform keeps four.
"""

from __future__ import annotations

import weakref

import psycopg
from sqlalchemy import event
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

from competency import create_app as create_platform
from competency.extensions import db
from competency.services import attempts

_DOLLAR = psycopg_dialect(paramstyle="numeric_dollar")
_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Prepared:
    def __init__(self, precompiled, name: str, begin: bool = False) -> None:
        self.precompiled, self.name, self.begin = precompiled, name, begin
        compiled = precompiled.statement.compile(dialect=_DOLLAR)
        self.prepare = f"PREPARE {name} AS {compiled.string}"
        self.order = list(compiled.positiontup)

    def first(self, connection, params):
        compiled = self.precompiled._for(connection.dialect)
        values = compiled.parameters(params)
        args = [values[name] for name in self.order]
        driver = connection.connection.driver_connection
        done = _PREPARED.setdefault(driver, set())
        cursor = psycopg.ClientCursor(driver)
        if self.name not in done:
            cursor.execute(self.prepare)
            done.add(self.name)
        call = f"EXECUTE {self.name}({', '.join(['%s'] * len(args))})"
        commit = not self.begin and params.get("b_pending") is not None
        cursor.execute(("BEGIN; " if self.begin else "") + call + ("; COMMIT" if commit else ""), args)
        if self.begin:
            cursor.nextset()
        raw = cursor.fetchone()
        cursor.close()
        return None if raw is None else compiled.row(raw)


def create_app():
    app = create_platform()
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _no_auto_prepare(dbapi_connection, _record):
        # psycopg sends DEALLOCATE ALL after a ROLLBACK when it holds prepared statements of its
        # own, which would drop ours; without its own there is nothing for it to clear.
        dbapi_connection.prepare_threshold = None

    attempts._CALLER_AND_ATTEMPT = _Prepared(attempts._CALLER_AND_ATTEMPT, "whatif_read", begin=True)
    attempts._STORE_AND_MOVE_ON = _Prepared(attempts._STORE_AND_MOVE_ON, "whatif_store")
    original = attempts.caller_and_attempt_to_answer

    def in_autocommit(token: str, attempt_id: int):
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        return original(token, attempt_id)

    attempts.caller_and_attempt_to_answer = in_autocommit
    return app
