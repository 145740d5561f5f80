"""Calibration operations for platform admins: responses per item, runs in the background with progress,
the review screen, per-item approval, publication, and pilot positions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import Length, NumberRange, Optional

from competency.extensions import db
from competency.models import Assessment
from competency.services import (
    assessment_definitions,
    calibration_review,
    calibration_runs,
    demo_responses,
    pools,
)
from competency.services.errors import ServiceError
from competency.services.items import current_params
from competency.web.account_forms import FAIRNESS_FIELD_NAMES, FAIRNESS_LABELS
from competency.web.authz import roles_required
from competency.web.forms import choices
from competency.web.items import ITEM_STATUS_LABELS
from competency.web.labels import paren

bp = Blueprint("calibration", __name__, url_prefix="/admin/calibration")
ADMIN = "platform_admin"


class RunForm(FlaskForm):
    model = SelectField(
        _l("Item model"),
        choices=choices([("keep", _l("Keep each item's model")), ("2pl", "2PL"), ("3pl", "3PL")]),
    )
    mode = SelectField(
        _l("Mode"),
        choices=choices(
            [
                ("full", _l("Full: re-estimate every item, link to the current scale, check drift")),
                ("online", _l("Online: hold operational items, estimate pilot items")),
            ]
        ),
    )
    min_responses = IntegerField(
        _l("Minimum responses per item"), default=200, validators=[Optional(), NumberRange(min=20)]
    )
    submit = SubmitField(_l("Run calibration in the background"))


class PilotForm(FlaskForm):
    pilot_positions = StringField(_l("Pilot item positions"), validators=[Length(max=200)])
    submit = SubmitField(_l("Save positions"))


class ActionForm(FlaskForm):
    submit = SubmitField(_l("Go"))


RUN_STATUS = {
    "queued": lambda: _("queued"),
    "running": lambda: _("running"),
    "review": lambda: _("waiting for review"),
    "publishing": lambda: _("publishing"),
    "published": lambda: _("published"),
    "discarded": lambda: _("discarded"),
    "failed": lambda: _("failed"),
}


@bp.app_template_global()
def run_status(status: str) -> str:
    return RUN_STATUS[status]() if status in RUN_STATUS else status


def _fmt(x, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def _grouping_name(g: dict | None) -> str:
    if not g:
        return "?"
    labels = FAIRNESS_LABELS[g["field"]]
    focal = str(labels.get(g["value"], g["value"]))
    other = _("others") if g["reference"] == "rest" else str(labels.get(g["reference"], g["reference"]))
    return f"{FAIRNESS_FIELD_NAMES[g['field']]}{paren(f'{focal} / {other}')}"


def _decision_label(d: str | None) -> str:
    return {"approve": _("approved"), "reject": _("rejected")}.get(d or "", "—")


@bp.context_processor
def _helpers() -> dict:
    return {
        "fmt": _fmt,
        "pct": _pct,
        "grouping_name": _grouping_name,
        "decision_label": _decision_label,
        "item_status": lambda s: ITEM_STATUS_LABELS.get(s, s),
    }


def _assessment_or_404(assessment_id: int) -> Assessment:
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None:
        abort(404)
    return assessment


def _run_or_404(run_id: int):
    try:
        return calibration_runs.get_run(run_id)
    except ServiceError:
        abort(404)


@bp.route("/")
@roles_required(ADMIN)
def index():
    """Assessments that have graded attempts to calibrate from."""
    rows = db.session.scalars(
        select(Assessment).where(Assessment.status != "draft").order_by(Assessment.id)
    ).all()
    return render_template("calibration/index.html", assessments=rows)


def _render_assessment(assessment, run_form=None, pilot_form=None, status: int = 200):
    counts = calibration_review.response_counts(assessment)
    pool = pools.pool_rows(assessment) if assessment.pool else []
    tree = assessment_definitions.map_for(assessment)
    items = [
        {
            "code": item.code,
            "status": item.status,
            "dimension": assessment_definitions.dimension_for(assessment, item.node, tree),
            "responses": counts.get(item.code, 0),
            "frozen": params.version,
            "current": current_params(item),
        }
        for item, params in pool
    ]
    run_form = run_form or RunForm(formdata=None)
    pilot_form = pilot_form or PilotForm(
        formdata=None,
        data={
            "pilot_positions": ", ".join(str(p) for p in (assessment.engine or {}).get("pilot_positions", []))
        },
    )
    return (
        render_template(
            "calibration/assessment.html",
            assessment=assessment,
            items=items,
            runs=calibration_runs.runs_of(assessment),
            run_form=run_form,
            pilot_form=pilot_form,
        ),
        status,
    )


@bp.route("/assessments/<int:assessment_id>")
@roles_required(ADMIN)
def assessment(assessment_id: int):
    """Responses per item, the run form, pilot positions and earlier runs."""
    return _render_assessment(_assessment_or_404(assessment_id))


@bp.route("/assessments/<int:assessment_id>/runs", methods=["POST"])
@roles_required(ADMIN)
def start(assessment_id: int):
    assessment = _assessment_or_404(assessment_id)
    form = RunForm()
    if form.validate_on_submit():
        try:
            run = calibration_runs.start_run(assessment, current_user, form.data)
        except ServiceError as exc:
            getattr(form, exc.field or "mode", form.mode).errors.append(exc.message)
        else:
            flash(_("Calibration run %(id)s started in the background.", id=run.id), "success")
            return redirect(url_for("calibration.run", run_id=run.id))
    return _render_assessment(assessment, run_form=form, status=400)


@bp.route("/assessments/<int:assessment_id>/pilot-positions", methods=["POST"])
@roles_required(ADMIN)
def pilot_positions(assessment_id: int):
    assessment = _assessment_or_404(assessment_id)
    form = PilotForm()
    if form.validate_on_submit():
        try:
            calibration_runs.set_pilot_positions(assessment, form.pilot_positions.data or "", current_user)
        except ServiceError as exc:
            form.pilot_positions.errors.append(exc.message)
        else:
            flash(_("Pilot positions saved; attempts started from now on use them."), "success")
            return redirect(url_for("calibration.assessment", assessment_id=assessment.id))
    return _render_assessment(assessment, pilot_form=form, status=400)


@bp.route("/runs/<int:run_id>")
@roles_required(ADMIN)
def run(run_id: int):
    """Progress while the run works; then the review screen."""
    run = _run_or_404(run_id)
    calibration_runs.sync_with_job(run)
    findings = run.findings if run.status in ("review", "publishing", "published", "discarded") else None
    return render_template(
        "calibration/run.html",
        run=run,
        findings=findings,
        suggested=calibration_runs.suggested,
        groupings={g["code"]: g for g in (findings or {}).get("groupings", [])},
        simulated=demo_responses.simulated_attempts(run.assessment_id) if findings else 0,
        form=ActionForm(formdata=None),
    )


@bp.route("/runs/<int:run_id>/publish", methods=["POST"])
@roles_required(ADMIN)
def publish(run_id: int):
    run = _run_or_404(run_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    decisions = {
        key.removeprefix("decision-"): value
        for key, value in request.form.items()
        if key.startswith("decision-")
    }
    try:
        calibration_runs.request_publish(run, current_user, decisions)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("calibration.run", run_id=run.id))
    db.session.refresh(run)
    if run.status == "published":
        flash(_("Published. Earlier results keep their scores."), "success")
    elif run.status == "publishing":
        flash(_("Publishing in the background; this page shows when it is done."), "success")
    return redirect(url_for("calibration.run", run_id=run.id))


@bp.route("/runs/<int:run_id>/discard", methods=["POST"])
@roles_required(ADMIN)
def discard(run_id: int):
    run = _run_or_404(run_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        calibration_runs.discard_run(run, current_user)
    except ServiceError as exc:
        flash(exc.message, "error")
    return redirect(url_for("calibration.run", run_id=run.id))
