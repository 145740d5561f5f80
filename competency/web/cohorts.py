"""Cohorts: trainers and institution admins group teachers or students."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from competency.services import institutions
from competency.services.errors import NotFound, ServiceError
from competency.services.resources import templates
from competency.web.authz import STAFF, roles_required
from competency.web.forms import AddMemberForm, CohortForm, RemoveMemberForm
from competency.web.labels import bi
from competency.web.listing import list_args

bp = Blueprint("cohorts", __name__, url_prefix="/cohorts")


def _cohort_or_404(cohort_id: int):
    try:
        return institutions.get_cohort(cohort_id, current_user)
    except NotFound:
        abort(404)


@bp.route("/", methods=["GET", "POST"])
@roles_required(*STAFF)
def index():
    """The cohorts of the viewer's institution and a form to create one."""
    form = CohortForm()
    if form.validate_on_submit():
        try:
            cohort = institutions.create_cohort(form.name.data, current_user, form.description.data or "")
        except ServiceError as exc:
            getattr(form, exc.field or "name", form.name).errors.append(exc.message)
        else:
            flash(_("Cohort created."), "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    return render_template(
        "cohorts/index.html", form=form, cohorts=institutions.visible_cohorts(current_user)
    )


@bp.route("/<int:cohort_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def detail(cohort_id: int):
    """Members of one cohort; add a member by user name."""
    cohort = _cohort_or_404(cohort_id)
    form = AddMemberForm()
    if form.validate_on_submit():
        try:
            institutions.add_member(cohort, form.username.data, current_user)
        except ServiceError as exc:
            form.username.errors.append(exc.message)
        else:
            flash(_("Member added."), "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    args = list_args(institutions.MEMBER_SORTS)
    return render_template(
        "cohorts/detail.html",
        cohort=cohort,
        form=form,
        remove_form=RemoveMemberForm(),
        layer_names={t.code: bi(t, "title") for t in templates()},
        page=institutions.member_page(cohort, **args),
        args=args,
        sorts={"username": _("User name"), "name": _("Name")},
    )


@bp.route("/<int:cohort_id>/remove", methods=["POST"])
@roles_required(*STAFF)
def remove(cohort_id: int):
    """Remove a member from a cohort."""
    cohort = _cohort_or_404(cohort_id)
    form = RemoveMemberForm()
    if form.validate_on_submit() and form.user_id.data.isdigit():
        try:
            institutions.remove_member(cohort, int(form.user_id.data), current_user)
        except NotFound:
            abort(404)
        flash(_("Member removed."), "success")
    return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
