"""Taking assessments in the browser: overview, one item per page, results with charts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from competency import graph
from competency.bilingual import localized
from competency.extensions import db
from competency.models import Assessment
from competency.services import assessments as assessment_service
from competency.services import attempts as attempt_service
from competency.services import results_words
from competency.services.errors import NotFound, ServiceError
from competency.services.outcome_links import outcome_links
from competency.web import charts
from competency.web.authz import roles_required
from competency.web.i18n import select_locale
from competency.web.labels import dimension_name, level_label

bp = Blueprint("assess", __name__)
TAKERS = ("teacher", "student")


class CsrfOnlyForm(FlaskForm):
    """The answer fields depend on the item; this form only carries the CSRF token."""


def _name(row: dict) -> str:
    return dimension_name(row)  # a job-role dimension stored under its code reads as the role's name


def _fallback_step(scale, ind: dict, nxt, lang_en: bool) -> str | None:
    """A next step for an indicator without a descriptor of its own: never blank while unmet."""
    if ind.get("met") is True:
        return None
    if not ind.get("level"):
        return _("Not measured yet: answer questions on this indicator in your next attempt.")
    if nxt is None:
        return None
    return _(
        "Work towards %(level)s: %(what)s",
        level=level_label(scale.name, nxt.code),
        what=localized(nxt, "descriptor", lang_en),
    )


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
        assessments=assessment_service.open_assessments(current_user),
        history=attempt_service.history(current_user),
    )


@bp.route("/assessments/<int:assessment_id>")
@roles_required(*TAKERS)
def overview(assessment_id: int):
    """What the assessment measures, its rules, and a button to start or resume."""
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or not assessment_service.is_open_to(assessment, current_user):
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


@bp.route("/attempts/<int:attempt_id>", methods=["GET", "POST"])
@roles_required(*TAKERS)
def take(attempt_id: int):
    """One item per page; the answer is posted with the position it answers."""
    attempt = _own_attempt(attempt_id)
    form = CsrfOnlyForm()
    error = None
    status = 200
    if request.method == "POST" and attempt.status in ("started", "in_progress"):
        if not form.validate_on_submit():
            abort(400)
        payload = attempt_service.pending_payload(attempt)
        answer = _answer_from_form(payload["type"], payload["options"]) if payload else None
        if answer in (None, "", []):
            error = (
                _("Give each option a different position.")
                if payload and payload["type"] == "sequence"
                else _("Choose an answer before you continue.")
            )
            status = 400
        else:
            try:
                position = int(request.form.get("position", "0"))
            except ValueError:
                position = 0
            try:
                attempt = attempt_service.submit_answer(
                    current_user, attempt_id, position, request.form.get("item_id", ""), answer
                )
            except ServiceError as exc:
                db.session.rollback()
                error, status = exc.message, exc.status
                attempt = _own_attempt(attempt_id)
            else:
                return redirect(url_for("assess.take", attempt_id=attempt_id))
    if attempt.status not in ("started", "in_progress"):
        if request.method == "POST" and error:
            flash(error, "error")
        return redirect(url_for("assess.result", attempt_id=attempt.id))
    cfg = attempt.engine
    return (
        render_template(
            "assess/take.html",
            attempt=attempt,
            assessment=attempt.assessment,
            item=attempt_service.pending_payload(attempt),
            form=form,
            error=error,
            remaining=attempt_service.remaining_seconds(attempt),
            max_items=cfg.get("max_items"),
            min_items=cfg.get("min_items"),
            locale=select_locale(),
        ),
        status,
    )


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
    assessment = attempt.assessment
    scale = graph.level_scale(assessment.scale)
    lang_en = select_locale() == "en"
    res = attempt.result
    rows = []
    for dim in res["dimensions"]:
        level = scale[dim["level"]]
        nxt = scale.next_level(dim["level"])
        rows.append(
            {
                **dim,
                "name": _name(dim),
                "level_name": localized(level, "name", lang_en),
                "descriptor": localized(level, "descriptor", lang_en),
                "next": localized(nxt, "name", lang_en) if nxt else None,
                "next_descriptor": localized(nxt, "descriptor", lang_en) if nxt else None,
                "index": level.index + (0 if scale.lowest.code.endswith("0") else 1),
                "words": results_words.level_words(dim["level"], dim.get("range")),
                "class_name": localized(dim.get("class") or {}, "name", lang_en) or None,
                "class_code": (dim.get("class") or {}).get("code"),
            }
        )
    top = len(scale) - (1 if scale.lowest.code.endswith("0") else 0)
    chart = charts.radar(
        [r["name"] for r in rows],
        [r["index"] for r in rows],
        top,
        _("Level per dimension"),
        "; ".join(f"{r['name']}: {r['level_name']}" for r in rows),
        tick_labels=[level_label(scale.name, lv.code) for lv in scale][len(scale) - top :],
    )
    tree = assessment_service.map_for(assessment)
    indicators = []
    for ind in res.get("indicators", []):
        node = tree.nodes[ind["code"]] if ind["code"] in tree else {}
        descriptors = node.get("descriptors") or {}
        nxt = scale.next_level(ind["level"]) if ind.get("level") else None
        hint = None
        if nxt is not None and nxt.code in descriptors:
            hint = descriptors[nxt.code]["en" if lang_en else "zh"]
        hint = hint or _fallback_step(scale, ind, nxt, lang_en)
        indicators.append(
            {
                **ind,
                "name": _name(ind),
                "level_name": localized(scale[ind["level"]], "name", lang_en)
                if ind.get("level")
                else None,
                "target_name": localized(scale[ind["target"]], "name", lang_en)
                if ind.get("target")
                else None,
                "next_hint": hint,
            }
        )
    history = [
        a for a in attempt_service.history(current_user, assessment) if a.status == "graded" and a.result
    ]
    growth = None
    if len(history) > 1:
        x_labels = [
            a.finished_at.strftime("%m-%d") if a.finished_at else str(i + 1) for i, a in enumerate(history)
        ]
        series = [r["name"] for r in rows]
        points = [
            [
                next((d["theta"] for d in a.result["dimensions"] if d["code"] == r["code"]), None)
                for a in history
            ]
            for r in rows
        ]
        growth = charts.line(
            series,
            points,
            x_labels,
            -3,
            3,
            _("Growth over attempts (θ)"),
            _("Estimated ability per dimension at each attempt; the table lists the same values."),
        )
    overall = scale[res["overall_level"]]
    return render_template(
        "assess/result.html",
        attempt=attempt,
        assessment=assessment,
        rows=rows,
        chart=chart,
        indicators=indicators,
        overall=overall,
        overall_name=localized(overall, "name", lang_en),
        overall_words=results_words.overall_words(res),
        history=history,
        growth=growth,
        links=outcome_links(attempt),
        locale=select_locale(),
    )
