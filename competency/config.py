"""Configuration read from the environment.

Only development and testing may run without an explicit SECRET_KEY; production refuses to start,
because a guessable key would let anyone forge sessions and CSRF tokens.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SUPPORTED_DRIVERS = ("sqlite", "postgresql")


class ConfigError(RuntimeError):
    """The environment does not describe a usable configuration."""


def _instance_dir() -> Path:
    return Path(os.environ.get("COMPETENCY_INSTANCE", Path.cwd() / "instance")).resolve()


def normalise_database_url(url: str) -> str:
    """Validate a database URL and select psycopg 3 for PostgreSQL."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is malformed: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DRIVERS:
        raise ConfigError(
            f"DATABASE_URL uses {backend!r}; supported: sqlite:///path or postgresql+psycopg://user@host/db"
        )
    if backend == "postgresql" and parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from defaults, the environment and explicit overrides."""
    overrides = dict(overrides or {})
    env = overrides.get("ENV") or os.environ.get("COMPETENCY_ENV", "development")
    testing = bool(overrides.get("TESTING"))
    instance = _instance_dir()
    default_db = f"sqlite:///{instance / 'competency.sqlite3'}"
    secret = overrides.get("SECRET_KEY") or os.environ.get("SECRET_KEY")
    if not secret:
        if env == "production":
            raise ConfigError("SECRET_KEY must be set in production (export SECRET_KEY=...)")
        secret = secrets.token_hex(32) if testing else "dev-only-not-secret"
    production = env == "production"
    cfg = {
        "ENV_NAME": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            overrides.get("SQLALCHEMY_DATABASE_URI") or os.environ.get("DATABASE_URL") or default_db
        ),
        # Liveness is checked by the app itself: a pooled connection idle longer than this is pinged
        # before use (app.ping_idle_connections); busy connections skip the extra round trip.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "DB_PING_AFTER_IDLE_SECONDS": float(os.environ.get("DB_PING_AFTER_IDLE_SECONDS", "10")),
        "INSTANCE_DIR": str(instance),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh_Hans_CN", "en"],
        "PASSWORD_MIN_LENGTH": 10,
        # Failed logins per (user name, address) in the window; a separate, higher ceiling per address
        # (a school behind one NAT shares an address) stops one machine trying many names.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_MAX_FAILURES_PER_ADDRESS": 100,
        "LOGIN_WINDOW_SECONDS": 15 * 60,
        # Public certificate checks: an address that looks up this many unknown codes within the window
        # is refused for the rest of it (codes have ~99 random bits; the limit stops bulk guessing).
        "VERIFY_MAX_MISSES": 20,
        "VERIFY_WINDOW_SECONDS": 10 * 60,
        "API_TOKEN_TTL_HOURS": 12,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # JSON API bodies (web.input_guards): an answer or a login is a few hundred bytes.
        "API_MAX_JSON_BYTES": 64 * 1024,
        "API_MAX_JSON_DEPTH": 16,
        # Pilot applications: one attachment at most this large (the request limit above still applies).
        "PILOT_ATTACHMENT_MAX_BYTES": int(os.environ.get("PILOT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)),
        # Notifications by e-mail: "outbox" (default: written to a table the platform admin reads),
        # "smtp" (MAIL_SMTP_HOST, MAIL_SMTP_PORT, MAIL_FROM), or "package.module:attribute".
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "outbox"),
        "MAIL_SMTP_HOST": os.environ.get("MAIL_SMTP_HOST", "localhost"),
        "MAIL_SMTP_PORT": int(os.environ.get("MAIL_SMTP_PORT", "25")),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "competency@localhost"),
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        # Strict-Transport-Security max-age; production only (development serves plain HTTP).
        "HSTS_SECONDS": 365 * 24 * 3600 if production else 0,
        # Seconds a client is told to wait (Retry-After) when the database cannot be reached.
        "DB_RETRY_AFTER_SECONDS": 5,
    }
    cfg.update(overrides)
    if "SQLALCHEMY_DATABASE_URI" in overrides:
        cfg["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(overrides["SQLALCHEMY_DATABASE_URI"])
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
        # An unreachable server is reported (503) within seconds instead of holding a worker.
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"connect_timeout": 5}, "pool_timeout": 10}
    return cfg
