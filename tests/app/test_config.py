"""The factory and configuration from the environment."""

from __future__ import annotations

import pytest

from competency import create_app
from competency.config import ConfigError, load_config, normalise_database_url


def test_factory_uses_overrides(app_config):
    app = create_app({**app_config, "LOGIN_MAX_FAILURES": 7})
    assert app.config["TESTING"] is True
    assert app.config["LOGIN_MAX_FAILURES"] == 7
    assert "api" in app.blueprints and "auth" in app.blueprints


def test_default_database_is_sqlite_in_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("COMPETENCY_INSTANCE", str(tmp_path))
    cfg = load_config({})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'competency.sqlite3'}"


def test_database_url_from_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal:5432/competency")
    cfg = load_config({})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@db.internal:5432/competency"


@pytest.mark.parametrize("url", ["", "nonsense", "mysql://u@h/d", "oracle://x"])
def test_bad_database_urls(url):
    with pytest.raises(ConfigError):
        normalise_database_url(url)


def test_secret_key_required_in_production(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config({"ENV": "production"})
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    assert load_config({"ENV": "production"})["SECRET_KEY"] == "s" * 40


def test_testing_gets_a_random_secret(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert load_config({"TESTING": True})["SECRET_KEY"] != load_config({"TESTING": True})["SECRET_KEY"]


def test_pure_packages_do_not_import_flask():
    import subprocess
    import sys

    code = (
        "import sys, competency.irt, competency.irt.cat, competency.graph, competency.tests_bank, competency.maturity;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('flask','flask_sqlalchemy','sqlalchemy')"
        " or m.startswith('competency.models') or m.startswith('competency.web') or m.startswith('competency.services')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
