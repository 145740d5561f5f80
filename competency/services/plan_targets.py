"""Target levels of an improvement plan: from a teacher's category and career stage, from the job role of
the assessment or the student's chosen role, or the scale's intermediate level where the profile sets none;
and the levels a result measured."""

from __future__ import annotations

from competency import graph
from competency.models import Attempt, User
from competency.services import maps

# User.teacher_category -> the map's teacher category codes.
CATEGORY_CODES = {
    "public_course": "public",
    "specialty_course": "specialty",
    "practical_training": "practical",
}
DEFAULT_STAGE = "novice"  # as the grading service assumes


def area_of(code: str) -> str:
    """T3.1.2 -> T3, S6.10 -> S6: the dimension or area a node belongs to."""
    return code.split(".")[0]


def measured_levels(result: dict) -> dict[str, str]:
    levels = {d["code"]: d["level"] for d in result.get("dimensions", []) if d.get("level")}
    levels.update({i["code"]: i["level"] for i in result.get("indicators", []) if i.get("level")})
    return levels


def teacher_category(user: User) -> str:
    base = CATEGORY_CODES.get(user.teacher_category or "", "public")
    if base == "specialty" and user.specialty_industry:
        known = {c.code for c in graph.teacher_categories()}
        if f"specialty-{user.specialty_industry}" in known:
            return f"specialty-{user.specialty_industry}"
    return base


def profile_targets(assessment, user: User) -> dict[str, str]:
    """Target level per node from the person's profile: a teacher's category and stage (dimensions and
    indicators), else the requirements of the assessment's job role or of the student's chosen role."""
    if assessment.scale == "teacher":
        return graph.teacher_targets(
            teacher_category(user), user.career_stage or DEFAULT_STAGE, indicators=True
        )
    role = assessment.role_code or user.target_role
    if not role:
        return {}
    try:
        requirements = dict(graph.job_profile(role).requirements)
    except KeyError:
        return {}
    if assessment.scale == "student":
        # Job requirements are on the job scale; the student scale's "job" crosswalk maps P_k to J_k.
        return {code: _student_level(level) for code, level in requirements.items()}
    return requirements


def _student_level(job_level: str) -> str:
    student = graph.level_scale("student")
    return next((lv.code for lv in student if job_level in student.crosswalk(lv.code, "job")), job_level)


def default_target(scale_name: str) -> str:
    """The intermediate (中级) level of a scale: the target where a person's profile sets none."""
    scale = graph.level_scale(scale_name)
    return next((lv.code for lv in scale if scale.band(lv.code) == "中级"), scale[len(scale) // 2].code)


def targets_for(attempt: Attempt, user: User) -> dict[str, str]:
    """Target level per indicator: the person's category/stage or job role, overridden by the result's own targets."""
    result = attempt.result or {}
    given = {i["code"]: i["target"] for i in result.get("indicators", []) if i.get("target")}
    targets = profile_targets(attempt.assessment, user)
    if attempt.assessment.scale == "teacher":
        indicators = set(graph.nodes_of_kind(maps.teacher_map(), "indicator"))
        targets = {code: level for code, level in targets.items() if code in indicators}
    if not targets and not given:
        # Student literacy without a chosen role: the intermediate level on what was measured.
        middle = default_target(attempt.assessment.scale)
        targets = {i["code"]: middle for i in result.get("indicators", []) if i.get("level")}
    return {**targets, **given}
