"""The landing page and each role's home page."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

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
    """Liveness for the reverse proxy: the database answers."""
    db.session.execute(select(1))
    return {"status": "ok"}


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
        from competency.services import assessments, attempts

        context["assessments"] = assessments.open_assessments(current_user)
        context["history"] = attempts.history(current_user)
    if role in (Role.TEACHER, Role.STUDENT, Role.TRAINER):
        from competency.services.maturity_rounds import my_tickets

        context["maturity_tickets"] = my_tickets(current_user)
    elif role in (Role.INSTITUTION_ADMIN, Role.PROGRAMME_OFFICER, Role.EXPERT):
        from competency.services.maturity_access import visible_rounds

        context["maturity_rounds"] = visible_rounds(current_user)
    return render_template(f"home/{role}.html", **context)
