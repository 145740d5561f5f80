"""Expert rating: each assigned expert rates every indicator's level; flagged disagreements end in a
recorded consensus."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from competency.extensions import db
from competency.maturity import maturity_model
from competency.services import maturity_evidence, maturity_experts
from competency.services.errors import ServiceError
from competency.services.maturity_scoring import result_of
from competency.web.authz import roles_required
from competency.web.maturity.common import EXPERTS, REVIEW_LABELS, bp, group_names, round_or_404, tr
from competency.web.maturity.forms import ConsensusForm, PlainForm, ReviewForm


def _rate_context(rnd, errors: dict | None = None, values: dict | None = None) -> dict:
    model = maturity_model()
    applicable = model.applicable(rnd.institution_type, rnd.scenarios)
    summaries = maturity_experts.summaries(rnd)
    flagged = [code for code, s in summaries.items() if s["flagged"]]
    consensus = ConsensusForm(prefix="cons")
    consensus.indicator.choices = [(c, c) for c in flagged]
    consensus.level.choices = [(str(lv["code"]), f"{lv['code']} {tr(lv)}") for lv in model.levels]
    evidence = maturity_evidence.evidence_of(rnd)
    return {
        "round": rnd,
        "model": model,
        "areas": [(a, [i for i in applicable if i.area == a["code"]]) for a in model.areas],
        "mine": maturity_experts.my_ratings(rnd, current_user),
        "summaries": summaries,
        "flagged": flagged,
        "consensus": maturity_experts.consensus_of(rnd),
        "consensus_form": consensus,
        "evidence": evidence,
        "review_forms": {
            e.id: ReviewForm(
                prefix=f"rv{e.id}", status=e.review_status if e.review_status != "pending" else "accepted"
            )
            for e in evidence.values()
        },
        "result": result_of(rnd),
        "plain": PlainForm(),
        "errors": errors or {},
        "values": values or {},
        "review_labels": REVIEW_LABELS,
        "groups": group_names(rnd.institution_type),
        "tr": tr,
    }


@bp.route("/rounds/<int:round_id>/rate", methods=["GET", "POST"])
@roles_required(*EXPERTS)
def rate(round_id: int):
    """An assigned expert sees the evidence and rates each indicator's level with a comment."""
    rnd = round_or_404(round_id)
    if request.method == "POST":
        if not PlainForm().validate_on_submit():
            abort(400)
        try:
            count = maturity_experts.rate(rnd, current_user, request.form.to_dict())
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return render_template(
                "maturity/rate.html", **_rate_context(rnd, {exc.field: exc.message}, request.form.to_dict())
            ), 400
        flash(_("%(n)d indicators rated.", n=count), "success")
        return redirect(url_for("maturity.rate", round_id=rnd.id))
    return render_template("maturity/rate.html", **_rate_context(rnd))


@bp.route("/rounds/<int:round_id>/consensus", methods=["POST"])
@roles_required(*EXPERTS)
def consensus(round_id: int):
    """Record the level the experts agreed on for an indicator they rated more than a level apart."""
    rnd = round_or_404(round_id)
    form = _rate_context(rnd)["consensus_form"]
    if not form.validate_on_submit():
        flash(_("Choose a flagged indicator, a level and say how the experts agreed."), "error")
        return redirect(url_for("maturity.rate", round_id=rnd.id))
    try:
        maturity_experts.record_consensus(
            rnd, current_user, form.indicator.data, form.level.data, form.comment.data
        )
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Consensus recorded."), "success")
    return redirect(url_for("maturity.rate", round_id=rnd.id))
