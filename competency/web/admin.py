"""Administration of institutions and people."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from competency.extensions import db
from competency.models import Institution, Role, User
from competency.services import accounts, institutions
from competency.services.errors import ServiceError
from competency.web.authz import STAFF, roles_required, same_institution
from competency.web.forms import ROLE_LABELS, ExtraTimeForm, InstitutionForm, UserForm, choices
from competency.web.listing import list_args

bp = Blueprint("admin", __name__, url_prefix="/admin")

ADMINS = (Role.PLATFORM_ADMIN.value, Role.INSTITUTION_ADMIN.value)


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
        institution = (
            db.session.get(Institution, form.institution_id.data) if form.institution_id.data else None
        )
        if current_user.role != Role.PLATFORM_ADMIN:
            institution = current_user.institution
        profile = {}
        if form.role.data == Role.TEACHER:
            profile = {
                "teacher_category": form.teacher_category.data or None,
                "career_stage": form.career_stage.data or None,
                "department": form.department.data or None,
            }
        elif form.role.data == Role.STUDENT:
            profile = {"programme": form.programme.data or None, "year": form.year.data}
        try:
            accounts.create_user(
                form.username.data,
                form.password.data,
                form.role.data,
                display_name=form.display_name.data,
                institution=institution,
                actor=current_user,
                **profile,
            )
        except ServiceError as exc:
            getattr(form, exc.field or "username", form.username).errors.append(exc.message)
        else:
            flash(_("User created."), "success")
            return redirect(url_for("admin.users_page"))
    args = list_args(institutions.USER_SORTS)
    role = request.args.get("role", "")
    role = role if role in {r.value for r in Role} else None
    page = institutions.user_page(current_user, role=role, **args)
    return render_template(
        "admin/users.html",
        form=form,
        users=[row[0] for row in page.rows],
        page=page,
        args=args,
        role=role or "",
        sorts={"username": _("User name"), "name": _("Name"), "role": _("Role")},
        role_labels=ROLE_LABELS,
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def user_detail(user_id: int):
    """One person's profile, within the viewer's institution; admins set their extra time."""
    person = db.session.get(User, user_id)
    if person is None or not same_institution(current_user, person.institution_id):
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
        ),
        status,
    )
