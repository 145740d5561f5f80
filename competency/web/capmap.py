"""The capability map pages: one's own map, a job profile against one's levels, a cohort's map."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from competency import graph
from competency.models import Role
from competency.services import capability_map, cohort_results, institutions
from competency.services.errors import NotFound
from competency.web import capmap_svg
from competency.web.authz import STAFF, roles_required
from competency.web.labels import bi

bp = Blueprint("capmap", __name__)
TAKERS = (Role.TEACHER.value, Role.STUDENT.value)


def _focus(cmap) -> str | None:
    code = request.args.get("focus", "")
    return code if code in cmap.indicators else None


def _page(cmap, *, heading: str, intro: str, link: str, subject=None, **extra):
    """``subject``: whose evidence and plan tasks the indicator detail shows (None: nobody's)."""
    focus = _focus(cmap)
    svg = capmap_svg.render(
        cmap,
        focus,
        link,
        heading,
        _(
            "Dimensions in columns, indicators in boxes, arrows from what to learn first. Each box says its "
            "state in words; the table below gives the same facts."
        ),
    )
    detail = capability_map.indicator_detail(cmap, focus, subject) if focus else None
    return render_template(
        "capmap/map.html",
        cmap=cmap,
        svg=svg,
        heading=heading,
        intro=intro,
        link=link,
        focus=focus,
        detail=detail,
        subject=subject,
        status_text=lambda ind: capmap_svg.status_text(cmap, ind),
        **extra,
    )


@bp.route("/map")
@roles_required(*TAKERS)
def mine():
    """The person's capability map: measured level against target on every indicator."""
    cmap = capability_map.person_map(current_user)
    kind = (
        _("Teacher digital-literacy capability map")
        if cmap.kind == "teacher"
        else _("Student digital-literacy indicator system")
    )
    return _page(
        cmap,
        heading=kind,
        intro=_(
            "Your latest measured level on each indicator against your target. Choose an indicator to see "
            "what each level asks, the questions you answered on it and the plan tasks that work on it."
        ),
        link=url_for("capmap.mine", focus="__code__", _anchor="detail"),
        subject=current_user,
        jobs=graph.job_profiles() if cmap.kind == "student" else [],
    )


@bp.route("/map/jobs/")
@roles_required(Role.STUDENT.value, *STAFF)
def jobs():
    """The job profiles, to compare one with the student's levels."""
    return render_template("capmap/jobs.html", jobs=graph.job_profiles())


@bp.route("/map/jobs/<role_code>")
@roles_required(Role.STUDENT.value, *STAFF)
def job(role_code: str):
    """A job profile's requirements against the student's indicators (staff see the requirements)."""
    try:
        profile = graph.job_profile(role_code)
    except KeyError:
        abort(404)
    student = current_user if current_user.role == Role.STUDENT else None
    if student is not None:
        cmap = capability_map.person_map(student, role_code=profile.code)
    else:
        cmap = capability_map.requirements_map(profile.code)
    return _page(
        cmap,
        heading=_("Job profile: %(name)s", name=bi(profile)),
        intro=bi(profile, "description"),
        link=url_for("capmap.job", role_code=profile.code, focus="__code__", _anchor="detail"),
        subject=student,
        profile=profile,
    )


@bp.route("/trainer/cohorts/<int:cohort_id>/map")
@roles_required(*STAFF)
def cohort(cohort_id: int):
    """A cohort's map for one assignment: how many members reached each level on each indicator."""
    try:
        group = institutions.get_cohort(cohort_id, current_user)
    except NotFound:
        abort(404)
    rows = cohort_results.assignments(group)
    chosen = next(
        (r for r in rows if str(r.id) == request.args.get("assignment")), rows[-1] if rows else None
    )
    if chosen is None:
        return render_template("capmap/no_results.html", cohort=group), 200
    res = cohort_results.results(chosen)
    cmap = capability_map.cohort_map(res)
    return _page(
        cmap,
        heading=_("Capability map of %(cohort)s", cohort=group.name),
        intro=_(
            "Each indicator shows the cohort's median level, with a bar of how many members reached each "
            "level. Choose an indicator to see what each level asks."
        ),
        link=url_for(
            "capmap.cohort", cohort_id=group.id, assignment=chosen.id, focus="__code__", _anchor="detail"
        ),
        cohort=group,
        assignments=rows,
        chosen=chosen,
    )
