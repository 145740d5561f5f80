"""Taking assessments in the browser: overview, one item per page, results with charts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from competency.extensions import db
from competency.models import Assessment
from competency.services import answering, audience, results_words
from competency.services import attempt_lifecycle as attempt_service
from competency.services.attempt_closing import AttemptClosed
from competency.services.errors import NotFound, ServiceError
from competency.web import result_page
from competency.web.authz import roles_required
from competency.web.i18n import select_locale

bp = Blueprint("assess", __name__)
TAKERS = ("teacher", "student")


class CsrfOnlyForm(FlaskForm):
    """The answer fields depend on the item; this form only carries the CSRF token."""


def _own_attempt(attempt_id: int):
    try:
        return attempt_service.refresh(current_user, attempt_id)
    except NotFound:
        abort(404)


@bp.route("/assessments/")
@roles_required(*TAKERS)
def index():
    """Assessments open to the person, and their attempts."""
    return render_template(
        "assess/index.html",
        assessments=audience.open_assessments(current_user),
        history=attempt_service.history(current_user),
    )


@bp.route("/assessments/<int:assessment_id>")
@roles_required(*TAKERS)
def overview(assessment_id: int):
    """What the assessment measures, its rules, and a button to start or resume."""
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or not audience.is_open_to(assessment, current_user):
        abort(404)
    return render_template(
        "assess/overview.html",
        assessment=assessment,
        active=attempt_service.active_attempt(current_user, assessment),
        history=attempt_service.history(current_user, assessment),
        form=CsrfOnlyForm(),
        locale=select_locale(),
    )


@bp.route("/assessments/<int:assessment_id>/start", methods=["POST"])
@roles_required(*TAKERS)
def start(assessment_id: int):
    """Start an attempt, or resume the active one."""
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    try:
        attempt, _created = attempt_service.start_or_resume(current_user, assessment_id)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("assess.overview", assessment_id=assessment_id))
    return redirect(url_for("assess.take", attempt_id=attempt.id))


def _sequence_from_form(options: list[dict]):
    """The option keys ordered by the position chosen for each; None unless every position is used once."""
    chosen = {}
    for option in options:
        value = request.form.get(f"order-{option['key']}", "")
        if not value.isdigit():
            return None
        chosen[option["key"]] = int(value)
    if sorted(chosen.values()) != list(range(1, len(options) + 1)):
        return None
    return sorted(chosen, key=chosen.get)


def _answer_from_form(item_type: str, options: list[dict] | None = None):
    if item_type == "sequence":
        return _sequence_from_form(options or [])
    if item_type == "multiple":
        return request.form.getlist("answer")
    value = request.form.get("answer")
    if item_type == "truefalse" and value in ("true", "false"):
        return value == "true"
    return value


def _sent_in_form(pending: dict | None) -> answering.Sent:
    """The posted answer, decoded by the pending item's type (None: the attempt takes no answer)."""
    answer = _answer_from_form(pending["type"], pending["options"]) if pending else None
    if pending and answer in (None, "", []):
        message = (
            _("Give each option a different position.")
            if pending["type"] == "sequence"
            else _("Choose an answer before you continue.")
        )
        raise ServiceError("missing_answer", message, "answer")
    try:
        position = int(request.form.get("position", "0"))
    except ValueError:
        position = 0
    return answering.Sent(position, request.form.get("item_id", ""), answer)


@bp.route("/attempts/<int:attempt_id>", methods=["GET", "POST"])
@roles_required(*TAKERS)
def take(attempt_id: int):
    """One item per page; the answer is posted with the position it answers."""
    if request.method == "GET":
        return _take_page(_own_attempt(attempt_id))
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    try:
        answering.answer(answering.Taker(TAKERS, user_id=current_user.id), attempt_id, _sent_in_form)
    except NotFound:
        abort(404)
    except AttemptClosed:  # finished, or closed now at its deadline: the result says what happened
        return redirect(url_for("assess.result", attempt_id=attempt_id))
    except ServiceError as exc:
        if exc.status in (401, 403):
            raise
        db.session.rollback()
        return _take_page(_own_attempt(attempt_id), exc.message, exc.status)
    return redirect(url_for("assess.take", attempt_id=attempt_id))


def _take_page(attempt, error: str | None = None, status: int = 200):
    if attempt.status not in ("started", "in_progress"):
        if error:
            flash(error, "error")
        return redirect(url_for("assess.result", attempt_id=attempt.id))
    cfg = attempt.engine
    page = render_template(
        "assess/take.html",
        attempt=attempt,
        assessment=attempt.assessment,
        item=attempt_service.pending_payload(attempt),
        form=CsrfOnlyForm(),
        error=error,
        remaining=attempt_service.remaining_seconds(attempt),
        max_items=cfg.get("max_items"),
        min_items=cfg.get("min_items"),
        locale=select_locale(),
    )
    return page, status


@bp.route("/attempts/<int:attempt_id>/result")
@roles_required(*TAKERS)
def result(attempt_id: int):
    """Levels per dimension with a radar chart and a table, readiness per indicator, and growth."""
    attempt = _own_attempt(attempt_id)
    if attempt.status in ("started", "in_progress"):
        return redirect(url_for("assess.take", attempt_id=attempt.id))
    if attempt.status == "insufficient" and attempt.result:
        return render_template(
            "assess/insufficient.html",
            attempt=attempt,
            message=results_words.insufficient_message(attempt.result),
        )
    if attempt.status != "graded" or not attempt.result:
        abort(404)
    return render_template("assess/result.html", **result_page.context(attempt, current_user))
