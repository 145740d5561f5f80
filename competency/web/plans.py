"""Improvement plans: the owner's list, one plan with its staged tasks and resources, ticking tasks off."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from competency.services import plan_overview, plans
from competency.services.errors import NotFound, ServiceError
from competency.services.resources import resource_files, resources_by_code
from competency.web.authz import ALL_ROLES, roles_required
from competency.web.i18n import select_locale

bp = Blueprint("plans", __name__, url_prefix="/plans")

HOLDERS = ("teacher", "student")
KIND_LABELS = {
    "micro_lecture": _l("Micro-lecture"),
    "online_course": _l("Online course"),
    "training_project": _l("Practical training project"),
    "teaching_case": _l("Teaching case"),
}


class TaskForm(FlaskForm):
    done = HiddenField()


class BuildForm(FlaskForm):
    pass


def _plan_or_404(plan_id: int):
    try:
        return plans.get_plan(plan_id, current_user)
    except NotFound:
        abort(404)


@bp.route("/")
@roles_required(*HOLDERS)
def mine():
    """The person's current improvement plans."""
    return render_template("plans/mine.html", view=plan_overview.overview(current_user))


@bp.route("/<int:plan_id>")
@roles_required(*ALL_ROLES)
def detail(plan_id: int):
    """One plan: stages in prerequisite order, tasks with their resources, progress."""
    plan = _plan_or_404(plan_id)
    locale = select_locale()
    stages = plans.stage_views(plan, locale)
    resources = resources_by_code(code for t in plan.tasks for code in t.resources)
    return render_template(
        "plans/detail.html",
        plan=plan,
        stages=stages,
        resources=resources,
        progress=plans.progress(plan),
        suggest_reassessment=plans.reassessment_suggested(plan),
        owner=plan.user_id == current_user.id,
        form=TaskForm(),
        kind_labels=KIND_LABELS,
        english=locale == "en",
        with_file=resource_files(r.id for r in resources.values()),
    )


@bp.route("/<int:plan_id>/tasks/<int:task_id>", methods=["POST"])
@roles_required(*ALL_ROLES)
def mark(plan_id: int, task_id: int):
    """Mark a task done or not done (the plan's owner only)."""
    plan = _plan_or_404(plan_id)
    form = TaskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        task = plans.set_task_done(plan, task_id, form.done.data == "1", current_user)
    except NotFound:
        abort(404)
    flash(_("Task marked as done.") if task.done_at else _("Task marked as not done."), "success")
    if plans.reassessment_suggested(plan):
        stage = next((v for v in plans.stage_views(plan, select_locale()) if v.index == task.stage), None)
        if stage is not None and stage.complete:
            flash(_("Stage complete. Take the assessment again to see how far you have come."), "info")
    return redirect(url_for("plans.detail", plan_id=plan.id, _anchor=f"task-{task.id}"))


@bp.route("/from-attempt/<int:attempt_id>", methods=["POST"])
@roles_required(*HOLDERS)
def build(attempt_id: int):
    """Build the plan for one of the person's graded attempts."""
    if not BuildForm().validate_on_submit():
        abort(400)
    try:
        plan = plans.create_for_attempt(attempt_id, current_user)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("plans.mine"))
    return redirect(url_for("plans.detail", plan_id=plan.id))
