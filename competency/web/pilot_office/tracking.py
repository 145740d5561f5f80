"""The two-year pilot of a designated unit: milestones and re-diagnoses, and revocation."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from competency.extensions import db
from competency.models import PilotMilestone
from competency.services import pilot_designations
from competency.services.errors import NotFound, ServiceError
from competency.web.authz import roles_required
from competency.web.pilot_forms import MilestoneForm, RevokeDesignationForm
from competency.web.pilot_office.common import OFFICERS, bp


@bp.route("/milestones/<int:milestone_id>", methods=["POST"])
@roles_required(*OFFICERS)
def milestone(milestone_id: int):
    """Track the pilot: mark a milestone done, request a re-diagnosis, attach its result."""
    designation_id = db.get_or_404(PilotMilestone, milestone_id).designation_id
    form = MilestoneForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        pilot_designations.update_milestone(milestone_id, form.action.data, form.note.data, current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Milestone updated."), "success")
    return redirect(url_for("pilots.designation", designation_id=designation_id))


@bp.route("/designations/<int:designation_id>/revoke", methods=["POST"])
@roles_required(*OFFICERS)
def revoke(designation_id: int):
    """Revoke a designation, with the reason (the public record then says revoked)."""
    form = RevokeDesignationForm()
    try:
        item = pilot_designations.get_designation(designation_id)
    except NotFound:
        abort(404)
    if not form.validate_on_submit():
        flash(_("Reason for revocation: required."), "error")
        return redirect(url_for("pilots.designation", designation_id=item.id))
    try:
        pilot_designations.revoke(item, form.reason.data, current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Designation revoked."), "success")
    return redirect(url_for("pilots.designation", designation_id=item.id))
