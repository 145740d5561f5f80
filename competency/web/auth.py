"""Logging in and out, and choosing the language."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from competency.extensions import db, login_manager
from competency.models import User
from competency.services import accounts
from competency.web.authz import ALL_ROLES, public, roles_required, safe_next
from competency.web.forms import LanguageForm, LoginForm, LogoutForm
from competency.web.paths import API_PREFIX

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's person, while active and while the session's version is still theirs.

    A session stores "id:version" (User.get_id); ending sessions raises the version, so a cookie
    copied before a logout, a password change or a deactivation is refused on its next request.
    """
    ident, _sep, version = (user_id or "").partition(":")
    if not (ident.isdigit() and version.isdigit()) or len(ident) > 18:
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


# While a reset password is in force, the person may only choose a new one (or leave).
_ALLOWED_BEFORE_CHANGE = {"account.password", "auth.logout", "auth.language", "static", "main.healthz"}


@bp.before_app_request
def require_password_change():
    if request.path.startswith(API_PREFIX) or request.endpoint in _ALLOWED_BEFORE_CHANGE:
        return None  # the API issues no token while a reset password is in force
    if current_user.is_authenticated and current_user.must_change_password:
        flash(_("Your password was reset. Choose a new password to continue."), "error")
        return redirect(url_for("account.password"))
    return None


login_manager.login_view = "auth.login"
login_manager.login_message = None


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Log in; the same message answers a wrong name and a wrong password."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    status = 200
    if form.validate_on_submit():
        outcome = accounts.authenticate(form.username.data, form.password.data, request.remote_addr or "?")
        if outcome.rate_limited:
            flash(_("Too many attempts. Please wait a few minutes and try again."), "error")
            status = 429
        elif outcome.user is None:
            flash(_("Wrong user name or password."), "error")
            status = 401
        else:
            chosen = session.get("lang")
            session.clear()  # a fresh session on login defeats session fixation
            if chosen in current_app.config["LANGUAGES"]:
                session["lang"] = chosen
                if outcome.user.locale is None:
                    accounts.set_locale(outcome.user, chosen)  # the choice made before logging in sticks
            login_user(outcome.user)
            return redirect(safe_next(form.next.data) or url_for("main.home"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@roles_required(*ALL_ROLES)
def logout():
    """Log out (POST only, so a link on another site cannot log people out)."""
    if LogoutForm().validate_on_submit():
        # Ends this and every other session and API token of the person, server-side: a copied
        # cookie or a token stops working now, not when it expires.
        accounts.end_sessions(current_user, actor=current_user, reason="logout")
        logout_user()
        session.clear()
    return redirect(url_for("main.index"))


@bp.route("/language", methods=["POST"])
@public
def language():
    """Switch the language; remembered in the session and, for a logged-in person, on their account."""
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in current_app.config["LANGUAGES"]:
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            accounts.set_locale(current_user, form.lang.data)
    return redirect(safe_next(form.next.data) or url_for("main.index"))
