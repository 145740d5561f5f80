"""Taking assessments in the browser: overview, one item per page, results with charts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from competency import graph
from competency.extensions import db
from competency.models import Assessment
from competency.services import answering, results_words
from competency.services import assessments as assessment_service
from competency.services import attempt_lifecycle as attempt_service
from competency.services.attempt_closing import AttemptClosed
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
        what=nxt.descriptor_en if lang_en else nxt.descriptor_zh,
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
                "level_name": level.name_en if lang_en else level.name_zh,
                "descriptor": level.descriptor_en if lang_en else level.descriptor_zh,
                "next": (nxt.name_en if lang_en else nxt.name_zh) if nxt else None,
                "next_descriptor": (nxt.descriptor_en if lang_en else nxt.descriptor_zh) if nxt else None,
                "index": level.index + (0 if scale.lowest.code.endswith("0") else 1),
                "words": results_words.level_words(dim["level"], dim.get("range")),
                "class_name": (dim.get("class") or {}).get("name_en" if lang_en else "name_zh"),
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
                "level_name": (scale[ind["level"]].name_en if lang_en else scale[ind["level"]].name_zh)
                if ind.get("level")
                else None,
                "target_name": (scale[ind["target"]].name_en if lang_en else scale[ind["target"]].name_zh)
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
        overall_name=overall.name_en if lang_en else overall.name_zh,
        overall_words=results_words.overall_words(res),
        history=history,
        growth=growth,
        links=outcome_links(attempt),
        locale=select_locale(),
    )
