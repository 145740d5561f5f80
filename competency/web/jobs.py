"""A background job's page (progress that refreshes itself, the download when done) and its status JSON."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, send_file, url_for
from flask_login import current_user

from competency.services import jobs
from competency.services.errors import NotFound
from competency.web.authz import ALL_ROLES, roles_required

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def _job_or_404(job_id: int):
    try:
        return jobs.visible_job(current_user, job_id)
    except NotFound:
        abort(404)


def status_json(job) -> dict:
    """The status view with the download's address (shared by the page's polling and the JSON API)."""
    view = jobs.status_view(job)
    view["download_url"] = url_for("jobs.download", job_id=job.id) if view["has_file"] else None
    view["page_url"] = url_for("jobs.show", job_id=job.id)
    return view


@bp.route("/<int:job_id>")
@roles_required(*ALL_ROLES)
def show(job_id: int):
    job = _job_or_404(job_id)
    handler = jobs.handler_for(job.kind)
    return render_template(
        "jobs/show.html", job=job, view=status_json(job), label=handler.label if handler else job.kind
    )


@bp.route("/<int:job_id>/status")
@roles_required(*ALL_ROLES)
def status(job_id: int):
    response = jsonify(status_json(_job_or_404(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:job_id>/download")
@roles_required(*ALL_ROLES)
def download(job_id: int):
    job = _job_or_404(job_id)
    path = jobs.download_path(job)
    if path is None:
        abort(404)
    return send_file(path, as_attachment=True, download_name=path.name, max_age=0)
