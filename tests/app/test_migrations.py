"""Migrations: the schema they build equals the models, on SQLite and PostgreSQL; they run down and up."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from competency import create_app
from competency.extensions import db


def test_migrated_schema_matches_models(app):
    # The session fixture built this database by applying the migrations to an empty one.
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_downgrade_to_base_and_up_again(app_config, tmp_path):
    config = {**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.sqlite3'}"}
    fresh = create_app(config)
    with fresh.app_context():
        upgrade()
        downgrade(revision="base")
        from sqlalchemy import inspect

        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "user_account" in inspect(db.engine).get_table_names()
        db.engine.dispose()
