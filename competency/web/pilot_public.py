"""Public pages, no login: the notice (公示) of selected units with the objection form, and the register
of designated pilot units (试点单位) with a page per code."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from competency.extensions import db
from competency.services import pilot_calls, pilot_designations, pilot_notice, pilot_selection
from competency.services.errors import NotFound, ServiceError
from competency.web.authz import public
from competency.web.forms import choices
from competency.web.pilot_forms import ObjectionForm
from competency.web.pilots import _type_labels, industry_names

bp = Blueprint("pilot_public", __name__)


@bp.route("/notices/pilots/<int:call_id>", methods=["GET", "POST"])
@public
def notice(call_id: int):
    """The public notice of one call: the selected units, the publicity period, how to object."""
    try:
        call = pilot_notice.published(call_id)
    except NotFound:
        abort(404)
    form = ObjectionForm()
    form.application_id.choices = choices(pilot_notice.objectable_units(call))
    if not form.is_submitted():
        return _notice_page(call, form)
    if not form.validate():
        return _notice_page(call, form, 400)
    try:
        pilot_notice.object_to(
            call,
            form.application_id.data,
            form.name.data,
            form.contact.data,
            form.text.data,
            ip=request.remote_addr,
        )
    except ServiceError as exc:
        db.session.rollback()
        field = exc.field if exc.field in form._fields else "text"
        form[field].errors = [*form[field].errors, exc.message]
        return _notice_page(call, form, exc.status)
    flash(_("Your objection was recorded. The centre will check it and answer you."), "success")
    return redirect(url_for("pilot_public.notice", call_id=call.id))


def _notice_page(call, form: ObjectionForm, status: int = 200):
    return (
        render_template(
            "pilots/notice.html",
            call=call,
            units=pilot_selection.selected(call),
            form=form,
            state=pilot_notice.notice_state(call),
            local=pilot_calls.utc_to_local,
            type_labels=_type_labels(),
            industry_names=industry_names(),
        ),
        status,
    )


@bp.route("/pilot-units")
@public
def register():
    """Every designated pilot unit, with its status and a link to its record."""
    query = (request.args.get("code") or "").strip()
    if query:
        return redirect(url_for("pilot_public.unit", code=pilot_designations.normalise_code(query)))
    return render_template(
        "pilots/register.html",
        designations=pilot_designations.designations(),
        status=pilot_designations.designation_status,
        type_labels=_type_labels(),
        industry_names=industry_names(),
    )


@bp.route("/pilot-units/<code>")
@public
def unit(code: str):
    """The verifiable record of one designated unit."""
    try:
        designation = pilot_designations.find_designation(code)
    except NotFound:
        return render_template("pilots/unit_unknown.html", code=code[:32]), 404
    return render_template(
        "pilots/unit.html",
        designation=designation,
        status=pilot_designations.designation_status(designation),
        type_labels=_type_labels(),
        industry_names=industry_names(),
    )
