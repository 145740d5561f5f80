"""Digital-maturity diagnosis pages: institution admins run rounds, respondents answer anonymously,
experts rate, platform staff assign experts; the report as a page and a PDF."""

from __future__ import annotations

from urllib.parse import quote as url_quote

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from competency.bilingual import localized
from competency.extensions import db
from competency.maturity import maturity_model
from competency.models import Cohort, Institution, MaturityRound, Role
from competency.services import (
    maturity_access,
    maturity_actions,
    maturity_evidence,
    maturity_experts,
    maturity_report,
    maturity_rounds,
)
from competency.services.errors import NotFound, ServiceError
from competency.services.maturity_scoring import result_of
from competency.web import charts
from competency.web.authz import ALL_ROLES, public, roles_required
from competency.web.forms import choices
from competency.web.i18n import select_locale

bp = Blueprint("maturity", __name__, url_prefix="/maturity")

MANAGERS = (Role.PLATFORM_ADMIN.value, Role.INSTITUTION_ADMIN.value, Role.PROGRAMME_OFFICER.value)
VIEWERS = MANAGERS + (Role.EXPERT.value,)
STAFF = (Role.PLATFORM_ADMIN.value, Role.PROGRAMME_OFFICER.value)
EXPERTS = (Role.EXPERT.value,)
# Objective evidence is the institution's own statement; programme officers read it, they do not write it.
EVIDENCE_ENTRY = (Role.PLATFORM_ADMIN.value, Role.INSTITUTION_ADMIN.value)

ANSWER_CHOICES = [
    ("1", _l("Strongly disagree")),
    ("2", _l("Disagree")),
    ("3", _l("Neither agree nor disagree")),
    ("4", _l("Agree")),
    ("5", _l("Strongly agree")),
    ("na", _l("Not applicable")),
    ("decline", _l("Prefer not to answer")),
]
ACTION_STATUS_LABELS = {
    "planned": _l("Planned"),
    "in_progress": _l("In progress"),
    "done": _l("Done"),
    "dropped": _l("Dropped"),
}
REVIEW_LABELS = {"pending": _l("Waiting for review"), "accepted": _l("Accepted"), "rejected": _l("Rejected")}


def tr(obj, key: str = "name") -> str:
    """The current language's text of a model entry (``name_zh`` / ``name_en`` and the like)."""
    return localized(obj, key, select_locale() == "en")


def group_names(type_code: str) -> dict[str, str]:
    return {g["code"]: tr(g) for g in maturity_model().groups_for(type_code)}


# ------------------------------------------------------------------------------------------------ forms


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class OpenRoundForm(FlaskForm):
    institution_id = SelectField(_l("Institution"), coerce=int, validators=[Optional()])
    title = StringField(_l("Title of the round"), validators=[DataRequired(), Length(max=200)])
    scenarios = MultiCheckbox(_l("Scenarios the institution runs"), validators=[Optional()])
    weight_questionnaire = IntegerField(
        _l("Weight of the questionnaires (%)"),
        default=30,
        validators=[Optional(), NumberRange(min=0, max=100)],
    )
    weight_objective = IntegerField(
        _l("Weight of the objective evidence (%)"),
        default=30,
        validators=[Optional(), NumberRange(min=0, max=100)],
    )
    weight_expert = IntegerField(
        _l("Weight of the expert ratings (%)"),
        default=40,
        validators=[Optional(), NumberRange(min=0, max=100)],
    )
    submit = SubmitField(_l("Open a diagnosis round"))

    def weights(self) -> dict[str, float]:
        return {
            "questionnaire": (self.weight_questionnaire.data or 0) / 100,
            "objective": (self.weight_objective.data or 0) / 100,
            "expert": (self.weight_expert.data or 0) / 100,
        }


class LinkInviteForm(FlaskForm):
    group = SelectField(_l("Respondent group"), validators=[DataRequired()])
    expected = IntegerField(
        _l("People the link goes to"), validators=[DataRequired(), NumberRange(min=1, max=100000)]
    )
    label = StringField(_l("Label (optional)"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Create an invitation link"))


class CohortInviteForm(FlaskForm):
    group = SelectField(_l("Respondent group"), validators=[DataRequired()])
    cohort_id = SelectField(_l("Cohort"), coerce=int, validators=[DataRequired()])
    submit = SubmitField(_l("Invite the cohort"))


class EvidenceForm(FlaskForm):
    indicator = SelectField(_l("Indicator"), validators=[DataRequired()])
    value = StringField(_l("Value"), validators=[DataRequired(), Length(max=64)])
    note = TextAreaField(_l("Note (source of the figure)"), validators=[Optional(), Length(max=2000)])
    attachment = FileField(_l("Proof document (PDF, PNG, JPEG, DOCX or XLSX, up to 5 MB)"))
    submit = SubmitField(_l("Save the evidence"))


class ReviewForm(FlaskForm):
    status = SelectField(
        _l("Review"),
        choices=choices([("accepted", _l("Accept")), ("rejected", _l("Reject"))]),
        validators=[DataRequired()],
    )
    comment = StringField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Save the review"))


class ConsensusForm(FlaskForm):
    indicator = SelectField(_l("Indicator"), validators=[DataRequired()])
    level = SelectField(_l("Agreed level"), validators=[DataRequired()])
    comment = TextAreaField(_l("How the experts agreed"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Record the consensus"))


class AssignExpertForm(FlaskForm):
    expert_id = SelectField(_l("Expert"), coerce=int, validators=[DataRequired()])
    submit = SubmitField(_l("Assign the expert"))


class ActionForm(FlaskForm):
    indicator = SelectField(_l("Indicator"), validators=[DataRequired()])
    title = StringField(_l("Action"), validators=[DataRequired(), Length(max=300)])
    owner = StringField(_l("Owner"), validators=[DataRequired(), Length(max=120)])
    due_on = DateField(_l("Due date"), validators=[DataRequired()])
    submit = SubmitField(_l("Add to the action list"))


class ActionUpdateForm(FlaskForm):
    status = SelectField(
        _l("Status"), choices=choices(ACTION_STATUS_LABELS.items()), validators=[DataRequired()]
    )
    owner = StringField(_l("Owner"), validators=[DataRequired(), Length(max=120)])
    due_on = DateField(_l("Due date"), validators=[DataRequired()])
    submit = SubmitField(_l("Update"))


class PlainForm(FlaskForm):
    """Only the CSRF token: for buttons and for forms whose fields the model defines."""

    submit = SubmitField(_l("Submit"))


# -------------------------------------------------------------------------------------------- helpers


def _round(round_id: int, manage: bool = False):
    try:
        return maturity_access.round_for(round_id, current_user, manage=manage)
    except NotFound:
        abort(404)


def _fail(exc: ServiceError, form=None) -> None:
    field = getattr(form, exc.field, None) if form is not None and exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [exc.message]
    flash(exc.message, "error")


def _open_form() -> OpenRoundForm:
    form = OpenRoundForm(prefix="open")
    form.scenarios.choices = [(s["code"], tr(s)) for s in maturity_model().scenarios]
    if current_user.role in STAFF:
        form.institution_id.choices = [
            (i.id, i.name) for i in db.session.scalars(select(Institution).order_by(Institution.name))
        ]
    else:
        form.institution_id.choices = [(current_user.institution_id or 0, "")]
    if not form.is_submitted():
        form.scenarios.data = [s["code"] for s in maturity_model().scenarios]
    return form


# ----------------------------------------------------------------------------------------------- pages


@bp.route("/")
@roles_required(*VIEWERS)
def index():
    """Diagnosis rounds the caller may see; institution admins and programme staff can open one."""
    rounds = maturity_access.visible_rounds(current_user)
    return render_template(
        "maturity/index.html",
        rounds=rounds,
        form=_open_form() if current_user.role in MANAGERS else None,
        tr=tr,
    )


@bp.route("/model")
@public
def model_page():
    """The maturity model: areas, indicators, level descriptors and their sources."""
    return render_template("maturity/model.html", model=maturity_model(), tr=tr)


@bp.route("/rounds", methods=["POST"])
@roles_required(*MANAGERS)
def open_round():
    """Open a diagnosis round (an institution admin for their own institution; programme staff for any)."""
    form = _open_form()
    if form.validate_on_submit():
        institution_id = (
            form.institution_id.data if current_user.role in STAFF else current_user.institution_id
        )
        try:
            rnd = maturity_rounds.open_round(
                institution_id or 0,
                current_user,
                form.title.data,
                scenarios=form.scenarios.data,
                weights=form.weights(),
            )
        except ServiceError as exc:
            _fail(exc, form)
        else:
            flash(_("Diagnosis round opened."), "success")
            return redirect(url_for("maturity.round_page", round_id=rnd.id))
    rounds = maturity_access.visible_rounds(current_user)
    return render_template("maturity/index.html", rounds=rounds, form=form, tr=tr), 400


def _round_context(rnd) -> dict:
    manage = maturity_access.may_manage(rnd, current_user)
    groups = group_names(rnd.institution_type)
    link = LinkInviteForm(prefix="link")
    link.group.choices = list(groups.items())
    cohort = CohortInviteForm(prefix="cohort")
    cohort.group.choices = list(groups.items())
    cohort.cohort_id.choices = [
        (c.id, c.name)
        for c in db.session.scalars(
            select(Cohort).where(Cohort.institution_id == rnd.institution_id).order_by(Cohort.name)
        )
    ]
    assign = AssignExpertForm(prefix="assign")
    assign.expert_id.choices = [
        (u.id, f"{u.display_name} ({u.username})") for u in maturity_rounds.available_experts()
    ]
    return {
        "round": rnd,
        "manage": manage,
        "rates": maturity_rounds.response_rates(rnd),
        "groups": groups,
        "link_form": link,
        "cohort_form": cohort,
        "assign_form": assign if current_user.role in STAFF else None,
        "experts": maturity_rounds.assigned_experts(rnd),
        "evidence": maturity_evidence.evidence_of(rnd),
        "objective": maturity_evidence.objective_indicators(rnd),
        "plain": PlainForm(),
        "review_labels": REVIEW_LABELS,
        "tr": tr,
        "scenario_names": {s["code"]: tr(s) for s in maturity_model().scenarios},
    }


@bp.route("/rounds/<int:round_id>")
@roles_required(*VIEWERS)
def round_page(round_id: int):
    """A round: invitations with the live response rate, evidence, experts; close it when done."""
    rnd = _round(round_id)
    return render_template("maturity/round.html", **_round_context(rnd))


@bp.route("/rounds/<int:round_id>/rates.json")
@roles_required(*MANAGERS)
def rates(round_id: int):
    """Response counts for the round page's live update (counts per group only, never per person)."""
    rnd = _round(round_id, manage=True)
    data = maturity_rounds.response_rates(rnd)
    return jsonify(
        {
            "expected": data["expected"],
            "submitted": data["submitted"],
            "rate": data["rate"],
            "groups": data["groups"],
            "invitations": [
                {"id": row["invitation"].id, "started": row["started"], "submitted": row["submitted"]}
                for row in data["invitations"]
            ],
        }
    )


@bp.route("/rounds/<int:round_id>/invite-link", methods=["POST"])
@roles_required(*MANAGERS)
def invite_link(round_id: int):
    """Create an open invitation link for one respondent group."""
    rnd = _round(round_id, manage=True)
    ctx = _round_context(rnd)
    form = ctx["link_form"]
    if form.validate_on_submit():
        try:
            maturity_rounds.invite_link(
                rnd, form.group.data, form.expected.data, current_user, form.label.data
            )
        except ServiceError as exc:
            _fail(exc, form)
        else:
            flash(_("Invitation link created."), "success")
            return redirect(url_for("maturity.round_page", round_id=rnd.id))
    return render_template("maturity/round.html", **ctx), 400


@bp.route("/rounds/<int:round_id>/invite-cohort", methods=["POST"])
@roles_required(*MANAGERS)
def invite_cohort(round_id: int):
    """Invite every member of a cohort: each finds the questionnaire on their home page."""
    rnd = _round(round_id, manage=True)
    ctx = _round_context(rnd)
    form = ctx["cohort_form"]
    if form.validate_on_submit():
        try:
            maturity_rounds.invite_cohort(rnd, form.group.data, form.cohort_id.data, current_user)
        except ServiceError as exc:
            _fail(exc, form)
        else:
            flash(_("Cohort invited."), "success")
            return redirect(url_for("maturity.round_page", round_id=rnd.id))
    return render_template("maturity/round.html", **ctx), 400


@bp.route("/rounds/<int:round_id>/experts", methods=["POST"])
@roles_required(*STAFF)
def assign_expert(round_id: int):
    """Assign an expert to the round (platform admins and programme officers)."""
    rnd = _round(round_id)
    ctx = _round_context(rnd)
    form = ctx["assign_form"]
    if form.validate_on_submit():
        try:
            maturity_rounds.assign_expert(rnd, form.expert_id.data, current_user)
        except ServiceError as exc:
            _fail(exc, form)
        else:
            flash(_("Expert assigned."), "success")
            return redirect(url_for("maturity.round_page", round_id=rnd.id))
    return render_template("maturity/round.html", **ctx), 400


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@roles_required(*MANAGERS)
def close(round_id: int):
    """Close the round: the result is computed from all evidence and frozen."""
    rnd = _round(round_id, manage=True)
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        maturity_rounds.close_round(rnd, current_user)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("maturity.round_page", round_id=rnd.id))
    flash(_("Round closed; the report is ready."), "success")
    return redirect(url_for("maturity.report", round_id=rnd.id))


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
    rnd = _round(round_id, manage=True)
    form = _evidence_form(rnd)
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            upload = form.attachment.data
            content = upload.read(maturity_evidence.MAX_ATTACHMENT_BYTES + 1) if upload else None
            try:
                maturity_evidence.enter(
                    rnd,
                    form.indicator.data,
                    form.value.data,
                    form.note.data,
                    current_user,
                    filename=upload.filename if upload else None,
                    content=content or None,
                )
            except ServiceError as exc:
                db.session.rollback()
                _fail(exc, form)
            else:
                flash(_("Evidence saved."), "success")
                return redirect(url_for("maturity.evidence", round_id=rnd.id))
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
    rnd = _round(round_id)
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
    rnd = _round(round_id)
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
    rnd = _round(round_id)
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
    rnd = _round(round_id)
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
    rnd = _round(round_id)
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

    rnd = _round(round_id)
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
    rnd = _round(round_id, manage=True)
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
    rnd = _round(round_id, manage=True)
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


# ----------------------------------------------------------------------------------------- respondents

_SESSION_KEY = "maturity_questionnaires"


def _remember(token: str) -> None:
    """Keep the questionnaire's token in the respondent's own session, so they can come back to it."""
    tokens = [t for t in session.get(_SESSION_KEY, []) if t != token][-9:]
    session[_SESSION_KEY] = tokens + [token]


@bp.route("/my")
@roles_required(*ALL_ROLES)
def my():
    """Questionnaires waiting for the logged-in person (cohort invitations)."""
    tickets = maturity_rounds.my_tickets(current_user)
    return render_template("maturity/my.html", tickets=tickets, form=PlainForm(), groups=group_names, tr=tr)


@bp.route("/tickets/<int:invitation_id>", methods=["POST"])
@roles_required(*ALL_ROLES)
def start_ticket(invitation_id: int):
    """Start one's own questionnaire from a cohort invitation; the answers are not linked to the person."""
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        token = maturity_rounds.start_from_ticket(invitation_id, current_user)
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
    """An invitation link: explains the anonymous questionnaire and starts a fresh one."""
    try:
        invitation = maturity_rounds.invitation_by_link(token)
    except NotFound:
        abort(404)
    form = PlainForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        # The same browser coming back to the link continues its unfinished questionnaire rather than
        # starting another one.
        for mine in reversed(session.get(_SESSION_KEY, [])):
            try:
                earlier = maturity_rounds.respondent_by_token(mine)
            except NotFound:
                continue
            if earlier.invitation_id == invitation.id and not earlier.submitted:
                return redirect(url_for("maturity.questionnaire", token=mine))
        try:
            own = maturity_rounds.start_from_link(token)
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
        respondent = maturity_rounds.respondent_by_token(token)
    except NotFound:
        abort(404)
    rnd = db.session.get(MaturityRound, respondent.round_id)
    items = maturity_rounds.questionnaire_items(rnd, respondent.respondent_group)
    form = PlainForm()
    status = 200
    missing: list[str] = []
    answers = dict(respondent.answers or {})
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        submit = request.form.get("action") == "submit"
        try:
            missing = maturity_rounds.save_answers(respondent, request.form.to_dict(), submit)
        except ServiceError as exc:
            flash(exc.message, "error")
            status = 400
            answers = {k: v for k, v in request.form.items()}
        else:
            if missing:
                flash(
                    _(
                        "Please answer every statement (or choose “Not applicable” or “Prefer not to answer”)."
                    ),
                    "error",
                )
                status = 400
                answers = dict(respondent.answers or {})
            elif submit:
                flash(_("Thank you: your answers are submitted."), "success")
                return redirect(url_for("maturity.questionnaire", token=token))
            else:
                flash(_("Saved. You can finish later with the same link."), "success")
                return redirect(url_for("maturity.questionnaire", token=token))
    return render_template(
        "maturity/questionnaire.html",
        round=rnd,
        respondent=respondent,
        items=items,
        answers={k: str(v) for k, v in answers.items()},
        missing=set(missing),
        choices=ANSWER_CHOICES,
        form=form,
        group=group_names(rnd.institution_type).get(respondent.respondent_group, ""),
        open=rnd.status == "open" and not respondent.submitted,
        tr=tr,
    ), status
