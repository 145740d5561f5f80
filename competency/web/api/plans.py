"""Improvement plans in the JSON API."""

from __future__ import annotations

from flask import g, jsonify
from flask_babel import gettext as _

from competency.services import plans
from competency.services.errors import ServiceError
from competency.web.api.blueprint import bp
from competency.web.api.helpers import json_body, require
from competency.web.authz import ALL_ROLES, api_roles_required
from competency.web.i18n import select_locale

HOLDERS = ("teacher", "student")


@bp.route("/plans")
@api_roles_required(*ALL_ROLES)
def my_plans():
    """The caller's current plans."""
    locale = select_locale()
    plans.ensure_for_user(g.api_user)
    return jsonify(plans=[plans.to_dict(p, locale) for p in plans.plans_of(g.api_user)])


@bp.route("/plans", methods=["POST"])
@api_roles_required(*HOLDERS)
def create_plan():
    """Build the plan of one of the caller's graded attempts: {attempt_id}; 409 if it is not graded."""
    attempt_id = require(json_body(), "attempt_id", int)
    plan = plans.create_for_attempt(attempt_id, g.api_user)
    return jsonify(plans.to_dict(plan, select_locale())), 201


@bp.route("/plans/<int:plan_id>")
@api_roles_required(*ALL_ROLES)
def get_plan(plan_id: int):
    """{stages: [{title, hours, tasks: [{node, title, resources}]}]}; the owner or staff of their institution."""
    return jsonify(plans.to_dict(plans.get_plan(plan_id, g.api_user), select_locale()))


@bp.route("/plans/<int:plan_id>/tasks/<int:task_id>", methods=["POST"])
@api_roles_required(*ALL_ROLES)
def mark_task(plan_id: int, task_id: int):
    """Mark a task done or not done: {done: true|false}; only the plan's owner."""
    data = json_body()
    done = data.get("done", True)
    if not isinstance(done, bool):
        raise ServiceError("invalid_field", _("done must be true or false"), "done")
    plan = plans.get_plan(plan_id, g.api_user)
    plans.set_task_done(plan, task_id, done, g.api_user)
    return jsonify(plans.to_dict(plan, select_locale()))
