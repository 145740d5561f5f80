"""Certificates: the holder's list and PDF, public verification, revocation by admins."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from competency.models import Role
from competency.pdf import render_certificate
from competency.services import certificates
from competency.services.errors import NotFound, ServiceError
from competency.web.authz import ALL_ROLES, public, roles_required
from competency.web.forms import choices
from competency.web.i18n import select_locale

bp = Blueprint("certificates", __name__)


@bp.app_template_filter("day")
def day(value) -> str:
    """A date without the time of day, in the viewer's time zone (certificates are dated, not timed)."""
    return format_date(value, "long") if value else ""


ADMINS = (Role.PLATFORM_ADMIN.value, Role.INSTITUTION_ADMIN.value)


class RevokeForm(FlaskForm):
    category = SelectField(
        _l("Category (shown to the public)"),
        choices=choices(certificates.REVOCATION_LABELS.items()),
        validators=[DataRequired()],
    )
    reason = TextAreaField(_l("Reason for revocation"), validators=[DataRequired(), Length(max=500)])
    confirm = BooleanField(
        _l(
            "Yes, revoke it: anyone who checks this certificate will see it as revoked, and this cannot be undone"
        ),
        validators=[DataRequired(_l("Tick the box to confirm the revocation."))],
    )
    submit = SubmitField(_l("Revoke certificate"))


class VerifyForm(FlaskForm):
    class Meta:
        csrf = False  # a read-only lookup by GET

    code = StringField(_l("Certificate code"), validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Verify"))


def verify_url(code: str) -> str:
    return url_for("certificates.verify", code=code, _external=True)


def _cert_or_404(code: str):
    try:
        return certificates.find(code)
    except NotFound:
        abort(404)


@bp.route("/certificates/")
@roles_required(*ALL_ROLES)
def mine():
    """The certificates the logged-in person holds."""
    return render_template(
        "certificates/mine.html",
        certificates=certificates.held_by(current_user),
        status=certificates.status,
        format_code=certificates.format_code,
    )


@bp.route("/certificates/<code>.pdf")
@roles_required(*ALL_ROLES)
def pdf(code: str):
    """Download a certificate as PDF: its holder, or an admin of the holder's institution."""
    cert = _cert_or_404(code)
    if not certificates.can_download(current_user, cert):
        abort(404)
    body = render_certificate(cert, verify_url(cert.code))
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{cert.code}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/verify", methods=["GET"])
@public
def verify_form():
    """Type in a certificate code to check it; no login needed."""
    form = VerifyForm(request.args)
    if request.args and form.validate():
        return redirect(url_for("certificates.verify", code=certificates.normalise_code(form.code.data)))
    return render_template("certificates/verify_form.html", form=form)


@bp.route("/verify/<code>")
@public
def verify(code: str):
    """The public verification page of one certificate: status, display name, assessment, levels, dates."""
    try:
        cert = certificates.find_public(code, request.remote_addr or "?")
    except NotFound:
        return render_template("certificates/verify_unknown.html", code=code[:64]), 404
    view = certificates.public_view(cert, select_locale())
    return render_template(
        "certificates/verify.html",
        view=view,
        cert=cert,
        format_code=certificates.format_code,
        scale=cert.scale,
    )


@bp.route("/certificates/manage")
@roles_required(*ADMINS)
def manage():
    """Certificates of the admin's institution (all for a platform admin), with revocation."""
    return render_template(
        "certificates/manage.html",
        certificates=certificates.managed_by(current_user),
        status=certificates.status,
        format_code=certificates.format_code,
    )


@bp.route("/certificates/<code>/revoke", methods=["GET", "POST"])
@roles_required(*ADMINS)
def revoke(code: str):
    """Revoke one certificate with a reason."""
    cert = _cert_or_404(code)
    if not certificates.can_manage(current_user, cert):
        abort(404)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            certificates.revoke(cert, form.reason.data, current_user, form.category.data)
        except ServiceError as exc:
            form.reason.errors.append(exc.message)
        else:
            flash(_("Certificate revoked."), "success")
            return redirect(url_for("certificates.manage"))
    return render_template(
        "certificates/revoke.html",
        cert=cert,
        form=form,
        status=certificates.status(cert),
        format_code=certificates.format_code,
    )
