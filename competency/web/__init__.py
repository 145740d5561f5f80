"""Flask blueprints: thin HTML views and the JSON API."""

from __future__ import annotations

from flask import Flask

from competency.web.paths import API_PREFIX

__all__ = ["API_PREFIX", "register_blueprints"]


def register_blueprints(app: Flask) -> None:
    from competency.web import (
        account,
        admin,
        api,
        assess,
        auth,
        cohorts,
        errors,
        input_guards,
        items,
        main,
        manage,
    )
    from competency.web.context import register_context

    input_guards.register(app)  # first: the bounded int converter must exist before any route is added
    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(cohorts.bp)
    app.register_blueprint(items.bp)
    app.register_blueprint(assess.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(api.bp)
    # Outcomes (certificates, plans, trainer tools) register below.
    from competency.web import capmap, certificates, maturity, plans, resources, trainer

    app.register_blueprint(capmap.bp)
    app.register_blueprint(resources.bp)
    app.register_blueprint(certificates.bp)
    app.register_blueprint(plans.bp)
    app.register_blueprint(trainer.bp)
    app.register_blueprint(maturity.bp)
    # The pilot-centre programme and the message centre.
    from competency.web import messages, pilot_office, pilot_public, pilot_review, pilots

    app.register_blueprint(pilots.bp)
    app.register_blueprint(pilot_office.bp)
    app.register_blueprint(pilot_review.bp)
    app.register_blueprint(pilot_public.bp)
    app.register_blueprint(messages.bp)
    from competency.web import jobs

    app.register_blueprint(jobs.bp)
    from competency.web import calibration

    app.register_blueprint(calibration.bp)
    errors.register(app)
    register_context(app)
