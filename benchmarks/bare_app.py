"""The bare baseline of benchmarks/bench_api.py: one Flask endpoint that stores one answer with one SQLite insert.

It is what the platform's answer POST would cost with no authentication, no ORM, no adaptive engine:
parse the JSON body, insert one row, commit, answer with a small JSON object. The database uses
SQLite's defaults (rollback journal, full sync), as the platform's SQLite database does, so both pay
the same commit cost (bench_api.py gives it the platform database's journal mode).

    BARE_DB=/tmp/bare.sqlite3 .venv/bin/gunicorn -w 4 -b 127.0.0.1:8001 'benchmarks.bare_app:create_app()'
    curl -X POST 127.0.0.1:8001/answer -H 'Content-Type: application/json' \\
         -d '{"position": 1, "item_id": "X", "answer": "A"}'
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from datetime import UTC, datetime

from flask import Flask, jsonify, request

SCHEMA = """
CREATE TABLE IF NOT EXISTS response (
    id INTEGER PRIMARY KEY,
    attempt_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    item_code TEXT NOT NULL,
    answer TEXT NOT NULL,
    answered_at TEXT NOT NULL
)
"""


def init_db(path: str, journal_mode: str = "delete") -> None:
    """Create the table once, before the workers start (they would race on CREATE otherwise).

    The journal mode is a property of the file: bench_api.py passes the platform database's mode, so a
    platform that switches to WAL is compared with a bare endpoint on WAL too.
    """
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(f"PRAGMA journal_mode={journal_mode}")
        conn.execute(SCHEMA)


def create_app(path: str | None = None) -> Flask:
    """The app; the database file comes from `path` or the BARE_DB environment variable."""
    db_path = path or os.environ["BARE_DB"]
    local = threading.local()  # sqlite3 connections may not cross threads (gthread workers)

    def connection() -> sqlite3.Connection:
        conn = getattr(local, "conn", None)
        if conn is None:
            # Same busy wait as Python's default, so writers from several workers queue instead of failing.
            conn = local.conn = sqlite3.connect(db_path, timeout=5.0)
        return conn

    app = Flask(__name__)

    @app.post("/answer")
    def answer():
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or "answer" not in data:
            return jsonify(error={"code": "invalid_json", "message": "a JSON object with answer"}), 400
        conn = connection()
        with conn:  # one transaction: commit on success, roll back on error
            cur = conn.execute(
                "INSERT INTO response (attempt_id, position, item_code, answer, answered_at) VALUES (?, ?, ?, ?, ?)",
                (
                    int(data.get("attempt_id") or 0),
                    int(data.get("position") or 0),
                    str(data.get("item_id") or ""),
                    json.dumps(data["answer"]),
                    datetime.now(UTC).isoformat(),
                ),
            )
        return jsonify(finished=False, id=cur.lastrowid)

    @app.get("/health")
    def health():
        return jsonify(ok=True)

    return app
