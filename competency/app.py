"""The application factory."""

from __future__ import annotations

import atexit
import gc
import time
from pathlib import Path

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from werkzeug.middleware.proxy_fix import ProxyFix

from competency.config import load_config
from competency.extensions import babel, csrf, db, login_manager, migrate
from competency.web.paths import API_PREFIX

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent


def _tune_sqlite(engine, testing: bool = False) -> None:
    """WAL lets readers proceed while one worker writes; the file stays safe after a crash."""
    if engine.dialect.name != "sqlite":
        return

    # Close pooled connections at exit so SQLite folds the WAL back into the file (a frozen
    # collector would otherwise never finalise them).
    if not testing:
        atexit.register(engine.dispose)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


class CookieSessionsOutsideTheApi(SecureCookieSessionInterface):
    """The JSON API authenticates by bearer token alone, so its requests neither read nor write the
    cookie session: a browser's cookie can do nothing there, and no answer pays for the cookie."""

    def open_session(self, app, request):
        if request.path.startswith(API_PREFIX):
            return self.session_class()  # empty, and never saved
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if not request.path.startswith(API_PREFIX):
            super().save_session(app, session, response)


def ping_idle_connections(engine, idle_seconds: float) -> None:
    """Before a pooled connection that sat idle is used, check that the server still holds it.

    SQLAlchemy's pool_pre_ping pings on every checkout: one more round trip per request, a tenth of an
    answer's time on PostgreSQL. A connection used a moment ago is as good as a ping, so only those
    idle for `idle_seconds` or more are pinged; a dead one is replaced before the request sees it
    (raising DisconnectionError makes the pool retry the checkout with a fresh connection). A server
    that drops a busy connection fails that one request, and the pool then discards its connections.
    """
    if engine.dialect.name == "sqlite":
        return  # a local file has no connection to lose

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return  # new, or used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("a pooled connection was lost while idle") from exc
        if not alive:
            raise DisconnectionError("a pooled connection was lost while idle")


def _committed_in_request() -> bool:
    from flask import g

    return bool(g.get("_db_committed"))


class CompetencyFlask(Flask):
    """Flask, retrying a request once when its pooled database connection turned out to be dead.

    After a PostgreSQL restart every pooled connection is dead, and one used less than
    DB_PING_AFTER_IDLE_SECONDS ago is not pinged. The first statement on it fails with a lost
    connection; SQLAlchemy then invalidates the pool, so a second run gets a fresh connection. The
    request is re-run only when it committed nothing before the failure, so nothing is done twice.
    """

    def full_dispatch_request(self):
        # Flask's own sequence (signals, before-request, view, error handlers, after-request), with the
        # before-request functions and the view run a second time after a lost connection.
        from flask.signals import request_started

        self._got_first_request = True
        try:
            request_started.send(self, _async_wrapper=self.ensure_sync)
            rv = self._preprocess_and_dispatch()
        except Exception as exc:
            rv = self.handle_user_exception(exc)
        return self.finalize_request(rv)

    def _preprocess_and_dispatch(self):
        from flask import g
        from sqlalchemy.exc import DBAPIError

        for attempt in (1, 2):
            try:
                rv = self.preprocess_request()
                return self.dispatch_request() if rv is None else rv
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated or _committed_in_request():
                    raise
                self.logger.warning("database connection lost; running the request once more")
                db.session.rollback()
                db.session.close()
                g.pop("_login_user", None)
        raise AssertionError("unreachable")  # pragma: no cover


def _track_commits() -> None:
    from flask import g, has_request_context

    @event.listens_for(db.session, "after_commit")
    def _after_commit(_session) -> None:
        if has_request_context():
            g._db_committed = True


def create_app(config: dict | None = None) -> Flask:
    """Create the Flask app; `config` overrides the environment (tests pass TESTING and a database URL)."""
    app = CompetencyFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(load_config(config)["INSTANCE_DIR"]),
    )
    app.config.update(load_config(config))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(PACKAGE / "translations")
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )

    db.init_app(app)
    _track_commits()
    with app.app_context():
        _tune_sqlite(db.engine, testing=bool(app.config.get("TESTING")))
        ping_idle_connections(db.engine, app.config["DB_PING_AFTER_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=str(PACKAGE / "migrations"), render_as_batch=True)
    csrf.init_app(app)

    from competency.web import i18n

    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    login_manager.init_app(app)
    app.session_interface = CookieSessionsOutsideTheApi()

    from competency.web import register_blueprints

    register_blueprints(app)

    from competency.cli import register_commands
    from competency.services import cohort_profile_rows, result_levels, summary_rows

    result_levels.install()
    summary_rows.install()  # after result_levels: both listen to the same flush
    cohort_profile_rows.install()

    register_commands(app)
    _production_headers(app)
    freeze_long_lived(app)
    return app


def _production_headers(app: Flask) -> None:
    """HSTS in production: browsers then refuse plain HTTP to this host for a year (TLS is at the proxy)."""
    if not app.config.get("HSTS_SECONDS"):
        return

    @app.after_request
    def _hsts(response):
        response.headers.setdefault("Strict-Transport-Security", f"max-age={app.config['HSTS_SECONDS']}")
        return response


def freeze_long_lived(app: Flask) -> None:
    """Move what was built so far out of the garbage collector's sight (not in tests).

    Everything built at start-up (maps, mappers, templates, warmed caches) lives as long as the
    process; moving it out of the collector's sight makes each full collection during requests far
    cheaper (measured: about 17 % less time per answer). Tests create many apps, so they skip it.
    """
    if not app.config.get("TESTING"):
        gc.collect()
        gc.freeze()
