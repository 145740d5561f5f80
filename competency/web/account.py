"""One's own account: profile, password, and signing out everywhere."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from competency import graph
from competency.bilingual import localized
from competency.models import FAIRNESS_FIELDS
from competency.services import accounts, calibration_groups
from competency.services.errors import ServiceError
from competency.web.account_forms import FairnessForm, PasswordChangeForm, ProfileForm, SignOutEverywhereForm
from competency.web.authz import ALL_ROLES, roles_required
from competency.web.forms import choices

bp = Blueprint("account", __name__, url_prefix="/account")


def _job_role_choices() -> list[tuple[str, str]]:
    english = str(get_locale()) == "en"
    rows = sorted(graph.job_profiles(), key=lambda p: (p.industry, p.code))
    return [("", "—")] + [
        (p.code, f"{localized(p, 'name', english)} · {localized(p, 'industry', english)}")
        for p in rows
    ]


def _profile_form() -> ProfileForm:
    form = ProfileForm(
        data={
            "display_name": current_user.display_name,
            "locale": current_user.locale or "",
            "target_role": current_user.target_role or "",
        }
    )
    form.target_role.choices = choices(_job_role_choices())
    return form


def _fairness_form() -> FairnessForm:
    row = calibration_groups.own_profile(current_user)
    data = {"consent": bool(row and row.consent)}
    data |= {f: (getattr(row, f) or "") if row else "" for f in FAIRNESS_FIELDS}
    return FairnessForm(formdata=None, data=data, prefix="fair")


def _render(profile=None, password=None, fairness=None, status: int = 200):
    return (
        render_template(
            "account/profile.html",
            profile=profile or _profile_form(),
            fairness=fairness or _fairness_form(),
            password=password or PasswordChangeForm(formdata=None),
            everywhere=SignOutEverywhereForm(formdata=None),
            min_length=password_policy_min(),
        ),
        status,
    )


def password_policy_min() -> int:
    from flask import current_app

    return current_app.config["PASSWORD_MIN_LENGTH"]


@bp.route("", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
def profile():
    """The person's profile (display name, language, a student's target job) and the account's actions."""
    form = _profile_form()
    if form.validate_on_submit():
        try:
            accounts.update_profile(
                current_user, form.display_name.data, form.locale.data or None, form.target_role.data or None
            )
        except ServiceError as exc:
            getattr(form, exc.field or "display_name", form.display_name).errors.append(exc.message)
        else:
            if current_user.locale:
                session["lang"] = current_user.locale
            flash(_("Profile saved."), "success")
            return redirect(url_for("account.profile"))
        return _render(profile=form, status=400)
    if form.is_submitted():
        return _render(profile=form, status=400)
    return _render(profile=form)


@bp.route("/fairness", methods=["POST"])
@roles_required(*ALL_ROLES)
def fairness():
    """The person's optional answers for fairness (DIF) analysis; without consent nothing is kept."""
    form = FairnessForm(prefix="fair")
    if form.validate_on_submit():
        answers = {f: form[f].data for f in FAIRNESS_FIELDS}
        try:
            calibration_groups.save_own(current_user, bool(form.consent.data), answers)
        except ServiceError as exc:
            form[exc.field or "gender"].errors.append(exc.message)
        else:
            if form.consent.data:
                flash(_("Your answers were saved. Only you can see them."), "success")
            else:
                flash(_("Nothing is kept: without your consent your answers were deleted."), "success")
            return redirect(url_for("account.profile") + "#fairness")
    return _render(fairness=form, status=400)


@bp.route("/password", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
def password():
    """Change one's password (the current one is required); every session and token ends, then a new
    session begins here so the person stays logged in on this device only."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                current_user, form.current_password.data, form.new_password.data, form.repeat_password.data
            )
        except ServiceError as exc:
            getattr(form, exc.field or "new_password", form.new_password).errors.append(exc.message)
        else:
            from flask_login import login_user

            user = current_user._get_current_object()
            session.clear()
            login_user(user)  # a fresh session with the new version; all others are ended
            flash(_("Password changed. You were signed out everywhere else."), "success")
            return redirect(url_for("account.profile"))
        return render_template("account/password.html", form=form, min_length=password_policy_min()), 400
    if form.is_submitted():
        return render_template("account/password.html", form=form, min_length=password_policy_min()), 400
    return render_template("account/password.html", form=form, min_length=password_policy_min())


@bp.route("/sign-out-everywhere", methods=["POST"])
@roles_required(*ALL_ROLES)
def sign_out_everywhere():
    """End every session (this one too) and revoke every API token of the person."""
    if SignOutEverywhereForm().validate_on_submit():
        accounts.end_sessions(current_user, actor=current_user, reason="sign_out_everywhere")
        logout_user()
        session.clear()
        flash(_("You were signed out on every device, and your API tokens were revoked."), "success")
        return redirect(url_for("auth.login"))
    return redirect(url_for("account.profile"))
