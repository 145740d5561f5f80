"""Institutions, cohorts and the people an admin adds and looks up."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from competency.extensions import db
from competency.models import Cohort, CohortMembership, Institution, InstitutionType, Role, User
from competency.services import accounts, audit, paging
from competency.services.errors import Forbidden, NotFound, ServiceError


def create_institution(
    name: str, type_: str, region: str = "", industries: list[str] | None = None, actor: User | None = None
) -> Institution:
    name = (name or "").strip()
    if not name:
        raise ServiceError("invalid_name", _("institution name is required"), "name")
    if type_ not in {t.value for t in InstitutionType}:
        raise ServiceError("invalid_type", _("unknown institution type %(type_)s", type_=type_), "type")
    if db.session.scalar(select(func.count()).select_from(Institution).where(Institution.name == name)):
        raise ServiceError("duplicate_name", _("institution %(name)s exists", name=name), "name")
    inst = Institution(name=name, type=type_, region=region.strip(), industries=list(industries or []))
    db.session.add(inst)
    db.session.flush()
    audit.record("institution.create", "institution", inst.id, actor=actor)
    db.session.commit()
    return inst


def get_cohort(cohort_id: int, actor: User) -> Cohort:
    """A cohort the actor may see; another institution's cohort is reported as missing, not forbidden."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or (
        actor.role != Role.PLATFORM_ADMIN and cohort.institution_id != actor.institution_id
    ):
        raise NotFound("cohort_not_found", _("cohort not found"))
    return cohort


def visible_cohorts(actor: User) -> list[Cohort]:
    stmt = select(Cohort).order_by(Cohort.name)
    if actor.role != Role.PLATFORM_ADMIN:
        stmt = stmt.where(Cohort.institution_id == actor.institution_id)
    return list(db.session.scalars(stmt))


def create_cohort(name: str, actor: User, description: str = "", institution_id: int | None = None) -> Cohort:
    name = (name or "").strip()
    if not name:
        raise ServiceError("invalid_name", _("cohort name is required"), "name")
    inst_id = institution_id if actor.role == Role.PLATFORM_ADMIN and institution_id else actor.institution_id
    if inst_id is None:
        raise ServiceError(
            "institution_required", _("choose an institution for the cohort"), "institution_id"
        )
    exists = (
        select(func.count()).select_from(Cohort).where(Cohort.institution_id == inst_id, Cohort.name == name)
    )
    if db.session.scalar(exists):
        raise ServiceError(
            "duplicate_name", _("cohort %(name)s exists in this institution", name=name), "name"
        )
    cohort = Cohort(name=name, description=description.strip(), institution_id=inst_id, owner_id=actor.id)
    db.session.add(cohort)
    db.session.flush()
    audit.record("cohort.create", "cohort", cohort.id, actor=actor)
    db.session.commit()
    return cohort


def add_member(cohort: Cohort, username: str, actor: User) -> CohortMembership:
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or user.institution_id != cohort.institution_id:
        raise ServiceError(
            "unknown_member", _("no person %(username)s in this institution", username=username), "username"
        )
    if user.role not in (Role.TEACHER, Role.STUDENT):
        raise ServiceError("invalid_member", _("only teachers and students join cohorts"), "username")
    if db.session.get(CohortMembership, (cohort.id, user.id)) is not None:
        raise ServiceError(
            "already_member", _("%(username)s is already a member", username=username), "username"
        )
    membership = CohortMembership(cohort_id=cohort.id, user_id=user.id)
    db.session.add(membership)
    audit.record("cohort.add_member", "cohort", cohort.id, actor=actor, detail={"user_id": user.id})
    db.session.commit()
    return membership


def remove_member(cohort: Cohort, user_id: int, actor: User) -> None:
    membership = db.session.get(CohortMembership, (cohort.id, user_id))
    if membership is None:
        raise NotFound("not_member", _("not a member of this cohort"))
    db.session.delete(membership)
    audit.record("cohort.remove_member", "cohort", cohort.id, actor=actor, detail={"user_id": user_id})
    db.session.commit()


# The profile fields each role keeps when an admin adds a person.
PROFILE_FIELDS = {
    Role.TEACHER.value: ("teacher_category", "career_stage", "department"),
    Role.STUDENT.value: ("programme", "year"),
}


def add_person(
    actor: User,
    username: str,
    password: str,
    role: str,
    display_name: str,
    institution_id: int | None,
    profile: dict,
) -> User:
    """An admin adds a person: a platform admin to any institution (or none), an institution admin to
    their own only. Of ``profile`` only the fields of the person's role are kept."""
    if actor.role == Role.PLATFORM_ADMIN:
        institution = db.session.get(Institution, institution_id) if institution_id else None
    else:
        institution = actor.institution
    return accounts.create_user(
        username,
        password,
        role,
        display_name=display_name,
        institution=institution,
        actor=actor,
        **{key: profile.get(key) for key in PROFILE_FIELDS.get(role, ())},
    )


def visible_users(actor: User, role: str | None = None) -> list[User]:
    if actor.role not in (Role.PLATFORM_ADMIN, Role.INSTITUTION_ADMIN, Role.TRAINER):
        raise Forbidden("forbidden", _("not allowed"))
    stmt = select(User).order_by(User.role, User.username)
    if actor.role != Role.PLATFORM_ADMIN:
        stmt = stmt.where(User.institution_id == actor.institution_id)
    if role:
        stmt = stmt.where(User.role == role)
    return list(db.session.scalars(stmt))


def search_users(
    actor: User, query: str = "", role: str | None = None, page: int = 1, page_size: int = 50
) -> tuple[list[User], int]:
    """One page of the people the actor may see, matching ``query`` in the user name or display name
    (and ``role``), with the total count; filtered and paged in the database."""
    if actor.role not in (Role.PLATFORM_ADMIN, Role.INSTITUTION_ADMIN, Role.TRAINER):
        raise Forbidden("forbidden", _("not allowed"))
    stmt = select(User)
    if actor.role != Role.PLATFORM_ADMIN:
        stmt = stmt.where(User.institution_id == actor.institution_id)
    if role:
        stmt = stmt.where(User.role == role)
    text = query.strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            User.username.ilike(pattern, escape="\\") | User.display_name.ilike(pattern, escape="\\")
        )
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(User.role, User.username).offset((max(page, 1) - 1) * page_size).limit(page_size)
    ).all()
    return list(rows), total


def role_counts(institution_id: int | None = None) -> dict[str, int]:
    stmt = select(User.role, func.count()).group_by(User.role)
    if institution_id is not None:
        stmt = stmt.where(User.institution_id == institution_id)
    return {role: count for role, count in db.session.execute(stmt)}


# Sort keys of the paginated lists: each is a column with an index-friendly order, ids break ties.
MEMBER_SORTS = {"username": User.username, "name": User.display_name}


def _search(stmt, q: str | None):
    pattern = paging.search_pattern(q)
    if pattern:
        stmt = stmt.where(
            or_(User.username.ilike(pattern, escape="\\"), User.display_name.ilike(pattern, escape="\\"))
        )
    return stmt


def member_count(cohort_id: int) -> int:
    """Members of the cohort, counted on the membership's primary key alone (no join with people):
    a hundred thousand in milliseconds."""
    stmt = select(func.count()).select_from(CohortMembership).where(CohortMembership.cohort_id == cohort_id)
    return db.session.scalar(stmt) or 0


def member_page(
    cohort: Cohort,
    q: str | None = None,
    sort: str = "username",
    descending: bool = False,
    after: str | None = None,
    before: str | None = None,
    size: int = paging.PAGE_SIZE,
) -> paging.Page:
    """A page of a cohort's members; rows are (User, layer)."""
    key = MEMBER_SORTS.get(sort, User.username)
    stmt = (
        select(User, CohortMembership.layer)
        .join(CohortMembership, CohortMembership.user_id == User.id)
        .where(CohortMembership.cohort_id == cohort.id)
    )
    stmt = _search(stmt, q)
    return paging.keyset(
        stmt,
        key,
        User.id,
        lambda row: (getattr(row[0], key.key), row[0].id),
        after=after,
        before=before,
        descending=descending,
        size=size,
        total=None if paging.search_pattern(q) else member_count(cohort.id),
    )
