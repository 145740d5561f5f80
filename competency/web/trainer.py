"""Trainer tools for one cohort: assignments, results, layering, progress, imports, exports; dashboards."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import DateField, SelectField, SubmitField
from wtforms.validators import DataRequired, Optional

from competency.extensions import db
from competency.localtime import DEFAULT_ZONE
from competency.models import Institution, Role
from competency.services import (
    cohort_fit,
    cohort_results,
    cohort_summary,
    dashboards,
    export_jobs,
    exports,
    imports_people,
    institutions,
    layering,
    person_fit,
)
from competency.services.errors import NotFound, ServiceError
from competency.services.resources import templates
from competency.web import cohort_charts, cohort_heatmap
from competency.web.authz import STAFF, roles_required
from competency.web.forms import CATEGORY_LABELS, STAGE_LABELS
from competency.web.labels import bi, code_name, dimension_name
from competency.web.listing import list_args

bp = Blueprint("trainer", __name__, url_prefix="/trainer")

ADMINS = (Role.PLATFORM_ADMIN.value, Role.INSTITUTION_ADMIN.value)
EXPORTS = ("members", "results", "responses")
HEAT_PAGE = 50  # members per page of the indicator heat map
LIST_PAGE = 100  # members per page of the not-started and in-progress lists


class AssignForm(FlaskForm):
    assessment_id = SelectField(_l("Assessment"), coerce=int, validators=[DataRequired()])
    opens_on = DateField(_l("Opens on"), validators=[DataRequired()])
    closes_on = DateField(_l("Closes on"), validators=[DataRequired()])
    baseline_id = SelectField(_l("Re-assessment of (optional)"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("Assign"))


class ImportForm(FlaskForm):
    file = FileField(_l("Class list (CSV or XLSX with a username column)"), validators=[FileRequired()])
    submit = SubmitField(_l("Import members"))


class LayerForm(FlaskForm):
    assignment_id = SelectField(_l("Results of"), coerce=int, validators=[DataRequired()])
    basis = SelectField(_l("Layer by"), validators=[DataRequired()])
    submit = SubmitField(_l("Split into layers"))


class LayerPathForm(FlaskForm):
    layer = SelectField(_l("Layer"), validators=[DataRequired()])
    template = SelectField(_l("Learning-path template"), validators=[DataRequired()])
    submit = SubmitField(_l("Change the path"))


def _cohort_or_404(cohort_id: int):
    try:
        return institutions.get_cohort(cohort_id, current_user)
    except NotFound:
        abort(404)


def _assignment_or_404(cohort, assignment_id: int):
    try:
        return cohort_results.get_assignment(cohort, assignment_id)
    except NotFound:
        abort(404)


def _title(obj) -> str:
    return bi(obj, "title")


def _forms(cohort):
    """The cohort page's forms, offering only what fits the cohort (its kind, roles and industries)."""
    rows = cohort_results.assignments(cohort)
    all_templates = templates()
    by_code = {t.code: t for t in all_templates}
    who = cohort_fit.profile(cohort)  # one GROUP BY over the members, for paths and assessments
    fitting = cohort_fit.templates_for(cohort, all_templates, who)
    assign = AssignForm(prefix="assign")
    assessments = cohort_fit.assessments_for(cohort, cohort_results.assignable_assessments(current_user), who)
    assign.assessment_id.choices = [(a.id, _title(a)) for a in assessments]
    if assessments and assign.assessment_id.data is None:
        assign.assessment_id.data = assessments[0].id
    assign.baseline_id.choices = [(0, "—")] + [(r.id, f"#{r.id} {_title(r.assessment)}") for r in rows]
    layer = LayerForm(prefix="layer")
    layer.assignment_id.choices = [(r.id, f"#{r.id} {_title(r.assessment)}") for r in rows]
    dims = sorted({d for r in rows for d in (r.assessment.dimensions or [])})
    layer.basis.choices = [("overall", _("Overall level"))] + [(d, f"{d} {code_name(d)}") for d in dims]
    path = LayerPathForm(prefix="path")
    layers = layering.layer_names(cohort)
    path.layer.choices = [(code, _title(by_code[code]) if code in by_code else code) for code in layers]
    path.template.choices = [(t.code, _title(t)) for t in fitting]
    return rows, assign, ImportForm(prefix="import"), layer, path


def _render_cohort(cohort, assign=None, importer=None, layer=None, path=None, import_errors=None, status=200):
    rows, a, i, lf, pf = _forms(cohort)
    args = list_args(layering.PROGRESS_SORTS)
    page = layering.progress_page(cohort, **args)
    return render_template(
        "trainer/cohort.html",
        cohort=cohort,
        assignments=rows,
        assign_form=assign or a,
        import_form=importer or i,
        layer_form=layer or lf,
        path_form=path or pf,
        import_errors=import_errors or [],
        progress=page.rows,
        progress_page=page,
        args=args,
        sorts={"username": _("User name"), "name": _("Name")},
        templates={t.code: t for t in templates()},
        title=_title,
    ), status


@bp.route("/cohorts/<int:cohort_id>")
@roles_required(*STAFF)
def cohort(cohort_id: int):
    """A cohort's assignments, layers and each member's progress, with the forms to change them."""
    return _render_cohort(_cohort_or_404(cohort_id))


def _window(opens_on, closes_on) -> tuple[datetime, datetime]:
    """Whole days in the trainer's time zone: from the first day's midnight to the last day's end."""
    zone = ZoneInfo(current_user.timezone or "Asia/Shanghai")
    opens = datetime.combine(opens_on, time.min, zone)
    closes = datetime.combine(closes_on, time.min, zone) + timedelta(days=1) - timedelta(seconds=1)
    return opens, closes


@bp.route("/cohorts/<int:cohort_id>/assign", methods=["POST"])
@roles_required(*STAFF)
def assign(cohort_id: int):
    """Assign an assessment to the cohort for a window (or schedule a re-assessment)."""
    cohort = _cohort_or_404(cohort_id)
    form = _forms(cohort)[1]
    if form.validate_on_submit():
        opens, closes = _window(form.opens_on.data, form.closes_on.data)
        try:
            cohort_results.assign(
                cohort,
                form.assessment_id.data,
                opens,
                closes,
                current_user,
                baseline_id=form.baseline_id.data or None,
            )
        except ServiceError as exc:
            getattr(form, exc.field or "assessment_id", form.assessment_id).errors.append(exc.message)
        else:
            flash(_("Assessment assigned."), "success")
            return redirect(url_for("trainer.cohort", cohort_id=cohort.id))
    return _render_cohort(cohort, assign=form, status=400 if request.method == "POST" else 200)


@bp.route("/cohorts/<int:cohort_id>/import", methods=["POST"])
@roles_required(*STAFF)
def import_members(cohort_id: int):
    """Add members from a CSV/XLSX class list; all rows or none."""
    cohort = _cohort_or_404(cohort_id)
    form = ImportForm(prefix="import")
    errors: list[tuple[int, str]] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            added = imports_people.import_members(cohort, upload.filename or "", upload.read(), current_user)
        except imports_people.ImportRejected as exc:
            form.file.errors.append(exc.message)
            errors = exc.errors
        except ServiceError as exc:
            form.file.errors.append(exc.message)
        else:
            flash(_("%(n)s members added.", n=added), "success")
            return redirect(url_for("trainer.cohort", cohort_id=cohort.id))
    return _render_cohort(cohort, importer=form, import_errors=errors, status=400)


@bp.route("/cohorts/<int:cohort_id>/layers", methods=["POST"])
@roles_required(*STAFF)
def layers(cohort_id: int):
    """Split the cohort into layers by level and give each layer its learning-path template."""
    cohort = _cohort_or_404(cohort_id)
    form = _forms(cohort)[3]
    if form.validate_on_submit():
        try:
            assignment = cohort_results.get_assignment(cohort, form.assignment_id.data)
            outcome = layering.layer_cohort(cohort, assignment, form.basis.data, current_user)
        except ServiceError as exc:
            form.basis.errors.append(exc.message)
        else:
            flash(
                _("%(n)s members placed in %(layers)s layers.", n=outcome.plans, layers=len(outcome.layers)),
                "success",
            )
            return redirect(url_for("trainer.cohort", cohort_id=cohort.id))
    return _render_cohort(cohort, layer=form, status=400)


@bp.route("/cohorts/<int:cohort_id>/layers/path", methods=["POST"])
@roles_required(*STAFF)
def layer_path(cohort_id: int):
    """Give one layer a different learning-path template."""
    cohort = _cohort_or_404(cohort_id)
    form = _forms(cohort)[4]
    if form.validate_on_submit():
        try:
            n = layering.change_layer_template(cohort, form.layer.data, form.template.data, current_user)
        except ServiceError as exc:
            form.template.errors.append(exc.message)
        else:
            flash(_("New path assigned to %(n)s members.", n=n), "success")
            return redirect(url_for("trainer.cohort", cohort_id=cohort.id))
    return _render_cohort(cohort, path=form, status=400)


_DIST_CAPTION = _l(
    "Number of graded members at each level, per dimension; the table below gives the same numbers."
)


def _heat_map(page, indicators: list[str], levels) -> dict:
    """One page of members (the list's search and paging) × indicators; "hsort" and "cols" order it."""
    rows = []
    for user, result in page.rows:
        levels_of = {i["code"]: i.get("level") for i in (result or {}).get("indicators", [])}
        rows.append((user, {code: levels_of.get(code) for code in indicators}))
    return cohort_heatmap.build(rows, indicators, levels, request.args.get("hsort", ""), request.args.get("cols", ""))


@bp.route("/cohorts/<int:cohort_id>/assignments/<int:assignment_id>")
@roles_required(*STAFF)
def results(cohort_id: int, assignment_id: int):
    """Results of one assignment: level distribution, indicator heat map, who has not started, before/after."""
    cohort = _cohort_or_404(cohort_id)
    assignment = _assignment_or_404(cohort, assignment_id)
    res = cohort_summary.summary(assignment)
    labels = {"overall": _("Overall")} | {d["code"]: dimension_name(d) for d in res.dimensions}
    dist = res.distribution
    levels = res.scale.codes
    args = list_args(cohort_summary.SORTS)
    waiting_args = list_args(cohort_summary.SORTS, "ns_")
    started_args = list_args(cohort_summary.SORTS, "ip_")
    compare_args = list_args(cohort_summary.SORTS, "cmp_")
    page = cohort_summary.graded_page(assignment, **args, size=HEAT_PAGE)
    dist_svg = cohort_charts.distribution(
        dist, labels, levels, _("Level distribution per dimension"), str(_DIST_CAPTION)
    )
    heat = _heat_map(page, res.indicators, levels)
    return render_template(
        "trainer/results.html",
        cohort=cohort,
        assignment=assignment,
        res=res,
        labels=labels,
        dist=dist,
        heat=heat,
        heat_page=page,
        args=args,
        sorts={"username": _("User name"), "name": _("Name")},
        not_started=cohort_summary.waiting_page(assignment, "not_started", **waiting_args, size=LIST_PAGE),
        waiting_args=waiting_args,
        in_progress=cohort_summary.waiting_page(assignment, "in_progress", **started_args, size=LIST_PAGE),
        started_args=started_args,
        levels=levels,
        scale=res.scale.name,
        dist_svg=dist_svg,
        comparison=cohort_summary.comparison(assignment, **compare_args, size=LIST_PAGE),
        compare_args=compare_args,
        title=_title,
        # Managers only (this view is STAFF-only); the person's own result page never shows it.
        person_fit=person_fit.for_assignment(assignment, [user.id for user, _r in page.rows]),
    )


@bp.route("/cohorts/<int:cohort_id>/export")
@roles_required(*STAFF)
def export(cohort_id: int):
    """Download members, results or per-response data as CSV (UTF-8 with BOM) or XLSX; an export above
    the size threshold becomes a background job whose page shows progress and then the download."""
    cohort = _cohort_or_404(cohort_id)
    what = request.args.get("what", "members")
    fmt = request.args.get("format", "csv")
    if what not in EXPORTS or fmt not in ("csv", "xlsx"):
        raise ServiceError(
            "invalid_export", _("Choose members, results or responses as CSV or XLSX."), "what"
        )
    assignment = None
    if what != "members":
        raw = request.args.get("assignment", "")
        if not raw.isdigit():
            raise ServiceError("missing_assignment", _("Choose an assignment to export."), "assignment")
        assignment = _assignment_or_404(cohort, int(raw))
    zone_name = current_user.timezone or DEFAULT_ZONE
    if export_jobs.needs_job(cohort, what, fmt, assignment):
        job = export_jobs.start(current_user, cohort, what, fmt, assignment, zone_name)
        return redirect(url_for("jobs.show", job_id=job.id))
    header, rows = export_jobs.table(cohort, what, assignment, zone_name)
    return _download(header, rows, export_jobs.file_name(cohort.id, what, fmt), fmt, what)


def _download(header, rows, name: str, fmt: str, title: str):
    if fmt == "csv":
        # Streamed: rows go out as the server-side cursor yields them, in constant memory.
        response = Response(
            stream_with_context(exports.csv_chunks(header, rows)), mimetype="text/csv; charset=utf-8"
        )
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    else:
        response = send_file(
            exports.xlsx_file(header, rows, title),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            as_attachment=True,
            download_name=name,
        )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/institution")
@roles_required(*ADMINS)
def dashboard():
    """Institution dashboard: teachers' levels by department, category and career stage."""
    if current_user.role == Role.PLATFORM_ADMIN:
        options = list(db.session.scalars(select(Institution).order_by(Institution.name)))
        raw = request.args.get("institution_id", "")
        chosen = next((i for i in options if str(i.id) == raw), options[0] if options else None)
    else:
        options, chosen = [], current_user.institution
    board = dashboards.institution_dashboard(chosen.id) if chosen else None
    names = {
        "department": _("By department"),
        "teacher_category": _("By teacher category"),
        "career_stage": _("By career stage"),
    }
    value_labels = {"teacher_category": CATEGORY_LABELS, "career_stage": STAGE_LABELS}
    svgs, labels = {}, {}
    for b in board.breakdowns if board else []:
        known = {str(k.value): str(v) for k, v in value_labels.get(b.key, {}).items()}
        labels[b.key] = {k: known.get(k, k) or "—" for k in b.groups}
        if b.groups:
            svgs[b.key] = cohort_charts.distribution(
                b.groups,
                labels[b.key],
                b.levels,
                names[b.key],
                _("Teachers per overall level; the table below gives the same numbers."),
                ident=f"dash-{b.key}",
            )
    return render_template(
        "trainer/dashboard.html",
        board=board,
        institution=chosen,
        options=options,
        svgs=svgs,
        labels=labels,
        names=names,
    )
