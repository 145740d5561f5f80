"""Demo assessments for seed-demo: the teacher graded assessment (five dimensions, multidimensional CAT),
the student literacy evaluation, and job-skill evaluations for the demo students' roles."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from competency import graph
from competency.extensions import db
from competency.models import Assessment
from competency.services import assessments as assessment_service

TEACHER_CUTS = [-1.5, -0.75, 0.0, 0.75, 1.5]
JOB_CUTS = [-1.0, 0.0, 1.0]
DEMO_ROLES = ("J-BD-01", "J-AI-01", "J-NEV-01", "J-SW-01")


def _teacher() -> dict:
    dims = ["T1", "T2", "T3", "T4", "T5"]
    return {
        "code": "TDL-2026",
        "title_zh": "教师数字素养分等级测评（2026 演示版）",
        "title_en": "Teacher digital literacy graded assessment (2026 demo)",
        "description_zh": "依据 JY/T 0646—2022 的五个维度，自适应选题，给出各维度等级与总体等级。",
        "description_en": "Adaptive test over the five dimensions of JY/T 0646—2022; a level per dimension and overall.",
        "kind": "teacher_graded",
        "scale": "teacher",
        "dimensions": dims,
        "nodes": dims,
        "engine": {
            "mcat": True,
            "selector": "dopt",
            "estimator": "eap",
            "prior_correlation": 0.7,
            "se_target": 0.5,
            "min_items": 15,
            "max_items": 30,
            "content_by": "dimension",
            "content_min": {d: 3 for d in dims},
            # Many teachers take this one: cap how often any item is seen (simulated: ≤ 41 %, ~23 items).
            "randomesque": 3,
            "exposure": "max_rate",
            "r_max": 0.4,
            "cut_scores": [TEACHER_CUTS] * len(dims),
        },
        "cut_scores": {"*": TEACHER_CUTS, "overall": TEACHER_CUTS},
        "grade_rule": {"rule": "composite", "cap_above_min": 1},
        "certificate_rule": {"enabled": True, "min_overall": None, "validity_years": 2},
        "time_limit_minutes": 45,
        "max_attempts": 3,
        "wait_hours": 0,
        "audience": {"roles": ["teacher"]},
    }


def _student() -> dict:
    dims = ["S0", "S1", "S2", "S3", "S4", "S5"]
    return {
        "code": "SDL-2026",
        "title_zh": "学生数字素养评价（2026 演示版）",
        "title_en": "Student digital literacy evaluation (2026 demo)",
        "description_zh": "依据 UNESCO 数字素养全球框架与信息技术课程核心素养，评价六个领域的数字素养。",
        "description_en": "Six areas of the UNESCO Digital Literacy Global Framework joined with the IT curriculum literacies.",
        "kind": "student_literacy",
        "scale": "job",
        "dimensions": dims,
        "nodes": dims,
        "engine": {
            "mcat": True,
            "selector": "dopt",
            "estimator": "eap",
            "prior_correlation": 0.6,
            "gh_points": 2,
            "se_target": 0.6,
            "min_items": 12,
            "max_items": 24,
            "content_by": "dimension",
            "content_min": {d: 2 for d in dims},
        },
        "cut_scores": {"*": JOB_CUTS, "overall": JOB_CUTS},
        "grade_rule": {"rule": "composite", "cap_above_min": 1},
        "certificate_rule": {"enabled": True, "min_overall": None, "validity_years": 2},
        "time_limit_minutes": 40,
        "max_attempts": 3,
        "wait_hours": 0,
        "audience": {"roles": ["student"]},
    }


def _job(role_code: str) -> dict:
    profile = graph.job_profile(role_code)
    return {
        "code": f"JOB-{role_code.removeprefix('J-')}",
        "title_zh": f"岗位能力评价：{profile.name_zh}",
        "title_en": f"Job-skill evaluation: {profile.name_en}",
        "description_zh": f"评价胜任“{profile.name_zh}”岗位所需各项能力的准备程度。",
        "description_en": f"Readiness for each requirement of the {profile.name_en} role.",
        "kind": "job_skill",
        "role_code": role_code,
        "scale": "job",
        "dimensions": [role_code],
        "nodes": sorted(profile.requirements, key=graph.code_key),
        "engine": {
            "selector": "mfi",
            "estimator": "eap",
            "se_target": 0.4,
            "min_items": 8,
            "max_items": 20,
            "randomesque": 2,
        },
        "cut_scores": {"*": JOB_CUTS, role_code: JOB_CUTS, "overall": JOB_CUTS},
        "grade_rule": {"rule": "composite", "cap_above_min": None},
        "certificate_rule": {"enabled": True, "min_overall": None, "validity_years": 2},
        "time_limit_minutes": 30,
        "max_attempts": 3,
        "wait_hours": 0,
        "audience": {"roles": ["student"]},
    }


def definitions() -> list[dict]:
    return [_teacher(), _student(), *(_job(code) for code in DEMO_ROLES)]


def seed_demo_assessments(log: Callable[[str], None]) -> None:
    for spec in definitions():
        if db.session.scalar(select(Assessment.id).where(Assessment.code == spec["code"])) is not None:
            continue
        assessment = Assessment(**spec)
        db.session.add(assessment)
        db.session.flush()
        report = assessment_service.publish(assessment, n_simulees=100, commit=False)
        log(f"assessment {spec['code']} published (simulated mean length {report['mean_length']:.1f})")
