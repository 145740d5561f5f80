"""Assessments and attempts through the JSON API (the contract in DESIGN.md)."""

from __future__ import annotations

from flask import g, jsonify
from flask_babel import gettext as _

from competency.extensions import db
from competency.models import Assessment, Attempt
from competency.services import answering, assessment_definitions, audience, results_words
from competency.services import attempt_lifecycle as attempt_service
from competency.services.errors import Conflict, NotFound, ServiceError
from competency.services.outcome_links import outcome_links
from competency.web.api.blueprint import bp
from competency.web.api.helpers import json_body, require
from competency.web.authz import ALL_ROLES, STAFF, api_roles_required, bearer_token, roles_checked_in_service

TAKERS = ("teacher", "student")


def _attempt_body(attempt: Attempt) -> dict:
    return {
        "id": attempt.id,
        "status": attempt.status,
        "position": attempt.position if attempt.status in ("started", "in_progress") else None,
        "remaining_seconds": attempt_service.remaining_seconds(attempt),
        "item": attempt_service.pending_payload(attempt),
    }


@bp.route("/assessments")
@api_roles_required(*ALL_ROLES)
def list_assessments():
    """Assessments open to the caller."""
    locale = g.api_user.locale or "zh_Hans_CN"
    rows = audience.open_assessments(g.api_user)
    return jsonify(assessments=[{"id": a.id, "title": a.title(locale), "kind": a.kind} for a in rows])


@bp.route("/attempts", methods=["POST"])
@api_roles_required(*TAKERS)
def start_attempt():
    """Start an attempt, or resume the caller's active one."""
    data = json_body()
    assessment_id = require(data, "assessment_id", int)
    attempt, created = attempt_service.start_or_resume(g.api_user, assessment_id)
    return jsonify(_attempt_body(attempt)), 201 if created else 200


@bp.route("/attempts/<int:attempt_id>")
@api_roles_required(*TAKERS)
def get_attempt(attempt_id: int):
    """The attempt's state and its pending item, for resuming."""
    return jsonify(_attempt_body(attempt_service.refresh(g.api_user, attempt_id)))


@bp.route("/attempts/<int:attempt_id>/responses", methods=["POST"])
@roles_checked_in_service(*TAKERS)
def post_response(attempt_id: int):
    """Store one answer; the next item, or `finished: true`. The service checks token and role."""
    answered = answering.answer(answering.Taker(TAKERS, token=bearer_token()), attempt_id, _sent)
    if answered.finished:
        return jsonify(finished=True, status=answered.status)
    return jsonify(finished=False, item=answered.item, position=answered.position)


def _sent(_pending: dict | None) -> answering.Sent:
    """The answer's JSON body, read once the caller is known (so a stranger gets 401, not 400)."""
    data = json_body()
    for field in ("position", "item_id", "answer"):
        if field not in data:
            raise ServiceError("missing_field", _("%(field)s is required", field=field), field)
    return answering.Sent(data["position"], data["item_id"], data["answer"])


@bp.route("/attempts/<int:attempt_id>/result")
@api_roles_required(*TAKERS)
def get_result(attempt_id: int):
    """The graded result, or why there is none (too little evidence)."""
    attempt = attempt_service.refresh(g.api_user, attempt_id)
    if attempt.status not in ("graded", "insufficient") or not attempt.result:
        raise Conflict("not_graded", _("the attempt is not finished yet"))
    locale = g.api_user.locale or "zh_Hans_CN"
    return jsonify(result_body(attempt, locale))


def result_body(attempt: Attempt, locale: str) -> dict:
    result = attempt.result
    name_key = "name_en" if locale == "en" else "name_zh"
    dimensions = [
        {
            "code": d["code"],
            "name": d[name_key],
            "theta": d["theta"],
            "se": d["se"],
            "level": d["level"],
            "range": d.get("range"),
            "class": _class_body(d.get("class"), name_key),
            "items": d.get("items"),
        }
        for d in result["dimensions"]
    ]
    common = {
        "status": result.get("status", "graded"),
        "dimensions": dimensions,
        "timed_out": result.get("timed_out", False),
        "items_answered": result.get("items_answered"),
    }
    if attempt.status == "insufficient":
        return common | {
            "indicators": [],
            "overall_level": None,
            "certificate_code": None,
            "plan_id": None,
            "missing": result.get("missing", []),
            "message": results_words.insufficient_message(result, locale),
        }
    links = outcome_links(attempt)
    return common | {
        "indicators": [
            {k: ind.get(k) for k in ("code", "theta", "se", "level", "target", "met", "items", "evidence")}
            | {"name": ind[name_key]}
            for ind in result.get("indicators", [])
        ],
        "overall_level": result["overall_level"],
        "overall_range": result.get("overall_range"),
        "overall_class": _class_body(result.get("overall_class"), name_key),
        "uncertainty": results_words.overall_words(result, locale),
        "accuracy": result.get("accuracy"),
        "certificate_code": links["certificate_code"],
        "plan_id": links["plan_id"],
    }


def _class_body(found: dict | None, name_key: str) -> dict | None:
    return None if not found else {"code": found["code"], "name": found[name_key], "levels": found["levels"]}


@bp.route("/assessments/<int:assessment_id>/simulation")
@api_roles_required(*STAFF)
def get_simulation(assessment_id: int):
    """For managers: the publishing simulation, with classification accuracy and consistency."""
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or not assessment_definitions.can_manage(g.api_user, assessment):
        raise NotFound("assessment_not_found", _("no assessment with this id that you manage"), "assessment_id")
    if not assessment.simulation:
        raise Conflict("not_published", _("the assessment has not been published yet"))
    return jsonify(
        assessment_id=assessment.id,
        code=assessment.code,
        published_at=assessment.published_at.isoformat() if assessment.published_at else None,
        simulation=assessment.simulation,
    )
