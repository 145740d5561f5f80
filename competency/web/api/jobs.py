"""Background jobs in the JSON API: poll a job's status (its owner or a platform admin)."""

from __future__ import annotations

from flask import g, jsonify

from competency.services import jobs
from competency.web.api.blueprint import bp
from competency.web.authz import ALL_ROLES, api_roles_required
from competency.web.jobs import status_json


@bp.route("/jobs/<int:job_id>")
@api_roles_required(*ALL_ROLES)
def job_status(job_id: int):
    """{id, kind, status, progress: {done, total, percent, message}, result, error, download_url, ...};
    404 for a job that is not the caller's (a platform admin sees every job). The download itself is
    at download_url for a logged-in browser session."""
    return jsonify(status_json(jobs.visible_job(g.api_user, job_id)))
