"""Experts: their assigned reviews, independent scoring per rubric criterion, and declared ties."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from competency.extensions import db
from competency.models import Institution, Role
from competency.services import pilot_calls, pilot_reviews
from competency.services.errors import NotFound, ServiceError
from competency.services.pilot_form import FIELDS, SECTIONS
from competency.web.authz import roles_required
from competency.web.forms import choices
from competency.web.pilot_forms import ReviewForm, TieForm
from competency.web.pilots import industry_names

bp = Blueprint("pilot_review", __name__, url_prefix="/pilots/reviews")

EXPERT = (Role.EXPERT.value,)


@bp.route("/")
@roles_required(*EXPERT)
def index():
    """The applications assigned to this expert."""
    return render_template("pilots/reviews.html", reviews=pilot_reviews.reviews_of(current_user))


@bp.route("/<int:review_id>", methods=["GET", "POST"])
@roles_required(*EXPERT)
def review(review_id: int):
    """Score each rubric criterion with a comment. Other experts' scores appear only after submitting."""
    try:
        item = pilot_reviews.review_for(review_id, current_user)
    except NotFound:
        abort(404)
    form = ReviewForm()
    if not form.is_submitted():
        return _review_page(item, form)
    if not form.validate():
        return _review_page(item, form, status=400)
    rubric = item.application.call.rubric
    scores = {c["code"]: request.form.get(f"score_{c['code']}") for c in rubric}
    comments = {c["code"]: request.form.get(f"comment_{c['code']}") for c in rubric}
    try:
        pilot_reviews.submit_review(item, scores, comments, current_user)
    except ServiceError as exc:
        db.session.rollback()
        return _review_page(item, form, {exc.field or "form": exc.message}, exc.status)
    flash(_("Review submitted."), "success")
    return redirect(url_for("pilot_review.review", review_id=item.id))


def _review_page(item, form: ReviewForm, errors: dict[str, str] | None = None, status: int = 200):
    return (
        render_template(
            "pilots/review.html",
            review=item,
            application=item.application,
            peers=pilot_reviews.visible_peer_reviews(item),
            form=form,
            errors=errors or {},
            values=request.form if request.method == "POST" else {},
            sections=SECTIONS,
            fields=FIELDS,
            industry_names=industry_names(),
            local=pilot_calls.utc_to_local,
        ),
        status,
    )


@bp.route("/ties", methods=["GET", "POST"])
@roles_required(*EXPERT)
def ties():
    """Declare ties with institutions (conflicts of interest): such applications are never assigned to you."""
    form = TieForm()
    institutions = list(db.session.scalars(select(Institution).order_by(Institution.name)))
    form.institution_id.choices = choices((i.id, i.name) for i in institutions)
    status = 200
    if form.validate_on_submit():
        try:
            pilot_reviews.declare_tie(current_user, form.institution_id.data, form.note.data)
        except ServiceError as exc:
            db.session.rollback()
            form.institution_id.errors = [*form.institution_id.errors, exc.message]
            status = 400
        else:
            flash(_("Tie declared."), "success")
            return redirect(url_for("pilot_review.ties"))
    elif form.is_submitted():
        status = 400
    return render_template("pilots/ties.html", form=form, ties=pilot_reviews.ties_of(current_user)), status
