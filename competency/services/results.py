"""Grading an attempt: θ and SE per dimension → level per dimension → overall grade, plus readiness per indicator."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy.orm import joinedload

from competency import graph
from competency.extensions import db
from competency.irt.cat import CatState
from competency.irt.scoring import eap_sparse
from competency.models import Attempt, User
from competency.services import assessments as assessment_service
from competency.services import grading
from competency.services.plans import profile_targets


def _cuts(assessment, code: str):
    cuts = assessment.cut_scores or {}
    return cuts.get(code, cuts.get("*"))


def _indicator_estimates(
    attempt: Attempt, scored: list[tuple[str, int]], dims: dict[str, dict]
) -> dict[str, dict]:
    """EAP per measured indicator from its own responses, with the dimension estimate as prior mean.

    The indicators of one dimension share that prior, so they are scored in one call: one row per
    indicator, each response in its indicator's row.
    """
    if not scored:
        return {}
    # Responses are scored with the pool's frozen parameter versions, which the pool cache holds.
    pool = assessment_service.pool_items(attempt.assessment)
    scoring = assessment_service.scoring_items(attempt.assessment)
    by_dim: dict[str | None, list[tuple[str, int]]] = defaultdict(list)
    for code, score in scored:
        by_dim[pool[code].dimension].append((code, score))
    out = {}
    for dim, answered in by_dim.items():
        nodes = sorted({pool[code].node for code, _score in answered})
        row_of = {node: row for row, node in enumerate(nodes)}
        rows = [row_of[pool[code].node] for code, _score in answered]
        items = scoring[dim]
        theta, se = eap_sparse(
            items.items,
            rows,
            [items.column[code] for code, _score in answered],
            [score for _code, score in answered],
            len(nodes),
            prior_mean=dims.get(dim, {}).get("theta", 0.0),
            prior_sd=1.0,
        )
        counts = Counter(rows)
        for row, node in enumerate(nodes):
            out[node] = {
                "theta": float(theta[row]),
                "se": float(se[row]),
                "items": counts[row],
                "dimension": dim,
            }
    return out


def grade_attempt(attempt: Attempt) -> dict:
    """Compute and store the result of a finished or timed-out attempt (the caller commits)."""
    assessment = attempt.assessment
    scale = graph.level_scale(assessment.scale)
    tree = assessment_service.map_for(assessment)
    engine = assessment_service.engine_for(assessment, attempt.engine)
    state = CatState.from_dict(attempt.state)
    summary = engine.summary(state)
    multi = len(assessment.dimensions) > 1
    pool = assessment_service.pool_items(assessment)
    # The state holds every answered item with its score, stored in the same transaction as each
    # response row, so grading needs no second read of the responses. Pilot items are not scored.
    answered = zip(state.administered, state.responses, strict=True)
    scored = [(code, score) for code, score in answered if not pool[code].pilot]
    counts: dict[str, int] = defaultdict(int)
    for code, _score in scored:
        counts[pool[code].dimension] += 1
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
    # The certificate names the holder's institution: loaded with the user, in one query.
    user = db.session.get(User, attempt.user_id, options=[joinedload(User.institution)])
    targets = profile_targets(assessment, user)
    estimates = _indicator_estimates(attempt, scored, by_code)
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
    # Graded just now, so no certificate can exist yet for it (one needs a graded attempt).
    certificates.issue_for_attempt(attempt, just_graded=True)
