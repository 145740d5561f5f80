"""The officer's workbench for one application: screening, the maturity diagnosis, experts, the panel
note."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from competency.extensions import db
from competency.services import pilot_applications as apps
from competency.services import pilot_calls, pilot_reviews, pilot_screening
from competency.services.errors import ServiceError
from competency.services.pilot_calls import local_to_utc
from competency.web.authz import roles_required
from competency.web.forms import choices
from competency.web.pilot_forms import ActionForm, AssignForm, PanelNoteForm, ScreeningForm
from competency.web.pilot_office.common import OFFICERS, application_or_404, bp


@bp.route("/applications/<int:application_id>", methods=["GET", "POST"])
@roles_required(*OFFICERS)
def work(application_id: int):
    """The officer's workbench for one application: screening, diagnosis, experts, panel note."""
    application = application_or_404(application_id)
    experts = pilot_reviews.experts()
    forms = {
        "screening": ScreeningForm(prefix="s"),
        "assign": AssignForm(prefix="a"),
        "note": PanelNoteForm(prefix="n"),
    }
    forms["assign"].experts.choices = choices((e.id, e.display_name) for e in experts)
    status = 200
    if request.method == "POST":
        status = _act(application, forms)
        if status is None:
            return redirect(url_for("pilot_office.work", application_id=application.id))
    return (
        render_template(
            "pilots/office_application.html",
            application=application,
            **forms,
            **pilot_screening.workbench(application, experts),
            action_form=ActionForm(),
            status_labels=apps.STATUS_LABELS,
            local=pilot_calls.utc_to_local,
        ),
        status,
    )


def _screen(application, form: ScreeningForm) -> None:
    checklist = {key: form[f"check_{key}"].data for key in pilot_screening.SCREENING_CHECKLIST}
    fix_by = local_to_utc(form.fix_by.data) if form.fix_by.data else None
    pilot_screening.screen(
        application, form.decision.data, checklist, form.reasons.data, fix_by, current_user
    )
    flash(_("Screening recorded."), "success")


def _assign(application, form: AssignForm) -> None:
    warning = pilot_reviews.assign(application, form.experts.data or [], current_user)
    flash(_("Experts assigned."), "success")
    if warning:
        flash(warning, "error")


def _note(application, form: PanelNoteForm) -> None:
    pilot_reviews.record_panel_note(application, form.note.data, current_user)
    flash(_("Panel note recorded."), "success")


# The workbench's forms: the button that sends each, its action, and the field a refusal is shown on
# when the refusal names none of the form's own.
_ACTIONS = (
    ("screening", "screen", _screen, "reasons"),
    ("assign", "assign", _assign, "experts"),
    ("note", "save_note", _note, "note"),
)


def _act(application, forms: dict) -> int | None:
    """Run the action whose button was pressed: None when done, else the status to show the page with."""
    try:
        for name, button, action, _default in _ACTIONS:
            if forms[name][button].data and forms[name].validate():
                action(application, forms[name])
                return None
        return 400
    except ServiceError as exc:
        db.session.rollback()
        name, default = next(((n, d) for n, b, _a, d in _ACTIONS if forms[n][b].data), ("note", "note"))
        key = exc.field if exc.field in forms[name]._fields else default
        forms[name][key].errors = [*forms[name][key].errors, exc.message]
        return exc.status


@bp.route("/applications/<int:application_id>/diagnosis", methods=["POST"])
@roles_required(*OFFICERS)
def diagnosis(application_id: int):
    """Ask for the maturity diagnosis, or attach its result once the round is closed."""
    application = application_or_404(application_id)
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
