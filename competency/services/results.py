"""Grading an attempt: θ and SE per dimension → level per dimension → overall grade, plus readiness per indicator."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
from sqlalchemy.orm import joinedload

from competency import graph
from competency.extensions import db
from competency.irt import classification
from competency.irt.cat import CatState
from competency.irt.scoring import eap_sparse
from competency.models import Attempt, User
from competency.services import certificates, grading, pools
from competency.services.assessment_definitions import dimension_for, map_for
from competency.services.plan_targets import profile_targets


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
    pool = pools.pool_items(attempt.assessment)
    scoring = pools.scoring_items(attempt.assessment)
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


def _level_range(scale, theta: float, se: float, cuts) -> list[str]:
    lo, hi = classification.likely_range(theta, se, list(scale.cuts if cuts is None else cuts))
    return [scale[lo].code, scale[hi].code]


def _overall_range(scale, dimensions: list[dict], rule, dim_cuts, overall_cuts, seed: int) -> list[str]:
    """The 10th and 90th percentile of the overall level when each dimension's θ is drawn from its
    N(θ̂, SE²): "most likely between" for a level that depends on several dimensions."""
    theta = np.array([[d["theta"] for d in dimensions]])
    se = np.array([[d["se"] for d in dimensions]])
    draws = theta + se * np.random.default_rng(seed).standard_normal((400, len(dimensions)))
    idx = grading.overall_indices(
        scale, draws, dim_cuts, rule, overall_cuts, codes=[d["code"] for d in dimensions]
    )
    lo, hi = np.percentile(idx, [10, 90], method="nearest")
    return [scale[int(lo)].code, scale[int(hi)].code]


def _class(scale, groups, level: str) -> dict:
    return grading.group_label(scale, groups[grading.group_of(groups, level)])


def grade_attempt(attempt: Attempt) -> dict:
    """Compute and store the result of a finished or timed-out attempt (the caller commits).

    An attempt with fewer scored answers than the assessment's minimum evidence gets no level: its
    status becomes "insufficient" and its result says why; no certificate, no plan.
    """
    assessment = attempt.assessment
    scale = graph.level_scale(assessment.scale)
    tree = map_for(assessment)
    engine = pools.engine_for(assessment, attempt.engine)
    state = CatState.from_dict(attempt.state)
    summary = engine.summary(state)
    multi = len(assessment.dimensions) > 1
    pool = pools.pool_items(assessment)
    rule = {**grading.DEFAULT_RULE, **(assessment.grade_rule or {})}
    # The state holds every answered item with its score, stored in the same transaction as each
    # response row, so grading needs no second read of the responses. Pilot items are not scored.
    answered = zip(state.administered, state.responses, strict=True)
    scored = [(code, score) for code, score in answered if not pool[code].pilot]
    counts: dict[str, int] = defaultdict(int)
    for code, _score in scored:
        counts[pool[code].dimension if multi else assessment.dimensions[0]] += 1
    dim_groups = grading.report_groups(scale, grading.report_boundaries(rule, "dimensions"))
    overall_groups = grading.report_groups(scale, grading.report_boundaries(rule, "overall"))
    dimensions = []
    for row in summary["dimensions"]:
        code = row["code"] if multi else assessment.dimensions[0]
        node = tree.nodes[code] if code in tree else {}
        theta, se = float(row["theta"]), float(row["se"])
        cuts = _cuts(assessment, code)
        level = grading.level_of(scale, theta, cuts)
        dimensions.append(
            {
                "code": code,
                "name_zh": node.get("name_zh", code),
                "name_en": node.get("name_en", code),
                "theta": round(theta, 4),
                "se": round(se, 4),
                "level": level,
                "range": _level_range(scale, theta, se, cuts),
                "class": _class(scale, dim_groups, level),
                "items": counts.get(code, 0),
            }
        )
    total, per_dimension = grading.min_evidence(rule, engine.cfg.min_items)
    missing = grading.missing_evidence(counts, list(assessment.dimensions), total, per_dimension)
    base = {
        "assessment": assessment.code,
        "kind": assessment.kind,
        "scale": assessment.scale,
        "role_code": assessment.role_code,
        "graph_version": attempt.graph_version,
        "grade_rule": rule,
        "stop_reason": attempt.stop_reason,
        "items_answered": int(summary["items"]),
        "timed_out": attempt.status == "timed_out",
        "finished_at": attempt.finished_at.isoformat() if attempt.finished_at else None,
        "min_evidence": {"total": total, "per_dimension": per_dimension},
        "accuracy": (assessment.simulation or {}).get("classification"),
    }
    if missing:
        for d in dimensions:
            d.update(level=None, range=None, **{"class": None})
        result = {
            **base,
            "status": "insufficient_evidence",
            "missing": missing,
            "dimensions": dimensions,
            "indicators": [],
            "overall_level": None,
        }
        attempt.result = result
        attempt.overall_level = None
        attempt.status = "insufficient"
        return result
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
        enough = est is not None and est["items"] >= grading.MIN_INDICATOR_ITEMS
        dim = est["dimension"] if est else dimension_for(assessment, code, tree)
        level = grading.level_of(scale, est["theta"], _cuts(assessment, dim or "*")) if enough else None
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
                "evidence": "enough" if enough else ("some" if est else "none"),
                "level": level,
                "target": target,
                "met": grading.readiness(scale, level, target) if target else None,
            }
        )
    overall_cuts = _cuts(assessment, "overall")
    overall = grading.overall_level(scale, dimensions, rule, overall_cuts)
    overall_range = (
        _overall_range(
            scale, dimensions, rule, [_cuts(assessment, d["code"]) or scale.cuts for d in dimensions],
            overall_cuts, seed=attempt.id or 0,
        )
        if multi
        else dimensions[0]["range"]
    )
    result = {
        **base,
        "status": "graded",
        "dimensions": dimensions,
        "indicators": indicators,
        "overall_level": overall,
        "overall_range": overall_range,
        "overall_class": _class(scale, overall_groups, overall),
    }
    attempt.result = result
    attempt.overall_level = overall
    _run_outcome_hooks(attempt)
    return result


def _run_outcome_hooks(attempt: Attempt) -> None:
    """The certificate is issued with the grade (same transaction); the improvement plan, derived data,
    is built when the result is first shown (services.plans.ensure_for_attempt)."""
    attempt.status = "graded"
    # Graded just now, so no certificate can exist yet for it (one needs a graded attempt).
    certificates.issue_for_attempt(attempt, just_graded=True)
