"""The resource library pages: browse, add, edit, retire, import from CSV/XLSX, download files."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, FloatField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from competency.services import resource_library as library
from competency.services.errors import NotFound, ServiceError
from competency.services.resources import KINDS
from competency.web.authz import ALL_ROLES, roles_required
from competency.web.forms import choices
from competency.web.plans import KIND_LABELS

bp = Blueprint("resources", __name__, url_prefix="/resources")
PAGE_SIZE = 50
SHOW = {
    "active": _l("In use"),
    "own": _l("Added by people (not demo)"),
    "demo": _l("Demo catalogue"),
    "retired": _l("Retired"),
}


class ResourceForm(FlaskForm):
    title_zh = StringField(_l("Title (Chinese)"), validators=[DataRequired(), Length(max=300)])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), Length(max=300)])
    kind = SelectField(_l("Type"), choices=[])
    provider = StringField(_l("Provider"), validators=[Optional(), Length(max=200)])
    url = StringField(_l("Link (http:// or https://)"), validators=[Optional(), Length(max=500)])
    file = FileField(_l("Or upload a file"))
    remove_file = BooleanField(_l("Remove the uploaded file"))
    hours = FloatField(_l("Study hours"), default=1.0, validators=[Optional(), NumberRange(min=0, max=1000)])
    nodes = StringField(
        _l("Indicators served (codes, separated by spaces or commas)"), validators=[DataRequired()]
    )
    levels = StringField(_l("Levels served (e.g. L2 L3, or J1 J2)"), validators=[DataRequired()])
    roles = StringField(_l("Job roles (optional, codes)"), validators=[Optional()])
    summary_zh = TextAreaField(_l("Summary (Chinese)"), validators=[Optional(), Length(max=2000)])
    summary_en = TextAreaField(_l("Summary (English)"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Save resource"))


class ImportForm(FlaskForm):
    file = FileField(_l("Resource list (CSV or XLSX)"), validators=[FileRequired()])
    submit = SubmitField(_l("Import resources"))


class RetireForm(FlaskForm):
    pass


def _resource_form(resource=None) -> ResourceForm:
    data = None
    if resource is not None and request.method == "GET":
        data = {
            "title_zh": resource.title_zh,
            "title_en": resource.title_en,
            "kind": resource.kind,
            "provider": resource.provider,
            "url": resource.url or "",
            "hours": resource.hours,
            "nodes": " ".join(resource.nodes or []),
            "levels": " ".join(resource.levels or []),
            "roles": " ".join(resource.roles or []),
            "summary_zh": resource.summary_zh,
            "summary_en": resource.summary_en,
        }
    form = ResourceForm(data=data) if data else ResourceForm()
    form.kind.choices = choices((k, KIND_LABELS[k]) for k in KINDS)
    return form


def _input(form: ResourceForm) -> library.ResourceInput:
    return library.ResourceInput(
        title_zh=form.title_zh.data or "",
        title_en=form.title_en.data or "",
        kind=form.kind.data or "",
        provider=form.provider.data or "",
        url=(form.url.data or "").strip() or None,
        hours=form.hours.data or 0.0,
        nodes=library._split(form.nodes.data),
        levels=library._split(form.levels.data),
        roles=library._split(form.roles.data),
        summary_zh=form.summary_zh.data or "",
        summary_en=form.summary_en.data or "",
    )


def _get_or_404(resource_id: int):
    try:
        return library.get(current_user, resource_id)
    except NotFound:
        abort(404)


@bp.route("/", methods=["GET"])
@roles_required(*library.EDITORS)
def index():
    """The library: search, filter, page; add, import."""
    args = request.args
    show = args.get("show", "active")
    show = show if show in SHOW else "active"
    page = max(1, args.get("page", 1, type=int) or 1)
    rows, total = library.search(
        current_user,
        args.get("q", "")[:80],
        args.get("kind", ""),
        args.get("node", "")[:20],
        show,
        page,
        PAGE_SIZE,
    )
    return _library_page(rows, total, page, args, show, ImportForm(prefix="import"))


def _library_page(rows, total: int, page: int, args, show: str, import_form: ImportForm, import_errors=()):
    return render_template(
        "resources/index.html",
        rows=rows,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        args=args,
        show=show,
        shows=SHOW,
        kinds=KINDS,
        kind_labels=KIND_LABELS,
        import_form=import_form,
        retire_form=RetireForm(),
        can_edit=lambda r: library.can_edit(current_user, r),
        import_errors=list(import_errors),
    )


def _edit(resource=None):
    form = _resource_form(resource)
    status = 200
    if form.validate_on_submit():
        upload = None
        if form.file.data and getattr(form.file.data, "filename", ""):
            upload = (form.file.data.filename, form.file.data.read())
        try:
            saved = library.save(
                current_user, _input(form), resource, upload=upload, remove_file=bool(form.remove_file.data)
            )
        except ServiceError as exc:
            if exc.status == 403:
                abort(403)
            getattr(form, exc.field or "title_zh", form.title_zh).errors.append(exc.message)
            status = 400
        else:
            flash(_("Resource saved."), "success")
            return redirect(url_for("resources.index", q=saved.title_zh))
    elif form.is_submitted():
        status = 400
    return render_template("resources/edit.html", form=form, resource=resource), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*library.EDITORS)
def new():
    """Add a resource."""
    return _edit(None)


@bp.route("/<int:resource_id>/edit", methods=["GET", "POST"])
@roles_required(*library.EDITORS)
def edit(resource_id: int):
    """Edit a resource of one's institution (platform admins: any)."""
    resource = _get_or_404(resource_id)
    if not library.can_edit(current_user, resource):
        abort(403)
    return _edit(resource)


@bp.route("/<int:resource_id>/retire", methods=["POST"])
@roles_required(*library.EDITORS)
def retire(resource_id: int):
    """Retire a resource (or bring it back): it leaves new plans; existing plans keep it."""
    resource = _get_or_404(resource_id)
    if not RetireForm().validate_on_submit():
        abort(400)
    if not library.can_edit(current_user, resource):
        abort(403)
    back = resource.retired_at is not None
    library.set_retired(current_user, resource, not back)
    flash(_("Resource back in use.") if back else _("Resource retired."), "success")
    return redirect(url_for("resources.index", show="retired" if not back else "active"))


@bp.route("/import", methods=["POST"])
@roles_required(*library.EDITORS)
def import_resources():
    """Import resources from CSV/XLSX: every row or none, problems listed by row and field."""
    form = ImportForm(prefix="import")
    errors: list[tuple[int, str, str]] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            n = library.import_file(current_user, upload.filename or "", upload.read())
        except library.ImportRejected as exc:
            form.file.errors.append(exc.message)
            errors = exc.errors
        except ServiceError as exc:
            form.file.errors.append(exc.message)
        else:
            flash(_("%(n)s resources imported.", n=n), "success")
            return redirect(url_for("resources.index", show="own"))
    # A refused file: the first page of the library again, with the problems listed by row and field.
    rows, total = library.search(current_user, page=1, page_size=PAGE_SIZE)
    return _library_page(rows, total, 1, {}, "active", form, errors), 400


@bp.route("/template.csv")
@roles_required(*library.EDITORS)
def template():
    """The import template: the columns and one example row."""
    return send_file(
        io.BytesIO(library.template_csv()),
        mimetype="text/csv",
        as_attachment=True,
        download_name="resources.csv",
    )


@bp.route("/<int:resource_id>/file")
@roles_required(*ALL_ROLES)
def download(resource_id: int):
    """A resource's uploaded file, for anyone who may see the resource (always as a download)."""
    try:
        stored = library.file_of(current_user, resource_id)
    except NotFound:
        abort(404)
    response = send_file(
        io.BytesIO(stored.data), mimetype=stored.mimetype, as_attachment=True, download_name=stored.name
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
