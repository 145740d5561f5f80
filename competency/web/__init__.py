"""Flask blueprints: thin HTML views and the JSON API."""

from __future__ import annotations

from flask import Flask

# Requests under this path are the JSON API: bearer tokens, JSON errors, no cookie session.
API_PREFIX = "/api/"


def register_blueprints(app: Flask) -> None:
    from competency.web import admin, api, assess, auth, cohorts, errors, items, main, manage
    from competency.web.context import register_context

    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(cohorts.bp)
    app.register_blueprint(items.bp)
    app.register_blueprint(assess.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(api.bp)
    # Outcomes (certificates, plans, trainer tools) register below.
    from competency.web import capmap, certificates, plans, resources, trainer

    app.register_blueprint(capmap.bp)
    app.register_blueprint(resources.bp)
    app.register_blueprint(certificates.bp)
    app.register_blueprint(plans.bp)
    app.register_blueprint(trainer.bp)
    errors.register(app)
    register_context(app)
