"""Administration of institutions and people."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from competency.extensions import db
from competency.models import PLATFORM_WIDE_ROLES, Institution, Role, User
from competency.services import accounts, institutions
from competency.services.errors import ServiceError
from competency.web.account_forms import ActiveForm, EndSessionsForm, ResetPasswordForm
from competency.web.authz import STAFF, roles_required, same_institution
from competency.web.forms import ROLE_LABELS, ExtraTimeForm, InstitutionForm, UserForm, choices

bp = Blueprint("admin", __name__, url_prefix="/admin")

ADMINS = (Role.PLATFORM_ADMIN.value, Role.INSTITUTION_ADMIN.value)
USERS_PAGE = 50


@bp.route("/institutions", methods=["GET", "POST"])
@roles_required(Role.PLATFORM_ADMIN)
def institutions_page():
    """List and create institutions."""
    form = InstitutionForm()
    if form.validate_on_submit():
        industries = [
            s.strip() for s in (form.industries.data or "").replace("，", ",").split(",") if s.strip()
        ]
        try:
            institutions.create_institution(
                form.name.data, form.type.data, form.region.data or "", industries, actor=current_user
            )
        except ServiceError as exc:
            getattr(form, exc.field or "name").errors.append(exc.message)
        else:
            flash(_("Institution created."), "success")
            return redirect(url_for("admin.institutions_page"))
    rows = list(db.session.scalars(select(Institution).order_by(Institution.name)))
    return render_template("admin/institutions.html", form=form, institutions=rows)


def _user_form() -> UserForm:
    form = UserForm()
    if current_user.role == Role.PLATFORM_ADMIN:
        form.role.choices = choices((r.value, ROLE_LABELS[r]) for r in Role)
        form.institution_id.choices = choices(
            [
                (0, "—"),
                *((i.id, i.name) for i in db.session.scalars(select(Institution).order_by(Institution.name))),
            ]
        )
    else:
        allowed = (Role.TRAINER, Role.TEACHER, Role.STUDENT, Role.INSTITUTION_ADMIN)
        form.role.choices = choices((r.value, ROLE_LABELS[r]) for r in allowed)
        form.institution_id.choices = choices([(current_user.institution_id, current_user.institution.name)])
    return form


@bp.route("/users", methods=["GET", "POST"])
@roles_required(*ADMINS)
def users_page():
    """People of the admin's institution (all people for a platform admin), and a form to add one."""
    form = _user_form()
    if form.validate_on_submit():
        try:
            institutions.add_person(
                current_user,
                form.username.data,
                form.password.data,
                form.role.data,
                form.display_name.data,
                form.institution_id.data,
                {
                    "teacher_category": form.teacher_category.data or None,
                    "career_stage": form.career_stage.data or None,
                    "department": form.department.data or None,
                    "programme": form.programme.data or None,
                    "year": form.year.data,
                },
            )
        except ServiceError as exc:
            getattr(form, exc.field or "username", form.username).errors.append(exc.message)
        else:
            flash(_("User created."), "success")
            return redirect(url_for("admin.users_page"))
    return _users_list(form)


def _users_list(form: UserForm):
    """The page of people matching the search, with the form to add one (open after a refused POST)."""
    query = request.args.get("q", "")[:80]
    role = request.args.get("role", "")
    role = role if role in {r.value for r in Role} else ""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    users, total = institutions.search_users(current_user, query, role or None, page, USERS_PAGE)
    return render_template(
        "admin/users.html",
        form=form,
        users=users,
        total=total,
        page=page,
        page_size=USERS_PAGE,
        query=query,
        role=role,
        roles=[(r.value, ROLE_LABELS[r]) for r in Role],
        role_labels=ROLE_LABELS,
        open_form=request.method == "POST" or request.args.get("new") == "1",
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def user_detail(user_id: int):
    """One person's profile, within the viewer's institution; admins set their extra time."""
    person = db.get_or_404(User, user_id)
    if not same_institution(current_user, person.institution_id):
        abort(404)
    form = ExtraTimeForm(data={"extra_time_percent": person.extra_time_percent})
    status = 200
    if request.method == "POST":
        if current_user.role not in ADMINS:
            abort(403)
        if form.validate_on_submit():
            accounts.set_extra_time(person, form.extra_time_percent.data, current_user)
            flash(_("Accommodation saved."), "success")
            return redirect(url_for("admin.user_detail", user_id=person.id))
        status = 400
    return (
        render_template(
            "admin/user_detail.html",
            person=person,
            role_labels=ROLE_LABELS,
            form=form,
            can_edit=current_user.role in ADMINS,
            can_contain=_may_contain(person),
            reset_form=ResetPasswordForm(formdata=None),
            active_form=ActiveForm(formdata=None),
            end_form=EndSessionsForm(formdata=None),
        ),
        status,
    )


def _may_contain(person: User) -> bool:
    """Admins reset, deactivate and sign out people of their institution; a platform admin anyone.

    Institution admins do not act on platform-wide accounts (experts, officers, platform admins),
    and nobody acts on their own account here (the account page is for that)."""
    if person.id == current_user.id or current_user.role not in ADMINS:
        return False
    if current_user.role == Role.PLATFORM_ADMIN:
        return True
    return person.role not in PLATFORM_WIDE_ROLES and same_institution(current_user, person.institution_id)


def _contained_person_or_404(user_id: int) -> User:
    person = db.session.get(User, user_id)
    if person is None or not same_institution(current_user, person.institution_id):
        abort(404)
    if not _may_contain(person):
        abort(403)
    return person


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@roles_required(*ADMINS)
def reset_password(user_id: int):
    """Give the person a one-time password, shown once on this page; they must change it at next login."""
    person = _contained_person_or_404(user_id)
    if not ResetPasswordForm().validate_on_submit():
        return redirect(url_for("admin.user_detail", user_id=person.id))
    temporary = accounts.admin_reset_password(person, current_user)
    # Rendered, not flashed: a flashed message would sit in the (signed, not encrypted) session cookie.
    response = render_template("admin/password_reset.html", person=person, temporary=temporary)
    return response, 200, {"Cache-Control": "no-store"}


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(*ADMINS)
def set_active(user_id: int):
    """Deactivate (sessions and tokens end, history and certificates stay) or reactivate an account."""
    person = _contained_person_or_404(user_id)
    if ActiveForm().validate_on_submit():
        try:
            accounts.set_active(person, not person.active, current_user)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Account reactivated.") if person.active else _("Account deactivated."), "success")
    return redirect(url_for("admin.user_detail", user_id=person.id))


@bp.route("/users/<int:user_id>/end-sessions", methods=["POST"])
@roles_required(*ADMINS)
def end_sessions(user_id: int):
    """Sign the person out everywhere and revoke their API tokens (a lost device, a shared computer)."""
    person = _contained_person_or_404(user_id)
    if EndSessionsForm().validate_on_submit():
        revoked = accounts.end_sessions(person, actor=current_user, reason="admin")
        flash(_("All sessions ended; %(n)s API tokens revoked.", n=revoked), "success")
    return redirect(url_for("admin.user_detail", user_id=person.id))
