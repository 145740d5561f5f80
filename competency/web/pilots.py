"""The pilot programme for applicants, and the application pages everyone involved shares.

Applicants are institution admins; officers and platform admins see every application; an expert sees
only the applications assigned to them. Who may see an application is decided in the service
(pilot_applications.can_view); anyone else gets a 404, so an application's existence is not revealed.
"""

from __future__ import annotations

import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from competency.bilingual import localized
from competency.extensions import db
from competency.models import PilotDesignation, Role
from competency.pdf.application import render_application
from competency.services import pilot_applications as apps
from competency.services import pilot_attachments, pilot_calls, pilot_designations, pilot_files
from competency.services.errors import NotFound, ServiceError
from competency.services.pilot_form import FIELDS, SECTIONS, industries
from competency.web.authz import roles_required
from competency.web.forms import choices
from competency.web.i18n import select_locale
from competency.web.pilot_forms import ActionForm, ApplicationForm, AttachmentForm

bp = Blueprint("pilots", __name__, url_prefix="/pilots")

APPLICANT = (Role.INSTITUTION_ADMIN.value,)
INVOLVED = (
    Role.INSTITUTION_ADMIN.value,
    Role.PROGRAMME_OFFICER.value,
    Role.PLATFORM_ADMIN.value,
    Role.EXPERT.value,
)


def industry_choices(codes: list[str] | None = None) -> list[tuple[str, str]]:
    locale = select_locale()
    return [
        (i.code, localized(i, "name", locale == "en"))
        for i in industries()
        if codes is None or i.code in codes
    ]


def industry_names() -> dict[str, str]:
    return dict(industry_choices())


def _visible(application_id: int):
    try:
        return apps.get_visible(application_id, current_user)
    except NotFound:
        abort(404)


def _own(application_id: int):
    application = _visible(application_id)
    if not apps.is_applicant_of(current_user, application):
        abort(404)
    return application


@bp.route("/")
@roles_required(*APPLICANT)
def index():
    """Open calls and the institution's applications and designations."""
    return render_template(
        "pilots/applicant_index.html",
        calls=pilot_calls.open_calls(),
        applications=apps.for_institution(current_user.institution_id),
        designations=pilot_designations.designations_of(current_user.institution_id),
        designation_status=pilot_designations.designation_status,
        action_form=ActionForm(),
        status_labels=apps.STATUS_LABELS,
    )


@bp.route("/calls/<int:call_id>/apply", methods=["POST"])
@roles_required(*APPLICANT)
def apply(call_id: int):
    """Start (or reopen) the institution's application to a call."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        call = pilot_calls.get(call_id)
        application = apps.start(call, current_user)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("pilots.index"))
    return redirect(url_for("pilots.edit", application_id=application.id))


def _fill(form: ApplicationForm, application) -> None:
    call = application.call
    form.institution_type.choices = choices(
        [("", _("— choose —"))]
        + [(t, label) for t, label in _type_labels().items() if t in call.eligible_types]
    )
    form.industries.choices = choices(industry_choices(call.industries))
    if not form.is_submitted():
        data = application.form or {}
        for field in FIELDS:
            if field.key == "projects":
                continue
            form[field.key].data = data.get(field.key) or ([] if field.key == "industries" else "")
        rows = data.get("projects") or []
        for entry, row in zip(form.projects.entries, rows, strict=False):
            for part in ("partner", "period", "outcomes"):
                entry[part].data = row.get(part, "")


def _type_labels() -> dict:
    from competency.web.forms import INSTITUTION_TYPE_LABELS

    return {str(k.value): v for k, v in INSTITUTION_TYPE_LABELS.items()}


@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
@roles_required(*APPLICANT)
def edit(application_id: int):
    """Fill the 申报表: save a draft, or submit when every required field and attachment is there."""
    application = _own(application_id)
    if not apps.editable(application):
        flash(_("This application is read-only now."), "error")
        return redirect(url_for("pilots.application", application_id=application.id))
    form = ApplicationForm()
    _fill(form, application)
    if not form.is_submitted():
        return _edit_page(application, form)
    if not form.validate():
        return _edit_page(application, form, status=400)
    submitting = bool(form.submit_application.data)
    try:
        if submitting:
            apps.submit(application, current_user, form.values())
        else:
            apps.save_draft(application, form.values(), current_user)
    except ServiceError as exc:
        db.session.rollback()
        return _edit_page(application, form, _show_on_field(form, exc), exc.status)
    if submitting:
        flash(_("Application submitted."), "success")
        return redirect(url_for("pilots.application", application_id=application.id))
    flash(_("Draft saved."), "success")
    return redirect(url_for("pilots.edit", application_id=application.id))


def _show_on_field(form: ApplicationForm, exc: ServiceError) -> str | None:
    """Put a refusal on the field it names; one naming no field of the form is returned to show above it."""
    if exc.field and exc.field in form._fields:
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
        return None
    return exc.message


def _edit_page(application, form: ApplicationForm, problem: str | None = None, status: int = 200):
    return (
        render_template(
            "pilots/edit.html",
            application=application,
            form=form,
            problem=problem,
            sections=SECTIONS,
            attachment_form=AttachmentForm(),
            action_form=ActionForm(),
            missing=apps.missing(application),
            local=pilot_calls.utc_to_local,
        ),
        status,
    )


@bp.route("/applications/<int:application_id>/attachments", methods=["POST"])
@roles_required(*APPLICANT)
def upload(application_id: int):
    """Attach a PDF or Word document; its type is checked by content, its size is limited."""
    application = _own(application_id)
    form = AttachmentForm()
    if not form.validate_on_submit():
        flash(_("Choose a document type and a file."), "error")
        return redirect(url_for("pilots.edit", application_id=application.id)), 303
    upload_file = form.file.data
    if upload_file is None or not getattr(upload_file, "filename", ""):
        flash(_("File: choose a file to upload."), "error")
        return redirect(url_for("pilots.edit", application_id=application.id)), 303
    data = upload_file.read(pilot_files.max_bytes() + 1)
    try:
        pilot_attachments.add_attachment(
            application, form.kind.data, upload_file.filename, data, current_user
        )
    except ServiceError as exc:
        db.session.rollback()
        flash(_("File: %(message)s", message=exc.message), "error")
    else:
        flash(_("Attachment uploaded."), "success")
    return redirect(url_for("pilots.edit", application_id=application.id)), 303


@bp.route("/applications/<int:application_id>/attachments/<int:attachment_id>/delete", methods=["POST"])
@roles_required(*APPLICANT)
def delete_attachment(application_id: int, attachment_id: int):
    """Remove an attachment while the application can still change."""
    application = _own(application_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        pilot_attachments.remove_attachment(application, attachment_id, current_user)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Attachment removed."), "success")
    return redirect(url_for("pilots.edit", application_id=application.id))


@bp.route("/applications/<int:application_id>/withdraw", methods=["POST"])
@roles_required(*APPLICANT)
def withdraw(application_id: int):
    """Withdraw a submitted application (before the deadline) to change it."""
    application = _own(application_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        apps.withdraw(application, current_user)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(
            _("Application withdrawn. You may change it and submit it again until the deadline."), "success"
        )
    return redirect(url_for("pilots.application", application_id=application.id))


@bp.route("/applications/<int:application_id>")
@roles_required(*INVOLVED)
def application(application_id: int):
    """One application, read-only: the form, attachments, screening, and (for officers) the review."""
    application = _visible(application_id)
    officer = apps.is_officer(current_user)
    return render_template(
        "pilots/application.html",
        application=application,
        sections=SECTIONS,
        fields=FIELDS,
        officer=officer,
        applicant=apps.is_applicant_of(current_user, application),
        industry_names=industry_names(),
        editable=apps.editable(application),
        can_withdraw=apps.can_withdraw(application),
        designation=pilot_designations.designation_of(application),
        action_form=ActionForm(),
        local=pilot_calls.utc_to_local,
        status_labels=apps.STATUS_LABELS,
    )


@bp.route("/applications/<int:application_id>/attachments/<int:attachment_id>")
@roles_required(*INVOLVED)
def attachment(application_id: int, attachment_id: int):
    """Download an attachment: only people who may see the application."""
    application = _visible(application_id)
    try:
        item = pilot_attachments.attachment_for(application, attachment_id)
    except NotFound:
        abort(404)
    mimetype = (
        "application/pdf"
        if item.file_type == "pdf"
        else "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    # Read whole (attachments are size-limited): a response that is never read leaves no file open.
    response = send_file(
        io.BytesIO(pilot_files.path_of(item.storage_name).read_bytes()),
        mimetype=mimetype,
        as_attachment=True,
        download_name=item.filename,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/applications/<int:application_id>/pdf")
@roles_required(*INVOLVED)
def pdf(application_id: int):
    """The application as one PDF (the form and the list of attachments), with the embedded CJK font."""
    application = _visible(application_id)
    body = render_application(application, {c: n for c, n in industry_choices_zh()})
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="application-{application.id}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def industry_choices_zh() -> list[tuple[str, str]]:
    return [(i.code, i.name_zh) for i in industries()]


@bp.route("/designations/<int:designation_id>")
@roles_required(Role.INSTITUTION_ADMIN.value, Role.PROGRAMME_OFFICER.value, Role.PLATFORM_ADMIN.value)
def designation(designation_id: int):
    """A designated unit's two-year pilot: milestones, reviews, re-diagnoses."""
    from competency.web.pilot_forms import MilestoneForm, RevokeDesignationForm

    item = db.get_or_404(PilotDesignation, designation_id)
    officer = apps.is_officer(current_user)
    if not officer and current_user.institution_id != item.institution_id:
        abort(404)
    return render_template(
        "pilots/designation.html",
        designation=item,
        status=pilot_designations.designation_status(item),
        officer=officer,
        milestone_form=MilestoneForm(),
        revoke_form=RevokeDesignationForm(),
        industry_names=industry_names(),
        local=pilot_calls.utc_to_local,
        request_path=request.path,
    )


@bp.app_template_filter("beijing")
def beijing(value) -> str:
    """A UTC time shown in Beijing time, labelled (calls and notices are national, whatever the viewer's zone)."""
    if not value:
        return "—"
    return _("%(time)s Beijing time", time=pilot_calls.utc_to_local(value).strftime("%Y-%m-%d %H:%M"))
