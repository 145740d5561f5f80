"""Assessments and attempts through the JSON API (the contract in DESIGN.md)."""

from __future__ import annotations

from flask import g, jsonify
from flask_babel import gettext as _

from competency.models import Attempt
from competency.services import assessments as assessment_service
from competency.services import attempts as attempt_service
from competency.services.errors import Conflict, ServiceError
from competency.services.outcome_links import outcome_links
from competency.web.api import bp
from competency.web.api.helpers import json_body, require
from competency.web.authz import ALL_ROLES, api_roles_required

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
    rows = assessment_service.open_assessments(g.api_user)
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
@api_roles_required(*TAKERS, answering="attempt_id")
def post_response(attempt_id: int):
    """Store one answer; the next item, or `finished: true`."""
    data = json_body()
    for field in ("position", "item_id", "answer"):
        if field not in data:
            raise ServiceError("missing_field", _("%(field)s is required", field=field), field)
    attempt = attempt_service.submit_answer(
        g.api_user, attempt_id, data["position"], data["item_id"], data["answer"], locked=g.api_attempt
    )
    if attempt.status in ("started", "in_progress"):
        return jsonify(
            finished=False, item=attempt_service.pending_payload(attempt), position=attempt.position
        )
    return jsonify(finished=True, status=attempt.status)


@bp.route("/attempts/<int:attempt_id>/result")
@api_roles_required(*TAKERS)
def get_result(attempt_id: int):
    """The graded result."""
    attempt = attempt_service.refresh(g.api_user, attempt_id)
    if attempt.status != "graded" or not attempt.result:
        raise Conflict("not_graded", _("the attempt is not finished yet"))
    locale = g.api_user.locale or "zh_Hans_CN"
    name_key = "name_en" if locale == "en" else "name_zh"
    result = attempt.result
    links = outcome_links(attempt)
    return jsonify(
        dimensions=[
            {"code": d["code"], "name": d[name_key], "theta": d["theta"], "se": d["se"], "level": d["level"]}
            for d in result["dimensions"]
        ],
        indicators=[
            {k: ind[k] for k in ("code", "theta", "se", "level", "target", "met")} | {"name": ind[name_key]}
            for ind in result.get("indicators", [])
        ],
        overall_level=result["overall_level"],
        timed_out=result.get("timed_out", False),
        items_answered=result.get("items_answered"),
        certificate_code=links["certificate_code"],
        plan_id=links["plan_id"],
    )
