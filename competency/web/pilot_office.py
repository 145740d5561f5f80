"""Programme officers run calls: screening, diagnosis, expert assignment, ranking and selection, the
public notice and objections, designation and tracking; dashboards with exports."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from competency.extensions import db
from competency.models import PilotMilestone, Role
from competency.services import pilot_applications as apps
from competency.services import (
    pilot_calls,
    pilot_dashboards,
    pilot_designations,
    pilot_notice,
    pilot_reviews,
    pilot_screening,
    pilot_selection,
)
from competency.services.errors import NotFound, ServiceError
from competency.services.pilot_calls import local_to_utc
from competency.services.pilot_form import ATTACHMENT_KINDS, ELIGIBLE_TYPES, FIELDS
from competency.web import charts
from competency.web.authz import roles_required
from competency.web.forms import choices
from competency.web.pilot_forms import (
    ActionForm,
    AssignForm,
    CallForm,
    NoticeForm,
    PanelNoteForm,
    ResolveForm,
    ScreeningForm,
)
from competency.web.pilots import _type_labels, industry_choices, industry_names

bp = Blueprint("pilot_office", __name__, url_prefix="/pilots/office")

FUNNEL_LABELS = {
    "drafts": _l("Drafts"),
    "submitted": _l("Submitted"),
    "screened": _l("Screened"),
    "diagnosed": _l("Diagnosed"),
    "reviewed": _l("Reviewed"),
    "selected": _l("Selected"),
    "designated": _l("Designated"),
}

OFFICERS = (Role.PROGRAMME_OFFICER.value, Role.PLATFORM_ADMIN.value)


def _call(call_id: int):
    try:
        return pilot_calls.get(call_id)
    except NotFound:
        abort(404)


def _application(application_id: int):
    try:
        return apps.get_visible(application_id, current_user)
    except NotFound:
        abort(404)


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
    return _save_call(_call(call_id))


@bp.route("/calls/<int:call_id>")
@roles_required(*OFFICERS)
def call(call_id: int):
    """All applications of one call, filtered by status, type and industry, with counts per status."""
    item = _call(call_id)
    everything = apps.for_call(item)
    status = request.args.get("status", "")
    kind = request.args.get("type", "")
    industry = request.args.get("industry", "")
    shown = [
        a
        for a in everything
        if (not status or a.status == status)
        and (not kind or (a.form or {}).get("institution_type") == kind)
        and (not industry or industry in ((a.form or {}).get("industries") or []))
    ]
    counts: dict[str, int] = {}
    for a in everything:
        counts[a.status] = counts.get(a.status, 0) + 1
    return render_template(
        "pilots/office_call.html",
        call=item,
        applications=shown,
        counts=counts,
        filters={"status": status, "type": kind, "industry": industry},
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


@bp.route("/applications/<int:application_id>", methods=["GET", "POST"])
@roles_required(*OFFICERS)
def work(application_id: int):
    """The officer's workbench for one application: screening, diagnosis, experts, panel note."""
    application = _application(application_id)
    screening = ScreeningForm(prefix="s")
    assign = AssignForm(prefix="a")
    note = PanelNoteForm(prefix="n")
    experts = pilot_reviews.experts()
    assign.experts.choices = choices((e.id, e.display_name) for e in experts)
    status = 200
    if request.method == "POST":
        try:
            if screening.screen.data and screening.validate():
                checklist = {key: screening[f"check_{key}"].data for key in pilot_screening.SCREENING_CHECKLIST}
                fix_by = local_to_utc(screening.fix_by.data) if screening.fix_by.data else None
                pilot_screening.screen(
                    application,
                    screening.decision.data,
                    checklist,
                    screening.reasons.data,
                    fix_by,
                    current_user,
                )
                flash(_("Screening recorded."), "success")
                return redirect(url_for("pilot_office.work", application_id=application.id))
            if assign.assign.data and assign.validate():
                warning = pilot_reviews.assign(application, assign.experts.data or [], current_user)
                flash(_("Experts assigned."), "success")
                if warning:
                    flash(warning, "error")
                return redirect(url_for("pilot_office.work", application_id=application.id))
            if note.save_note.data and note.validate():
                pilot_reviews.record_panel_note(application, note.note.data, current_user)
                flash(_("Panel note recorded."), "success")
                return redirect(url_for("pilot_office.work", application_id=application.id))
            status = 400
        except ServiceError as exc:
            db.session.rollback()
            status = exc.status
            if screening.screen.data:
                target = screening
                default = "reasons"
            elif assign.assign.data:
                target, default = assign, "experts"
            else:
                target, default = note, "note"
            key = exc.field if exc.field in target._fields else default
            target[key].errors = [*target[key].errors, exc.message]
    conflicts = {e.id: pilot_reviews.conflict_of(e, application) for e in experts}
    return (
        render_template(
            "pilots/office_application.html",
            application=application,
            screening=screening,
            assign=assign,
            note=note,
            checklist=pilot_screening.SCREENING_CHECKLIST,
            experts=experts,
            conflicts=conflicts,
            loads=pilot_reviews.loads(application.call_id),
            assigned={r.expert_id for r in application.reviews},
            action_form=ActionForm(),
            status_labels=apps.STATUS_LABELS,
            local=pilot_calls.utc_to_local,
            settled=pilot_selection.settled(application),
            screenable=pilot_screening.screenable(application),
        ),
        status,
    )


@bp.route("/applications/<int:application_id>/diagnosis", methods=["POST"])
@roles_required(*OFFICERS)
def diagnosis(application_id: int):
    """Ask for the maturity diagnosis, or attach its result once the round is closed."""
    application = _application(application_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        if application.status == "screened":
            pilot_reviews.request_diagnosis(application, current_user)
            flash(_("Diagnosis requested."), "success")
        elif pilot_reviews.refresh_diagnosis(application, current_user):
            flash(_("Diagnosis result attached."), "success")
        else:
            flash(_("The diagnosis round is not closed yet."), "error")
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("pilot_office.work", application_id=application.id))


@bp.route("/calls/<int:call_id>/ranking", methods=["GET", "POST"])
@roles_required(*OFFICERS)
def ranking(call_id: int):
    """The ranking by the call's weights, and the selection up to the quota (departures need reasons)."""
    item = _call(call_id)
    form = ActionForm()
    problem, status = None, 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        chosen = [int(v) for v in request.form.getlist("selected") if v.isdigit()]
        reasons = {
            int(key.removeprefix("reason_")): value
            for key, value in request.form.items()
            if key.startswith("reason_") and key.removeprefix("reason_").isdigit()
        }
        try:
            departures = pilot_selection.select_units(item, chosen, reasons, current_user)
        except ServiceError as exc:
            db.session.rollback()
            problem, status = exc.message, exc.status
        else:
            flash(
                _(
                    "Selection saved (%(n)s departures from the ranking, each with its reason).",
                    n=len(departures),
                ),
                "success",
            )
            return redirect(url_for("pilot_office.ranking", call_id=item.id))
    ranked = pilot_selection.ranking(item)
    return (
        render_template(
            "pilots/ranking.html",
            call=item,
            ranked=ranked,
            form=form,
            problem=problem,
            chosen=set(int(v) for v in request.form.getlist("selected") if v.isdigit())
            if request.method == "POST"
            else {r.application.id for r in ranked if r.application.status == "selected"}
            or {r.application.id for r in ranked[: item.quota]},
            reasons=request.form if request.method == "POST" else {},
            status_labels=apps.STATUS_LABELS,
        ),
        status,
    )


@bp.route("/calls/<int:call_id>/notice", methods=["POST"])
@roles_required(*OFFICERS)
def notice(call_id: int):
    """Publish the public notice (公示) with its period and the objection procedure."""
    item = _call(call_id)
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
    item = _call(call_id)
    rows = [o for a in pilot_selection.selected(item) for o in a.objections]
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
    item = _call(call_id)
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


@bp.route("/milestones/<int:milestone_id>", methods=["POST"])
@roles_required(*OFFICERS)
def milestone(milestone_id: int):
    """Track the pilot: mark a milestone done, request a re-diagnosis, attach its result."""
    from competency.web.pilot_forms import MilestoneForm

    item = db.session.get(PilotMilestone, milestone_id)
    if item is None:
        abort(404)
    designation_id = item.designation_id
    form = MilestoneForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        pilot_designations.update_milestone(milestone_id, form.action.data, form.note.data, current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Milestone updated."), "success")
    return redirect(url_for("pilots.designation", designation_id=designation_id))


@bp.route("/designations/<int:designation_id>/revoke", methods=["POST"])
@roles_required(*OFFICERS)
def revoke(designation_id: int):
    """Revoke a designation, with the reason (the public record then says revoked)."""
    from competency.web.pilot_forms import RevokeDesignationForm

    form = RevokeDesignationForm()
    try:
        item = pilot_designations.get_designation(designation_id)
    except NotFound:
        abort(404)
    if not form.validate_on_submit():
        flash(_("Reason for revocation: required."), "error")
        return redirect(url_for("pilots.designation", designation_id=item.id))
    try:
        pilot_designations.revoke(item, form.reason.data, current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Designation revoked."), "success")
    return redirect(url_for("pilots.designation", designation_id=item.id))


@bp.route("/dashboard")
@roles_required(*OFFICERS)
def dashboard():
    """The funnel and counts by status, type, industry and region, for one call or all."""
    call_id = request.args.get("call", type=int)
    summary = pilot_dashboards.summary(call_id)
    labels = [str(FUNNEL_LABELS[name]) for name, _count in summary["funnel"]]
    counts = [count for _name, count in summary["funnel"]]
    funnel_svg = charts.bars(
        labels,
        counts,
        max(counts + [1]),
        _("Application funnel"),
        _("Applications that reached each step; the table beside gives the numbers."),
    )
    return render_template(
        "pilots/dashboard.html",
        summary=summary,
        funnel_svg=funnel_svg,
        funnel_labels=FUNNEL_LABELS,
        calls=pilot_calls.all_calls(),
        call_id=call_id,
        status_labels=apps.STATUS_LABELS,
        type_labels=_type_labels(),
        industry_names=industry_names(),
    )


@bp.route("/dashboard/export")
@roles_required(*OFFICERS)
def export():
    """Every application of a call (or all) as CSV (streamed) or XLSX."""
    call_id = request.args.get("call", type=int)
    fmt = request.args.get("format", "csv")
    if fmt == "xlsx":
        response = Response(
            pilot_dashboards.xlsx(call_id),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    elif fmt == "csv":
        # The rows are read in the request; the CSV text is produced and sent row by row.
        response = Response(
            pilot_dashboards.csv_stream(list(pilot_dashboards.rows(call_id))),
            mimetype="text/csv; charset=utf-8",
        )
    else:
        raise ServiceError("format", _("Choose CSV or XLSX."), "format")
    response.headers["Content-Disposition"] = f'attachment; filename="pilot-applications.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
