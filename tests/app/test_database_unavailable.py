"""Issue 17, Low 10: a lost or unavailable database is a 503 with Retry-After and a clear error object;
a pooled connection lost to a server restart is retried once; /healthz tells the truth."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text

from competency import create_app
from competency.extensions import db
from tests.app.conftest import api_token


@pytest.fixture
def unreachable_app(app_config):
    """The app pointed at a PostgreSQL port where nothing listens (a stopped or unreachable server)."""
    config = {**app_config, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/none"}
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"connect_timeout": 2}, "pool_timeout": 2}
    app = create_app(config)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_database_down_is_503_with_retry_after(unreachable_app):
    client = unreachable_app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.headers["Retry-After"] == "5"
    assert health.get_json()["status"] == "unavailable" and health.get_json()["database"]["ok"] is False
    api = client.get("/api/v1/certificates/AAAABBBBCCCCDDDDEEEE")
    assert api.status_code == 503 and api.headers["Retry-After"] == "5"
    assert api.get_json()["error"]["code"] == "database_unavailable"
    assert "try again" in api.get_json()["error"]["message"] or "稍后" in api.get_json()["error"]["message"]
    page = client.get("/verify/AAAABBBBCCCCDDDDEEEE")
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"


def test_a_database_refusing_writes_is_503_not_a_bare_internal_error(app, client, make_user, database_url):
    """Disk full ("database or disk is full" in SQLite, DiskFull in PostgreSQL) and a read-only database
    are both the driver's OperationalError; a read-only SQLite connection makes one for real."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite: PRAGMA query_only makes every write fail as the server would")
    make_user("student", "li")
    token = api_token(client, "li")

    @event.listens_for(db.engine, "connect")
    def _cap(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA query_only = ON")

    db.session.remove()
    db.engine.dispose()
    try:
        # A token request writes (counters, a login record): the database refuses the write.
        response = client.post(
            "/api/v1/auth/token", json={"username": "li", "password": "correct-horse-battery"}
        )
        assert response.status_code == 503, response.get_json()
        assert response.get_json()["error"]["code"] == "database_unavailable"
        assert response.headers["Retry-After"]
    finally:
        event.remove(db.engine, "connect", _cap)
        db.session.remove()
        db.engine.dispose()
    assert token


def test_a_connection_dropped_by_a_server_restart_is_retried_once(app, client, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server connection to lose")
    app.config["DB_PING_AFTER_IDLE_SECONDS"] = 3600  # a connection used a moment ago: not pinged
    assert client.get("/api/v1/certificates/AAAABBBBCCCCDDDDEEEE").status_code == 404  # warms the pool
    # What a restart does to every pooled connection: the server ends them.
    killer = create_engine(database_url)
    with killer.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        conn.commit()
    killer.dispose()
    # The first request after it meets a dead connection and is run again on a fresh one: no 500.
    assert client.get("/api/v1/certificates/AAAABBBBCCCCDDDDEEEE").status_code == 404
    assert client.get("/healthz").status_code == 200


def test_hsts_only_in_production(app_config):
    production = create_app({**app_config, "ENV": "production", "SECRET_KEY": "x" * 32})
    assert "max-age=31536000" in production.test_client().get("/login").headers["Strict-Transport-Security"]
    development = create_app(app_config)
    assert "Strict-Transport-Security" not in development.test_client().get("/login").headers
    for each in (production, development):
        with each.app_context():
            db.engine.dispose()
