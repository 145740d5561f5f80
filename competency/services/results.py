"""Grading an attempt: θ and SE per dimension → level per dimension → overall grade, plus readiness per indicator."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from competency import graph
from competency.extensions import db
from competency.irt import score as irt_score
from competency.irt.cat import CatState
from competency.models import Attempt, User
from competency.services import assessments as assessment_service
from competency.services import grading
from competency.services.plans import profile_targets


def _cuts(assessment, code: str):
    cuts = assessment.cut_scores or {}
    return cuts.get(code, cuts.get("*"))


def _indicator_estimates(attempt: Attempt, dims: dict[str, dict], tree) -> dict[str, dict]:
    """EAP per measured indicator from its own responses, with the dimension estimate as prior mean."""
    scored = [r for r in attempt.responses if not r.pilot]
    if not scored:
        return {}
    # Responses are scored with the pool's frozen parameter versions, which the pool cache holds.
    pool = assessment_service.pool_items(attempt.assessment)
    by_node: dict[str, list] = defaultdict(list)
    for response in scored:
        by_node[pool[response.item_code].node].append(response)
    out = {}
    for node, responses in by_node.items():
        params = [pool[response.item_code].item.irt for response in responses]
        width = max((len(p.thresholds or []) for p in params), default=0)
        arrays = {
            "a": [p.a for p in params],
            "b": [math.nan if p.b is None else p.b for p in params],
            "c": [p.c or 0.0 for p in params],
            "thresholds": [
                list(p.thresholds or []) + [math.nan] * (width - len(p.thresholds or [])) for p in params
            ],
        }
        if width == 0:
            arrays.pop("thresholds")
        dim = assessment_service.dimension_for(attempt.assessment, node, tree)
        prior = dims.get(dim, {}).get("theta", 0.0)
        theta, se = irt_score(
            np.array([[r.score for r in responses]], dtype=float),
            arrays,
            model=[str(p.model) for p in params],
            method="eap",
            prior_mean=prior,
            prior_sd=1.0,
        )
        out[node] = {"theta": float(theta[0]), "se": float(se[0]), "items": len(responses), "dimension": dim}
    return out


def grade_attempt(attempt: Attempt) -> dict:
    """Compute and store the result of a finished or timed-out attempt (the caller commits)."""
    assessment = attempt.assessment
    scale = graph.level_scale(assessment.scale)
    tree = assessment_service.map_for(assessment)
    engine = assessment_service.engine_for(assessment, attempt.engine)
    summary = engine.summary(CatState.from_dict(attempt.state))
    multi = len(assessment.dimensions) > 1
    counts: dict[str, int] = defaultdict(int)
    pool = assessment_service.pool_items(assessment)
    item_nodes = {r.item_code: pool[r.item_code].node for r in attempt.responses}
    for response in attempt.responses:
        if not response.pilot:
            dim = assessment_service.dimension_for(assessment, item_nodes[response.item_code], tree)
            counts[dim] += 1
    dimensions = []
    for row in summary["dimensions"]:
        code = row["code"] if multi else assessment.dimensions[0]
        node = tree.nodes[code] if code in tree else {}
        theta, se = float(row["theta"]), float(row["se"])
        dimensions.append(
            {
                "code": code,
                "name_zh": node.get("name_zh", code),
                "name_en": node.get("name_en", code),
                "theta": round(theta, 4),
                "se": round(se, 4),
                "level": grading.level_of(scale, theta, _cuts(assessment, code)),
                "items": counts.get(code, 0),
            }
        )
    by_code = {d["code"]: d for d in dimensions}
    user = db.session.get(User, attempt.user_id)
    targets = profile_targets(assessment, user)
    estimates = _indicator_estimates(attempt, by_code, tree)
    indicator_codes = sorted(
        set(estimates) | ({c for c in targets if c in tree} if assessment.kind == "job_skill" else set()),
        key=graph.code_key,
    )
    indicators = []
    for code in indicator_codes:
        est = estimates.get(code)
        dim = est["dimension"] if est else assessment_service.dimension_for(assessment, code, tree)
        level = grading.level_of(scale, est["theta"], _cuts(assessment, dim or "*")) if est else None
        target = targets.get(code) or (targets.get(dim) if dim else None)
        node = tree.nodes[code] if code in tree else {}
        indicators.append(
            {
                "code": code,
                "name_zh": node.get("name_zh", code),
                "name_en": node.get("name_en", code),
                "theta": round(est["theta"], 4) if est else None,
                "se": round(est["se"], 4) if est else None,
                "items": est["items"] if est else 0,
                "level": level,
                "target": target,
                "met": grading.readiness(scale, level, target) if target else None,
            }
        )
    overall = grading.overall_level(scale, dimensions, assessment.grade_rule, _cuts(assessment, "overall"))
    result = {
        "assessment": assessment.code,
        "kind": assessment.kind,
        "scale": assessment.scale,
        "role_code": assessment.role_code,
        "graph_version": attempt.graph_version,
        "dimensions": dimensions,
        "indicators": indicators,
        "overall_level": overall,
        "grade_rule": {**grading.DEFAULT_RULE, **(assessment.grade_rule or {})},
        "stop_reason": attempt.stop_reason,
        "items_answered": int(summary["items"]),
        "timed_out": attempt.status == "timed_out",
        "finished_at": attempt.finished_at.isoformat() if attempt.finished_at else None,
    }
    attempt.result = result
    attempt.overall_level = overall
    _run_outcome_hooks(attempt)
    return result


def _run_outcome_hooks(attempt: Attempt) -> None:
    """The certificate is issued with the grade (same transaction); the improvement plan, derived data,
    is built when the result is first shown (services.plans.ensure_for_attempt)."""
    from competency.services import certificates

    attempt.status = "graded"
    certificates.issue_for_attempt(attempt)
