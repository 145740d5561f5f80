"""Calls for applications: the list, creating and changing a call, and one call's applications."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from competency.extensions import db
from competency.services import pilot_applications as apps
from competency.services import pilot_calls, pilot_designations, pilot_notice
from competency.services.errors import ServiceError
from competency.services.pilot_form import ATTACHMENT_KINDS, ELIGIBLE_TYPES, FIELDS
from competency.web.authz import roles_required
from competency.web.forms import choices
from competency.web.pilot_forms import ActionForm, CallForm, NoticeForm
from competency.web.pilot_office.common import OFFICERS, bp, call_or_404
from competency.web.pilots import _type_labels, industry_choices, industry_names


def _field_error(form, exc: ServiceError, default: str) -> None:
    name = exc.field if exc.field in form._fields else default
    form[name].errors = [*form[name].errors, exc.message]


@bp.route("/")
@roles_required(*OFFICERS)
def index():
    """Every call with its state and counts."""
    calls = pilot_calls.all_calls()
    return render_template(
        "pilots/office_index.html",
        calls=calls,
        state=pilot_calls.call_state,
        local=pilot_calls.utc_to_local,
        counts={c.id: len(c.applications) for c in calls},
    )


def _call_form(call=None) -> CallForm:
    form = (
        CallForm()
        if call is None or request.method == "POST"
        else CallForm(
            data={
                "title": call.title,
                "description": call.description,
                "eligible_types": call.eligible_types,
                "industries": call.industries,
                "opens_at": pilot_calls.utc_to_local(call.opens_at).replace(tzinfo=None),
                "closes_at": pilot_calls.utc_to_local(call.closes_at).replace(tzinfo=None),
                "quota": call.quota,
                "weight_diagnosis": call.weight_diagnosis,
                "spread_threshold": int(call.spread_threshold),
                "rubric": pilot_calls.rubric_text(call.rubric),
                "required_fields": call.required_fields,
                "required_attachments": call.required_attachments,
            }
        )
    )
    form.eligible_types.choices = choices((t, _type_labels()[t]) for t in ELIGIBLE_TYPES)
    form.industries.choices = choices(industry_choices())
    form.required_fields.choices = choices((f.key, f.label) for f in FIELDS)
    form.required_attachments.choices = choices(ATTACHMENT_KINDS.items())
    if call is None and request.method != "POST":
        opens, closes = pilot_calls.default_window()
        form.opens_at.data, form.closes_at.data = opens, closes
        form.quota.data, form.weight_diagnosis.data, form.spread_threshold.data = 10, 40, 20
        form.rubric.data = pilot_calls.rubric_text(pilot_calls.DEFAULT_RUBRIC)
        form.eligible_types.data = list(ELIGIBLE_TYPES)
        form.industries.data = [code for code, _name in industry_choices()]
        form.required_fields.data = [f.key for f in FIELDS]
        form.required_attachments.data = ["stamped_scan"]
    return form


def _save_call(call=None):
    form = _call_form(call)
    status = 200
    if form.validate_on_submit():
        data = {name: field.data for name, field in form._fields.items()}
        try:
            saved = (
                pilot_calls.create(data, current_user)
                if call is None
                else pilot_calls.update(call, data, current_user)
            )
        except ServiceError as exc:
            db.session.rollback()
            _field_error(form, exc, "title")
            status = 400
        else:
            flash(_("Call saved."), "success")
            return redirect(url_for("pilot_office.call", call_id=saved.id))
    elif form.is_submitted():
        status = 400
    return render_template("pilots/call_form.html", form=form, call=call), status


@bp.route("/calls/new", methods=["GET", "POST"])
@roles_required(*OFFICERS)
def new_call():
    """Create a call: eligibility, industries, window, quota, rubric and weights."""
    return _save_call()


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
@roles_required(*OFFICERS)
def edit_call(call_id: int):
    """Change a call."""
    return _save_call(call_or_404(call_id))


@bp.route("/calls/<int:call_id>")
@roles_required(*OFFICERS)
def call(call_id: int):
    """All applications of one call, filtered by status, type and industry, with counts per status."""
    item = call_or_404(call_id)
    filters = {key: request.args.get(key, "") for key in ("status", "type", "industry")}
    shown, counts = apps.filtered_for_call(item, filters["status"], filters["type"], filters["industry"])
    return render_template(
        "pilots/office_call.html",
        call=item,
        applications=shown,
        counts=counts,
        filters=filters,
        status_labels=apps.STATUS_LABELS,
        type_labels=_type_labels(),
        industry_names=industry_names(),
        state=pilot_calls.call_state(item),
        notice_state=pilot_notice.notice_state(item),
        local=pilot_calls.utc_to_local,
        action_form=ActionForm(),
        notice_form=NoticeForm(procedure=item.objection_procedure),
        designations=pilot_designations.designations_for_call(item),
        designation_status=pilot_designations.designation_status,
    )
