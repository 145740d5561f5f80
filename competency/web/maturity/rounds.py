"""Diagnosis rounds: the list, opening a round, its page with invitations, the live response rate and the
assigned experts, and closing it."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from competency.extensions import db
from competency.maturity import maturity_model
from competency.models import Cohort, Institution
from competency.services import maturity_access, maturity_evidence, maturity_rounds
from competency.services.errors import ServiceError
from competency.web.authz import public, roles_required
from competency.web.maturity.common import (
    MANAGERS,
    REVIEW_LABELS,
    STAFF,
    VIEWERS,
    bp,
    flash_refusal,
    group_names,
    round_or_404,
    tr,
)
from competency.web.maturity.forms import (
    AssignExpertForm,
    CohortInviteForm,
    LinkInviteForm,
    OpenRoundForm,
    PlainForm,
)


def _open_form() -> OpenRoundForm:
    form = OpenRoundForm(prefix="open")
    form.scenarios.choices = [(s["code"], tr(s)) for s in maturity_model().scenarios]
    if current_user.role in STAFF:
        form.institution_id.choices = [
            (i.id, i.name) for i in db.session.scalars(select(Institution).order_by(Institution.name))
        ]
    else:
        form.institution_id.choices = [(current_user.institution_id or 0, "")]
    if not form.is_submitted():
        form.scenarios.data = [s["code"] for s in maturity_model().scenarios]
    return form


@bp.route("/")
@roles_required(*VIEWERS)
def index():
    """Diagnosis rounds the caller may see; institution admins and programme staff can open one."""
    rounds = maturity_access.visible_rounds(current_user)
    return render_template(
        "maturity/index.html",
        rounds=rounds,
        form=_open_form() if current_user.role in MANAGERS else None,
        tr=tr,
    )


@bp.route("/model")
@public
def model_page():
    """The maturity model: areas, indicators, level descriptors and their sources."""
    return render_template("maturity/model.html", model=maturity_model(), tr=tr)


@bp.route("/rounds", methods=["POST"])
@roles_required(*MANAGERS)
def open_round():
    """Open a diagnosis round (an institution admin for their own institution; programme staff for any)."""
    form = _open_form()
    if form.validate_on_submit():
        institution_id = (
            form.institution_id.data if current_user.role in STAFF else current_user.institution_id
        )
        try:
            rnd = maturity_rounds.open_round(
                institution_id or 0,
                current_user,
                form.title.data,
                scenarios=form.scenarios.data,
                weights=form.weights(),
            )
        except ServiceError as exc:
            flash_refusal(exc, form)
        else:
            flash(_("Diagnosis round opened."), "success")
            return redirect(url_for("maturity.round_page", round_id=rnd.id))
    rounds = maturity_access.visible_rounds(current_user)
    return render_template("maturity/index.html", rounds=rounds, form=form, tr=tr), 400


def _round_context(rnd) -> dict:
    manage = maturity_access.may_manage(rnd, current_user)
    groups = group_names(rnd.institution_type)
    link = LinkInviteForm(prefix="link")
    link.group.choices = list(groups.items())
    cohort = CohortInviteForm(prefix="cohort")
    cohort.group.choices = list(groups.items())
    cohort.cohort_id.choices = [
        (c.id, c.name)
        for c in db.session.scalars(
            select(Cohort).where(Cohort.institution_id == rnd.institution_id).order_by(Cohort.name)
        )
    ]
    assign = AssignExpertForm(prefix="assign")
    assign.expert_id.choices = [
        (u.id, f"{u.display_name} ({u.username})") for u in maturity_rounds.available_experts()
    ]
    return {
        "round": rnd,
        "manage": manage,
        "rates": maturity_rounds.response_rates(rnd),
        "groups": groups,
        "link_form": link,
        "cohort_form": cohort,
        "assign_form": assign if current_user.role in STAFF else None,
        "experts": maturity_rounds.assigned_experts(rnd),
        "evidence": maturity_evidence.evidence_of(rnd),
        "objective": maturity_evidence.objective_indicators(rnd),
        "plain": PlainForm(),
        "review_labels": REVIEW_LABELS,
        "tr": tr,
        "scenario_names": {s["code"]: tr(s) for s in maturity_model().scenarios},
    }


@bp.route("/rounds/<int:round_id>")
@roles_required(*VIEWERS)
def round_page(round_id: int):
    """A round: invitations with the live response rate, evidence, experts; close it when done."""
    rnd = round_or_404(round_id)
    return render_template("maturity/round.html", **_round_context(rnd))


@bp.route("/rounds/<int:round_id>/rates.json")
@roles_required(*MANAGERS)
def rates(round_id: int):
    """Response counts for the round page's live update (counts per group only, never per person)."""
    rnd = round_or_404(round_id, manage=True)
    data = maturity_rounds.response_rates(rnd)
    return jsonify(
        {
            "expected": data["expected"],
            "submitted": data["submitted"],
            "rate": data["rate"],
            "groups": data["groups"],
            "invitations": [
                {"id": row["invitation"].id, "started": row["started"], "submitted": row["submitted"]}
                for row in data["invitations"]
            ],
        }
    )


@bp.route("/rounds/<int:round_id>/invite-link", methods=["POST"])
@roles_required(*MANAGERS)
def invite_link(round_id: int):
    """Create an open invitation link for one respondent group."""
    rnd = round_or_404(round_id, manage=True)
    ctx = _round_context(rnd)
    form = ctx["link_form"]
    if form.validate_on_submit():
        try:
            maturity_rounds.invite_link(
                rnd, form.group.data, form.expected.data, current_user, form.label.data
            )
        except ServiceError as exc:
            flash_refusal(exc, form)
        else:
            flash(_("Invitation link created."), "success")
            return redirect(url_for("maturity.round_page", round_id=rnd.id))
    return render_template("maturity/round.html", **ctx), 400


@bp.route("/rounds/<int:round_id>/invite-cohort", methods=["POST"])
@roles_required(*MANAGERS)
def invite_cohort(round_id: int):
    """Invite every member of a cohort: each finds the questionnaire on their home page."""
    rnd = round_or_404(round_id, manage=True)
    ctx = _round_context(rnd)
    form = ctx["cohort_form"]
    if form.validate_on_submit():
        try:
            maturity_rounds.invite_cohort(rnd, form.group.data, form.cohort_id.data, current_user)
        except ServiceError as exc:
            flash_refusal(exc, form)
        else:
            flash(_("Cohort invited."), "success")
            return redirect(url_for("maturity.round_page", round_id=rnd.id))
    return render_template("maturity/round.html", **ctx), 400


@bp.route("/rounds/<int:round_id>/experts", methods=["POST"])
@roles_required(*STAFF)
def assign_expert(round_id: int):
    """Assign an expert to the round (platform admins and programme officers)."""
    rnd = round_or_404(round_id)
    ctx = _round_context(rnd)
    form = ctx["assign_form"]
    if form.validate_on_submit():
        try:
            maturity_rounds.assign_expert(rnd, form.expert_id.data, current_user)
        except ServiceError as exc:
            flash_refusal(exc, form)
        else:
            flash(_("Expert assigned."), "success")
            return redirect(url_for("maturity.round_page", round_id=rnd.id))
    return render_template("maturity/round.html", **ctx), 400


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@roles_required(*MANAGERS)
def close(round_id: int):
    """Close the round: the result is computed from all evidence and frozen."""
    rnd = round_or_404(round_id, manage=True)
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        maturity_rounds.close_round(rnd, current_user)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("maturity.round_page", round_id=rnd.id))
    flash(_("Round closed; the report is ready."), "success")
    return redirect(url_for("maturity.report", round_id=rnd.id))
