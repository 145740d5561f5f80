"""Respondents: questionnaires waiting for a logged-in person, invitation links, and the anonymous
questionnaire reached by its own token."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from competency.extensions import db
from competency.models import MaturityRound
from competency.services import maturity_respondents
from competency.services.errors import NotFound, ServiceError
from competency.web.authz import ALL_ROLES, public, roles_required
from competency.web.maturity.common import bp, group_names, tr
from competency.web.maturity.forms import PlainForm

ANSWER_CHOICES = [
    ("1", _l("Strongly disagree")),
    ("2", _l("Disagree")),
    ("3", _l("Neither agree nor disagree")),
    ("4", _l("Agree")),
    ("5", _l("Strongly agree")),
    ("na", _l("Not applicable")),
    ("decline", _l("Prefer not to answer")),
]


_SESSION_KEY = "maturity_questionnaires"


def _remember(token: str) -> None:
    """Keep the questionnaire's token in the respondent's own session, so they can come back to it."""
    tokens = [t for t in session.get(_SESSION_KEY, []) if t != token][-9:]
    session[_SESSION_KEY] = tokens + [token]


@bp.route("/my")
@roles_required(*ALL_ROLES)
def my():
    """Questionnaires waiting for the logged-in person (cohort invitations)."""
    tickets = maturity_respondents.my_tickets(current_user)
    return render_template("maturity/my.html", tickets=tickets, form=PlainForm(), groups=group_names, tr=tr)


@bp.route("/tickets/<int:invitation_id>", methods=["POST"])
@roles_required(*ALL_ROLES)
def start_ticket(invitation_id: int):
    """Start one's own questionnaire from a cohort invitation; the answers are not linked to the person."""
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        token = maturity_respondents.start_from_ticket(invitation_id, current_user)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("maturity.my"))
    _remember(token)
    return redirect(url_for("maturity.questionnaire", token=token))


@bp.route("/join/<token>", methods=["GET", "POST"])
@public
def join(token: str):
    """An invitation link: explains the anonymous questionnaire and starts a fresh one (or, for the same
    browser coming back, continues its unfinished one)."""
    try:
        invitation = maturity_respondents.invitation_by_link(token)
    except NotFound:
        abort(404)
    form = PlainForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            own = maturity_respondents.join(token, session.get(_SESSION_KEY, []))
        except ServiceError as exc:
            flash(exc.message, "error")
            return redirect(url_for("maturity.join", token=token))
        _remember(own)
        return redirect(url_for("maturity.questionnaire", token=own))
    rnd = invitation.round
    return render_template(
        "maturity/join.html",
        invitation=invitation,
        round=rnd,
        form=form,
        group=group_names(rnd.institution_type).get(invitation.respondent_group, ""),
        open=invitation.active and rnd.status == "open",
    )


@bp.route("/q/<token>", methods=["GET", "POST"])
@public
def questionnaire(token: str):
    """One's own anonymous questionnaire, reached only by its token; it can be saved and finished later."""
    try:
        respondent = maturity_respondents.respondent_by_token(token)
    except NotFound:
        abort(404)
    if request.method == "GET":
        return _questionnaire_page(respondent, respondent.answers or {})
    if not PlainForm().validate_on_submit():
        abort(400)
    submit = request.form.get("action") == "submit"
    try:
        missing = maturity_respondents.save_answers(respondent, request.form.to_dict(), submit)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _questionnaire_page(respondent, request.form.to_dict(), status=400)
    if missing:
        flash(
            _("Please answer every statement (or choose “Not applicable” or “Prefer not to answer”)."),
            "error",
        )
        return _questionnaire_page(respondent, respondent.answers or {}, missing, 400)
    if submit:
        flash(_("Thank you: your answers are submitted."), "success")
    else:
        flash(_("Saved. You can finish later with the same link."), "success")
    return redirect(url_for("maturity.questionnaire", token=token))


def _questionnaire_page(respondent, answers: dict, missing: list[str] | None = None, status: int = 200):
    rnd = db.get_or_404(MaturityRound, respondent.round_id)
    return render_template(
        "maturity/questionnaire.html",
        round=rnd,
        respondent=respondent,
        items=maturity_respondents.questionnaire_items(rnd, respondent.respondent_group),
        answers={k: str(v) for k, v in answers.items()},
        missing=set(missing or ()),
        choices=ANSWER_CHOICES,
        form=PlainForm(),
        group=group_names(rnd.institution_type).get(respondent.respondent_group, ""),
        open=rnd.status == "open" and not respondent.submitted,
        tr=tr,
    ), status
