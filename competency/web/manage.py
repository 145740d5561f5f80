"""Assessment definitions for admins and trainers: edit drafts, publish with a simulation, archive, duplicate."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from competency.extensions import db
from competency.models import Assessment, Institution
from competency.services import assessment_definitions as definitions
from competency.services import institutions
from competency.services.errors import ServiceError
from competency.services.publishing import publish as publish_assessment
from competency.web import charts
from competency.web.authz import STAFF, roles_required
from competency.web.manage_forms import (
    HELP,
    KIND_DEFAULTS,
    KINDS,
    AssessmentForm,
    apply_kind_defaults,
    fill_choices,
    form_to_values,
    values_to_form_data,
)

bp = Blueprint("manage", __name__, url_prefix="/manage/assessments")


class ActionForm(FlaskForm):
    """Carries the CSRF token of the publish, archive and duplicate buttons."""


def _managed(assessment_id: int) -> Assessment:
    assessment = db.get_or_404(Assessment, assessment_id)
    if not definitions.can_manage(current_user, assessment):
        abort(404)
    return assessment


def _visible(assessment_id: int) -> Assessment:
    assessment = db.get_or_404(Assessment, assessment_id)
    if not definitions.visible_to(current_user, assessment):
        abort(404)
    return assessment


@bp.route("/")
@roles_required(*STAFF)
def index():
    """Assessments the viewer may manage or see."""
    rows = definitions.visible_to_manager(current_user)
    return render_template(
        "manage/index.html", rows=rows, can_manage=lambda a: definitions.can_manage(current_user, a)
    )


def _form(assessment: Assessment | None) -> AssessmentForm:
    tz = current_user.timezone or "Asia/Shanghai"
    data = values_to_form_data(assessment, tz) if assessment is not None else None
    form = AssessmentForm(data=data) if data is not None else AssessmentForm()
    schools = []
    if current_user.role == "platform_admin":
        schools = db.session.scalars(select(Institution).order_by(Institution.name)).all()
    fill_choices(form, institutions.visible_cohorts(current_user), schools)
    if assessment is None and not form.is_submitted():
        kind = request.args.get("kind", "")
        apply_kind_defaults(form, kind if kind in KIND_DEFAULTS else "teacher_graded")
    return form


def _edit(assessment: Assessment | None):
    form = _form(assessment)
    status = 200
    if form.validate_on_submit():
        try:
            saved = definitions.save_definition(
                assessment, form_to_values(form, current_user.timezone or "Asia/Shanghai"), current_user
            )
        except ServiceError as exc:
            db.session.rollback()
            getattr(form, exc.field or "code", form.code).errors.append(exc.message)
            status = 400
        else:
            flash(_("Draft saved. Publish it to run the simulation and open it."), "success")
            return redirect(url_for("manage.detail", assessment_id=saved.id))
    elif form.is_submitted():
        status = 400
    return (
        render_template(
            "manage/edit.html",
            form=form,
            assessment=assessment,
            help=HELP,
            kinds=KINDS,
            defaults=KIND_DEFAULTS,
        ),
        status,
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new():
    """A new draft assessment."""
    return _edit(None)


@bp.route("/<int:assessment_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(assessment_id: int):
    """Edit a draft."""
    assessment = _managed(assessment_id)
    if assessment.status != "draft":
        flash(_("Only a draft can be edited; duplicate it to make changes."), "error")
        return redirect(url_for("manage.detail", assessment_id=assessment.id))
    return _edit(assessment)


@bp.route("/<int:assessment_id>")
@roles_required(*STAFF)
def detail(assessment_id: int):
    """The definition and, once published, its simulation report."""
    assessment = _visible(assessment_id)
    sim = assessment.simulation
    return render_template(
        "manage/detail.html",
        assessment=assessment,
        sim=sim,
        chart=_precision_chart(sim),
        form=ActionForm(),
        can_manage=definitions.can_manage(current_user, assessment),
    )


def _precision_chart(sim: dict | None) -> str | None:
    """Mean SE and RMSE by true θ band in the publishing simulation, as a line chart."""
    if not sim or not sim.get("conditional"):
        return None
    rows = [r for r in sim["conditional"] if r.get("n")]
    return charts.line(
        [_("Mean standard error"), _("RMSE")],
        [[r.get("se") for r in rows], [r.get("rmse") for r in rows]],
        [str(r.get("label", "")) for r in rows],
        0,
        1.2,
        _("Precision by true θ in the simulation"),
        _("Mean standard error and RMSE of the estimate in each θ band; the table lists the same values."),
    )


@bp.route("/<int:assessment_id>/publish", methods=["POST"])
@roles_required(*STAFF)
def publish(assessment_id: int):
    """Check the definition, freeze the pool, simulate, open."""
    assessment = _managed(assessment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if assessment.status != "draft":
        flash(_("Only a draft can be published."), "error")
    else:
        try:
            publish_assessment(
                assessment, actor=current_user, override_reason=request.form.get("override_reason", "")[:500]
            )
        except ServiceError as exc:
            db.session.rollback()
            flash(_("Not published: %(problems)s", problems=exc.message), "error")
        else:
            flash(_("Published. The simulation report is below."), "success")
    return redirect(url_for("manage.detail", assessment_id=assessment_id))


@bp.route("/<int:assessment_id>/archive", methods=["POST"])
@roles_required(*STAFF)
def archive(assessment_id: int):
    """Close a published assessment to new attempts."""
    assessment = _managed(assessment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        definitions.archive(assessment, current_user)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Archived."), "success")
    return redirect(url_for("manage.detail", assessment_id=assessment_id))


@bp.route("/<int:assessment_id>/duplicate", methods=["POST"])
@roles_required(*STAFF)
def duplicate(assessment_id: int):
    """Copy into a new draft."""
    assessment = _visible(assessment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    copy = definitions.duplicate(assessment, current_user)
    flash(_("Copied into a new draft."), "success")
    return redirect(url_for("manage.edit", assessment_id=copy.id))
