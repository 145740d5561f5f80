"""The diagnosis report (page and PDF) and its action list."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from competency.maturity import maturity_model
from competency.services import maturity_access, maturity_actions, maturity_report
from competency.services.errors import NotFound, ServiceError
from competency.web import charts
from competency.web.authz import roles_required
from competency.web.maturity.common import MANAGERS, VIEWERS, bp, group_names, round_or_404, tr
from competency.web.maturity.forms import ACTION_STATUS_LABELS, ActionForm, ActionUpdateForm


def _radar(report: dict) -> str:
    model = report["model"]
    areas = [(a, report["result"]["areas"].get(a["code"], {})) for a in model.areas]
    return charts.radar(
        [tr(a) for a, _r in areas],
        [r.get("score") or 0 for _a, r in areas],
        5,
        _("Maturity per area"),
        "; ".join(f"{tr(a)}: {r.get('score') if r.get('score') is not None else '—'}" for a, r in areas),
    )


@bp.route("/rounds/<int:round_id>/report")
@roles_required(*VIEWERS)
def report(round_id: int):
    """The diagnosis report: levels, radar with its table, strengths and gaps, group differences,
    recommendations one level up, the action list, peers and change since the last round."""
    rnd = round_or_404(round_id)
    data = maturity_report.build(rnd)
    action_form = ActionForm(prefix="act")
    action_form.indicator.choices = [
        (c, f"{c} {tr(data['model'].indicators[c])}") for c in data["result"]["indicators"]
    ]
    return render_template(
        "maturity/report.html",
        **data,
        chart=_radar(data),
        manage=maturity_access.may_manage(rnd, current_user),
        action_form=action_form,
        update_forms={a.id: ActionUpdateForm(prefix=f"a{a.id}", obj=a) for a in data["actions"]},
        status_labels=ACTION_STATUS_LABELS,
        groups=group_names(rnd.institution_type),
        tr=tr,
    )


@bp.route("/rounds/<int:round_id>/report.pdf")
@roles_required(*VIEWERS)
def report_pdf(round_id: int):
    """The report as a PDF with the embedded CJK font."""
    from competency.pdf.maturity_report import render_report

    rnd = round_or_404(round_id)
    body = render_report(maturity_report.build(rnd), group_names(rnd.institution_type))
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="maturity-report-{rnd.id}.pdf"'},
    )


@bp.route("/rounds/<int:round_id>/actions", methods=["POST"])
@roles_required(*MANAGERS)
def add_action(round_id: int):
    """Turn a recommendation into a tracked action."""
    rnd = round_or_404(round_id, manage=True)
    form = ActionForm(prefix="act")
    form.indicator.choices = [(c, c) for c in maturity_model().indicators]
    if form.validate_on_submit():
        try:
            maturity_actions.create(
                rnd, form.indicator.data, form.title.data, form.owner.data, form.due_on.data, current_user
            )
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Action added."), "success")
    else:
        flash(_("An action needs an indicator, a title, an owner and a due date."), "error")
    return redirect(url_for("maturity.report", round_id=rnd.id) + "#actions")


@bp.route("/rounds/<int:round_id>/actions/<int:action_id>", methods=["POST"])
@roles_required(*MANAGERS)
def update_action(round_id: int, action_id: int):
    """Change an action's status, owner or due date."""
    rnd = round_or_404(round_id, manage=True)
    try:
        action = maturity_actions.get(rnd.institution_id, action_id)
    except NotFound:
        abort(404)
    form = ActionUpdateForm(prefix=f"a{action.id}")
    if form.validate_on_submit():
        try:
            maturity_actions.update(action, form.status.data, form.owner.data, form.due_on.data, current_user)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Action updated."), "success")
    else:
        flash(_("An action needs a status, an owner and a due date."), "error")
    return redirect(url_for("maturity.report", round_id=rnd.id) + "#actions")
