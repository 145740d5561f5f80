"""Demo assessments for seed-demo: the teacher graded assessment (five dimensions, multidimensional CAT),
the student literacy evaluation, and job-skill evaluations for the demo students' roles."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from competency import graph
from competency.extensions import db
from competency.models import Assessment
from competency.services import calibration_prior
from competency.services.publishing import publish

TEACHER_CUTS = [-1.5, -0.75, 0.0, 0.75, 1.5]
JOB_CUTS = [-1.0, 0.0, 1.0]
STUDENT_CUTS = [-1.0, 0.0, 1.0]
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
        # Designed for classification (benchmarks/README_cat.md, "Grades a certificate can stand
        # behind"): with this bank, 40 items cannot tell six levels apart per dimension (simulated
        # accuracy ≈ 0.5) nor overall (≈ 0.75). Each dimension therefore reports whether the teacher
        # has reached 中级 (L3) — the classification the test stops on — and the certified overall
        # class is the 初级/中级/高级 band; the overall L1–L6 level is shown as the most likely level
        # with its range.
        "engine": {
            "mcat": True,
            "selector": "dopt",
            "estimator": "eap",
            # From the latest published multidimensional calibration of these dimensions; the
            # provisional ρ only before any (services/calibration_prior).
            "prior_correlation": calibration_prior.prior_for(dims),
            "se_target": 0.3,  # fallback: rarely reached before the classification rule or 40 items
            "min_items": 20,
            "max_items": 40,
            "classification": "ci",
            "ci_level": 0.9,
            "cut_scores": [[TEACHER_CUTS[1]]] * len(dims),
            "content_by": "dimension",
            "content_min": {d: 4 for d in dims},
            # Many teachers take this one: cap how often any item is seen.
            "randomesque": 3,
            "exposure": "max_rate",
            "r_max": 0.4,
        },
        "cut_scores": {"*": TEACHER_CUTS, "overall": TEACHER_CUTS},
        # No cap by the weakest dimension: at six-level granularity that cap follows the noisiest
        # estimate and costs overall accuracy (0.85 → 0.72 in simulation); each dimension's own
        # class is reported beside the overall grade instead.
        "grade_rule": {
            "rule": "composite",
            "cap_above_min": None,
            "report": {"dimensions": ["L3"], "overall": ["L3", "L5"]},
            "min_evidence": {"total": 20, "per_dimension": 4},
            "min_accuracy": {"dimensions": 0.8, "overall": 0.8},
        },
        "certificate_rule": {"enabled": True, "min_overall": None, "validity_years": 2},
        "time_limit_minutes": 45,
        "max_attempts": 3,
        "wait_hours": 0,
        "audience": {"roles": ["teacher"]},
    }


def _student() -> dict:
    system = graph.student_indicators()
    dims = list(graph.top_level(system))  # S0–S6: every area with a weight is measured
    weights = {d: float(system.nodes[d]["weight"]) for d in dims}
    return {
        "code": "SDL-2026",
        "title_zh": "学生数字素养评价（2026 演示版）",
        "title_en": "Student digital literacy evaluation (2026 demo)",
        "description_zh": "依据 UNESCO 数字素养全球框架与信息技术课程核心素养，评价七个领域的数字素养，按领域权重给出总体等级。",
        "description_en": "Seven areas of the UNESCO Digital Literacy Global Framework joined with the IT curriculum "
        "literacies; the overall level weights the areas as the indicator system does.",
        "kind": "student_literacy",
        "scale": "student",
        "dimensions": dims,
        # S6 is measured by its general indicators only: role-specific ones belong to job evaluations.
        "nodes": [*[d for d in dims if d != "S6"], *_general_children(system, "S6")],
        # Each area reports whether the student has reached 合格 (P1); the certified overall class
        # is 待提高 / 合格至良好 / 优秀 (simulated accuracy in benchmarks/README_cat.md).
        "engine": {
            "mcat": True,
            "selector": "dopt",
            "estimator": "eap",
            "prior_correlation": calibration_prior.prior_for(dims),
            "gh_points": 2,
            "se_target": 0.3,
            "min_items": 21,
            "max_items": 36,
            "classification": "ci",
            "ci_level": 0.9,
            "cut_scores": [[STUDENT_CUTS[0]]] * len(dims),
            "content_by": "dimension",
            "content_min": {d: 3 for d in dims},
        },
        "cut_scores": {"*": STUDENT_CUTS, "overall": STUDENT_CUTS},
        "grade_rule": {
            "rule": "composite",
            "weights": weights,
            "cap_above_min": None,
            "report": {"dimensions": ["P1"], "overall": ["P1", "P3"]},
            "min_evidence": {"total": 21, "per_dimension": 3},
            "min_accuracy": {"dimensions": 0.75, "overall": 0.8},
        },
        "certificate_rule": {"enabled": True, "min_overall": None, "validity_years": 2},
        "time_limit_minutes": 45,
        "max_attempts": 3,
        "wait_hours": 0,
        "audience": {"roles": ["student"]},
    }


def _general_children(system, area: str) -> list[str]:
    """Indicators of an area that carry a weight (the general ones; role-specific ones have none)."""
    return sorted(
        (child for _a, child, rel in system.out_edges(area, data="relation")
         if rel == "contains" and system.nodes[child].get("weight") is not None),
        key=graph.code_key,
    )


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
        # A role's pool (about 30 items) cannot separate four levels (simulated accuracy ≈ 0.65):
        # the certified class is whether the student has reached J2 中级, the level at which the
        # role's common tasks are done independently; the test stops once that is decided.
        "engine": {
            "selector": "mfi",
            "estimator": "eap",
            "se_target": 0.3,
            "min_items": 10,
            "max_items": 25,
            "classification": "ci",
            "ci_level": 0.9,
            "cut_scores": [JOB_CUTS[1]],
            "randomesque": 2,
        },
        "cut_scores": {"*": JOB_CUTS, role_code: JOB_CUTS, "overall": JOB_CUTS},
        "grade_rule": {
            "rule": "composite",
            "cap_above_min": None,
            "report": {"dimensions": ["J2"], "overall": ["J2"]},
            "min_evidence": {"total": 10},
            "min_accuracy": {"dimensions": 0.8, "overall": 0.8},
        },
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
        report = publish(assessment, n_simulees=100, commit=False)
        log(f"assessment {spec['code']} published (simulated mean length {report['mean_length']:.1f})")
