"""The production entry point fills the caches of published assessments before the first request."""

from __future__ import annotations

import importlib
import sys

from competency.services import caches


def test_wsgi_entry_point_warms_published_assessments(monkeypatch, database_url, job_assessment):
    key = caches.published_key(job_assessment.id, job_assessment.published_at)
    caches.clear()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COMPETENCY_ENV", "development")
    monkeypatch.setenv("SECRET_KEY", "test-only-wsgi")
    monkeypatch.delitem(sys.modules, "competency.wsgi", raising=False)

    module = importlib.import_module("competency.wsgi")
    try:
        assert key in caches.POOLS
        engines = [k for k, _engine in caches.ENGINES.items() if k[:2] == key]
        assert len(engines) == 2  # the definition's settings (start) and the recorded ones (answers)
        assert module.app.name == "competency.app"
    finally:
        with module.app.app_context():
            from competency.extensions import db

            db.engine.dispose()
        sys.modules.pop("competency.wsgi", None)


def test_wsgi_entry_point_starts_before_the_database_exists(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    monkeypatch.setenv("COMPETENCY_ENV", "development")
    monkeypatch.delitem(sys.modules, "competency.wsgi", raising=False)
    module = importlib.import_module("competency.wsgi")
    try:
        assert module.app is not None  # no tables yet: caches fill on first use instead
    finally:
        sys.modules.pop("competency.wsgi", None)
