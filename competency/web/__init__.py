"""Flask blueprints: thin HTML views and the JSON API."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from competency.web import admin, api, auth, cohorts, errors, main
    from competency.web.context import register_context

    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(cohorts.bp)
    app.register_blueprint(api.bp)
    errors.register(app)
    register_context(app)
