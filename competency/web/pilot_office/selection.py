"""择优 and 公示: the ranking and the selection, the public notice, objections, and designation after the
publicity period."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from competency.extensions import db
from competency.services import pilot_applications as apps
from competency.services import pilot_calls, pilot_designations, pilot_notice, pilot_selection
from competency.services.errors import NotFound, ServiceError
from competency.services.pilot_calls import local_to_utc
from competency.web.authz import roles_required
from competency.web.pilot_forms import ActionForm, NoticeForm, ResolveForm
from competency.web.pilot_office.common import OFFICERS, bp, call_or_404


@bp.route("/calls/<int:call_id>/ranking", methods=["GET", "POST"])
@roles_required(*OFFICERS)
def ranking(call_id: int):
    """The ranking by the call's weights, and the selection up to the quota (departures need reasons)."""
    item = call_or_404(call_id)
    form = ActionForm()
    if request.method == "GET":
        return _ranking_page(item, form)
    if not form.validate_on_submit():
        abort(400)
    chosen, reasons = _selection_input()
    try:
        departures = pilot_selection.select_units(item, chosen, reasons, current_user)
    except ServiceError as exc:
        db.session.rollback()
        return _ranking_page(item, form, exc.message, exc.status)
    flash(
        _("Selection saved (%(n)s departures from the ranking, each with its reason).", n=len(departures)),
        "success",
    )
    return redirect(url_for("pilot_office.ranking", call_id=item.id))


def _selection_input() -> tuple[list[int], dict[int, str]]:
    """The ticked applications and the reason given for each departure (fields ``reason_<id>``)."""
    chosen = [int(v) for v in request.form.getlist("selected") if v.isdigit()]
    reasons = {
        int(key.removeprefix("reason_")): value
        for key, value in request.form.items()
        if key.startswith("reason_") and key.removeprefix("reason_").isdigit()
    }
    return chosen, reasons


def _ranking_page(item, form: ActionForm, problem: str | None = None, status: int = 200):
    ranked = pilot_selection.ranking(item)
    posted = request.method == "POST"
    return (
        render_template(
            "pilots/ranking.html",
            call=item,
            ranked=ranked,
            form=form,
            problem=problem,
            chosen=set(_selection_input()[0]) if posted else pilot_selection.preselected(ranked, item.quota),
            reasons=request.form if posted else {},
            status_labels=apps.STATUS_LABELS,
        ),
        status,
    )


@bp.route("/calls/<int:call_id>/notice", methods=["POST"])
@roles_required(*OFFICERS)
def notice(call_id: int):
    """Publish the public notice (公示) with its period and the objection procedure."""
    item = call_or_404(call_id)
    form = NoticeForm()
    if not form.validate_on_submit():
        flash(_("Publicity period: enter valid dates."), "error")
        return redirect(url_for("pilot_office.call", call_id=item.id))
    try:
        pilot_notice.publish_notice(
            item,
            local_to_utc(form.starts_at.data) if form.starts_at.data else None,
            local_to_utc(form.ends_at.data) if form.ends_at.data else None,
            form.procedure.data,
            current_user,
        )
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Public notice published."), "success")
    return redirect(url_for("pilot_office.call", call_id=item.id))


@bp.route("/objections/<int:objection_id>/resolve", methods=["POST"])
@roles_required(*OFFICERS)
def resolve(objection_id: int):
    """Record how an objection was checked: upheld (the unit is not designated) or dismissed."""
    form = ResolveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        objection = pilot_notice.resolve_objection(
            objection_id, form.outcome.data, form.resolution.data, current_user
        )
    except NotFound:
        abort(404)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("pilot_office.index"))
    flash(_("Objection resolved."), "success")
    return redirect(url_for("pilot_office.objections", call_id=objection.application.call_id))


@bp.route("/calls/<int:call_id>/objections")
@roles_required(*OFFICERS)
def objections(call_id: int):
    """Objections to the call's notice and their resolution."""
    item = call_or_404(call_id)
    rows = pilot_notice.objections(item)
    return render_template(
        "pilots/objections.html",
        call=item,
        objections=rows,
        form=ResolveForm(),
        local=pilot_calls.utc_to_local,
    )


@bp.route("/calls/<int:call_id>/designate", methods=["POST"])
@roles_required(*OFFICERS)
def designate(call_id: int):
    """After the publicity period: designate the selected units as 试点单位 for two years."""
    item = call_or_404(call_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        made = pilot_designations.designate(item, current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("%(n)s units designated.", n=len(made)), "success")
    return redirect(url_for("pilot_office.call", call_id=item.id))
