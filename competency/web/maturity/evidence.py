"""Objective evidence: the institution enters values with proof documents; assigned experts download
and review them."""

from __future__ import annotations

from urllib.parse import quote as url_quote

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from competency.extensions import db
from competency.services import maturity_evidence
from competency.services.errors import NotFound, ServiceError
from competency.web.authz import roles_required
from competency.web.maturity.common import (
    EVIDENCE_ENTRY,
    EXPERTS,
    REVIEW_LABELS,
    VIEWERS,
    bp,
    flash_refusal,
    round_or_404,
    tr,
)
from competency.web.maturity.forms import EvidenceForm, ReviewForm


def _evidence_form(rnd) -> EvidenceForm:
    form = EvidenceForm(prefix="ev")
    form.indicator.choices = [
        (i.code, f"{i.code} {tr(i.objective, 'label')}") for i in maturity_evidence.objective_indicators(rnd)
    ]
    return form


@bp.route("/rounds/<int:round_id>/evidence", methods=["GET", "POST"])
@roles_required(*EVIDENCE_ENTRY)
def evidence(round_id: int):
    """Enter objective indicators with proof documents."""
    rnd = round_or_404(round_id, manage=True)
    form = _evidence_form(rnd)
    if request.method == "GET":
        return _evidence_page(rnd, form)
    if form.validate_on_submit():
        upload = form.attachment.data
        try:
            maturity_evidence.enter(
                rnd,
                form.indicator.data,
                form.value.data,
                form.note.data,
                current_user,
                filename=upload.filename if upload else None,
                content=(upload.read(maturity_evidence.MAX_ATTACHMENT_BYTES + 1) or None) if upload else None,
            )
        except ServiceError as exc:
            db.session.rollback()
            flash_refusal(exc, form)
        else:
            flash(_("Evidence saved."), "success")
            return redirect(url_for("maturity.evidence", round_id=rnd.id))
    return _evidence_page(rnd, form, 400)


def _evidence_page(rnd, form: EvidenceForm, status: int = 200):
    return render_template(
        "maturity/evidence.html",
        round=rnd,
        form=form,
        indicators=maturity_evidence.objective_indicators(rnd),
        evidence=maturity_evidence.evidence_of(rnd),
        review_labels=REVIEW_LABELS,
        tr=tr,
    ), status


@bp.route("/rounds/<int:round_id>/evidence/<int:evidence_id>/file")
@roles_required(*VIEWERS)
def evidence_file(round_id: int, evidence_id: int):
    """Download a proof document (the round's managers and its assigned experts)."""
    rnd = round_or_404(round_id)
    try:
        item = maturity_evidence.get(rnd, evidence_id)
    except NotFound:
        abort(404)
    if not item.attachment_key:
        abort(404)
    path = maturity_evidence.attachment_path(item)
    if not path.is_file():
        abort(404)
    # At most 5 MB, so read whole: no file handle outlives the request.
    response = Response(path.read_bytes(), mimetype=item.attachment_type)
    # RFC 6266: an ASCII fallback name plus the UTF-8 one (Chinese file names are common here).
    name = item.attachment_name or "evidence"
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in name)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{url_quote(name, safe='')}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/rounds/<int:round_id>/evidence/<int:evidence_id>/review", methods=["POST"])
@roles_required(*EXPERTS)
def review(round_id: int, evidence_id: int):
    """An assigned expert accepts or rejects an objective value."""
    rnd = round_or_404(round_id)
    form = ReviewForm(prefix=f"rv{evidence_id}")
    try:
        item = maturity_evidence.get(rnd, evidence_id)
    except NotFound:
        abort(404)
    if not form.validate_on_submit():
        flash(_("Choose accept or reject."), "error")
        return redirect(url_for("maturity.rate", round_id=rnd.id))
    try:
        maturity_evidence.review(item, form.status.data, form.comment.data, current_user)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Review saved."), "success")
    return redirect(url_for("maturity.rate", round_id=rnd.id))
