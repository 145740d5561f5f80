"""The landing page and each role's home page."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from competency.extensions import db
from competency.models import Institution, Role
from competency.services import institutions
from competency.web.authz import ALL_ROLES, public, roles_required

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def index():
    """Public landing page."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return render_template("index.html")


@bp.route("/healthz")
@public
def healthz():
    """Health for the reverse proxy: 200 only when the database answers a query now, 503 otherwise.

    Bounded by the pool's and the driver's connect timeouts; a failure is reported, never raised.
    """
    started = time.monotonic()
    for attempt in (1, 2):  # a pooled connection lost to a server restart is replaced, then asked again
        try:
            db.session.execute(select(1)).scalar_one()
            break
        except DBAPIError as exc:
            db.session.rollback()
            if attempt == 1 and exc.connection_invalidated:
                continue
            return _unhealthy(exc)
        except SQLAlchemyError as exc:
            db.session.rollback()
            return _unhealthy(exc)
    elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    body = {"status": "ok", "database": {"ok": True, "dialect": db.engine.dialect.name, "ms": elapsed_ms}}
    return body, 200, {"Cache-Control": "no-store"}


def _unhealthy(exc: Exception):
    current_app.logger.error("health check: database unavailable: %s", exc)
    body = {"status": "unavailable", "database": {"ok": False, "error": type(exc).__name__}}
    headers = {"Retry-After": str(current_app.config["DB_RETRY_AFTER_SECONDS"]), "Cache-Control": "no-store"}
    return body, 503, headers


@bp.route("/home")
@roles_required(*ALL_ROLES)
def home():
    """The home page of the logged-in person's role."""
    role = current_user.role
    context: dict = {}
    if role == Role.PLATFORM_ADMIN:
        context["institution_count"] = db.session.scalar(select(func.count()).select_from(Institution))
        context["role_counts"] = institutions.role_counts()
    elif role == Role.INSTITUTION_ADMIN:
        context["role_counts"] = institutions.role_counts(current_user.institution_id)
        context["cohorts"] = institutions.visible_cohorts(current_user)
    elif role == Role.TRAINER:
        context["cohorts"] = institutions.visible_cohorts(current_user)
    elif role in (Role.TEACHER, Role.STUDENT):
        from competency.services import attempt_lifecycle, audience

        context["assessments"] = audience.open_assessments(current_user)
        context["history"] = attempt_lifecycle.history(current_user)
    if role in (Role.TEACHER, Role.STUDENT, Role.TRAINER):
        from competency.services.maturity_respondents import my_tickets

        context["maturity_tickets"] = my_tickets(current_user)
    elif role in (Role.INSTITUTION_ADMIN, Role.PROGRAMME_OFFICER, Role.EXPERT):
        from competency.services.maturity_access import visible_rounds

        context["maturity_rounds"] = visible_rounds(current_user)
    return render_template(f"home/{role}.html", **context)
